// Package memsaml implements saml.Store (pending AuthnRequests, the
// assertion replay cache and cached IdP metadata) in memory, on the state of
// a memstore.Store, for tests, demos and single-process development.
//
//	ms := memstore.New()
//	sp, err := saml.New(saml.Config{Store: memsaml.New(ms), Connections: ms, ...})
package memsaml

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// samlData holds the saml records; its methods live in this file.
type samlData struct {
	requests map[string]saml.AuthnRequestState
	replay   map[samlReplayKey]time.Time
	metadata map[string]saml.CachedMetadata
	// paths are the claims on connections' own endpoint paths.
	paths map[string]saml.EndpointClaim
}

type samlReplayKey struct{ issuer, id string }

var _ saml.Store = (*Store)(nil)

// Store is the SAML store on a memstore.Store: it shares the Store's
// lock and clock, and every Store that New returns for one memstore.Store
// sees the same records. It is safe for concurrent use.
type Store struct {
	mu   *sync.Mutex
	now  func() time.Time
	saml *samlData
}

// New returns the SAML store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	return &Store{mu: &st.Mu, now: st.Now, saml: memstate.Data[samlData](st)}
}

// SaveAuthnRequest implements saml.RequestStore.
func (s *Store) SaveAuthnRequest(ctx context.Context, r *saml.AuthnRequestState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.saml
	if d.requests == nil {
		d.requests = map[string]saml.AuthnRequestState{}
	}
	if len(d.requests) > 1024 {
		now := s.now()
		for id, old := range d.requests {
			if !now.Before(old.ExpiresAt) {
				delete(d.requests, id)
			}
		}
	}
	if _, ok := d.requests[r.ID]; ok {
		return fmt.Errorf("%w: saml request %s", sso.ErrConflict, r.ID)
	}
	d.requests[r.ID] = *r
	return nil
}

// TakeAuthnRequest implements saml.RequestStore.
func (s *Store) TakeAuthnRequest(ctx context.Context, id string) (*saml.AuthnRequestState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.saml.requests[id]
	if !ok {
		return nil, sso.ErrNotFound
	}
	delete(s.saml.requests, id)
	if !s.now().Before(r.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &r, nil
}

// ConsumeLogin implements saml.LoginConsumer under the store's lock: the
// request taken and the assertion recorded, or neither.
func (s *Store) ConsumeLogin(ctx context.Context, requestID, issuer, assertionID string, expiresAt time.Time) (*saml.AuthnRequestState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.saml.requests[requestID]
	now := s.now()
	if !ok || !now.Before(r.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	if exp, used := s.saml.replay[samlReplayKey{issuer, assertionID}]; used && now.Before(exp) {
		return nil, fmt.Errorf("%w: assertion already used", sso.ErrConflict)
	}
	delete(s.saml.requests, requestID)
	if s.saml.replay == nil {
		s.saml.replay = map[samlReplayKey]time.Time{}
	}
	s.saml.replay[samlReplayKey{issuer, assertionID}] = expiresAt
	return &r, nil
}

// PeekAuthnRequest implements saml.RequestPeeker: it returns a copy of the
// outstanding request without consuming it.
func (s *Store) PeekAuthnRequest(ctx context.Context, id string) (*saml.AuthnRequestState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.saml.requests[id]
	if !ok || !s.now().Before(r.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &r, nil
}

// MarkAssertionUsed implements saml.ReplayCache.
func (s *Store) MarkAssertionUsed(ctx context.Context, issuer, assertionID string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.saml
	if d.replay == nil {
		d.replay = map[samlReplayKey]time.Time{}
	}
	now := s.now()
	k := samlReplayKey{issuer, assertionID}
	if exp, ok := d.replay[k]; ok && now.Before(exp) {
		return fmt.Errorf("%w: assertion already used", sso.ErrConflict)
	}
	if len(d.replay) > 1024 {
		for key, exp := range d.replay {
			if !now.Before(exp) {
				delete(d.replay, key)
			}
		}
	}
	d.replay[k] = expiresAt
	return nil
}

// PutMetadata implements saml.MetadataCache.
func (s *Store) PutMetadata(ctx context.Context, m *saml.CachedMetadata) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saml.metadata == nil {
		s.saml.metadata = map[string]saml.CachedMetadata{}
	}
	s.saml.metadata[m.ConnectionID] = *m
	return nil
}

// GetMetadata implements saml.MetadataCache.
func (s *Store) GetMetadata(ctx context.Context, connectionID string) (*saml.CachedMetadata, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.saml.metadata[connectionID]
	if !ok {
		return nil, sso.ErrNotFound
	}
	return &m, nil
}
