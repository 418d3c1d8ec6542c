// Package memoidc implements oidc.Store (login flows and the replay cache)
// in memory, on the state of a memstore.Store, for tests, demos and
// single-process development.
//
//	ms := memstore.New()
//	rp, err := oidc.New(oidc.Config{Store: memoidc.New(ms), Connections: ms, ...})
package memoidc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// oidcData holds the oidc records; its methods live in this file.
type oidcData struct {
	flows  map[string]oidc.Flow
	replay map[string]time.Time
}

var _ oidc.Store = (*Store)(nil)

// Store is the OIDC store on a memstore.Store: it shares the Store's
// lock and clock, and every Store that New returns for one memstore.Store
// sees the same records. It is safe for concurrent use.
type Store struct {
	mu   *sync.Mutex
	now  func() time.Time
	oidc *oidcData
}

// New returns the OIDC store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	return &Store{mu: &st.Mu, now: st.Now, oidc: memstate.Data[oidcData](st)}
}

// SaveFlow implements oidc.Store.
func (s *Store) SaveFlow(ctx context.Context, f *oidc.Flow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oidc.flows == nil {
		s.oidc.flows = map[string]oidc.Flow{}
	}
	if _, ok := s.oidc.flows[f.ID]; ok {
		return fmt.Errorf("memstore: flow: %w", sso.ErrConflict)
	}
	s.oidc.flows[f.ID] = *f
	return nil
}

// TakeFlow implements oidc.Store.
func (s *Store) TakeFlow(ctx context.Context, id string) (*oidc.Flow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.oidc.flows[id]
	if !ok {
		return nil, fmt.Errorf("memstore: flow: %w", sso.ErrNotFound)
	}
	delete(s.oidc.flows, id)
	if !s.now().Before(f.ExpiresAt) {
		return nil, fmt.Errorf("memstore: flow expired: %w", sso.ErrNotFound)
	}
	return &f, nil
}

// UseOnce implements oidc.Store.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.oidc.replay == nil {
		s.oidc.replay = map[string]time.Time{}
	}
	if exp, ok := s.oidc.replay[key]; ok && s.now().Before(exp) {
		return fmt.Errorf("memstore: key used: %w", sso.ErrConflict)
	}
	s.oidc.replay[key] = expiresAt
	return nil
}

// DeleteExpiredFlows implements oidc.Store.
func (s *Store) DeleteExpiredFlows(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, f := range s.oidc.flows {
		if f.ExpiresAt.Before(now) {
			delete(s.oidc.flows, id)
			n++
		}
	}
	for k, exp := range s.oidc.replay {
		if exp.Before(now) {
			delete(s.oidc.replay, k)
			n++
		}
	}
	return n, nil
}
