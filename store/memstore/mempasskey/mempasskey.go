// Package mempasskey implements passkey.Store (passkeys and ceremonies) in
// memory, on the state of a memstore.Store, for tests, demos and
// single-process development.
package mempasskey

import (
	"context"
	"slices"
	"time"

	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

type data struct {
	creds map[string]passkey.Credential // by string(ID)
	cers  map[string]passkey.Ceremony
}

var _ passkey.Store = (*Store)(nil)

// Store is the passkey store on a memstore.Store. It is safe for
// concurrent use.
type Store struct {
	st *memstate.State
	d  *data
}

// New returns the passkey store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	s := &Store{st: st, d: memstate.Data[data](st)}
	st.CountWaysIn("passkey", s.count)
	return s
}

func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.st.Mu.Lock()
	if s.d.creds == nil {
		s.d.creds, s.d.cers = map[string]passkey.Credential{}, map[string]passkey.Ceremony{}
	}
	return nil
}

func clone(c passkey.Credential) *passkey.Credential {
	c.ID, c.Data = slices.Clone(c.ID), slices.Clone(c.Data)
	return &c
}

// CreateCredential implements passkey.Store.
func (s *Store) CreateCredential(ctx context.Context, c *passkey.Credential) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	if _, ok := s.d.creds[string(c.ID)]; ok {
		return memstate.Conflict("passkey", "")
	}
	s.d.creds[string(c.ID)] = *clone(*c)
	return nil
}

// GetCredential implements passkey.Store.
func (s *Store) GetCredential(ctx context.Context, id []byte) (*passkey.Credential, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.st.Mu.Unlock()
	c, ok := s.d.creds[string(id)]
	if !ok {
		return nil, memstate.NotFound("passkey", "")
	}
	return clone(c), nil
}

// ListCredentials implements passkey.Store.
func (s *Store) ListCredentials(ctx context.Context, userID string) ([]*passkey.Credential, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.st.Mu.Unlock()
	return s.list(userID), nil
}

func (s *Store) list(userID string) []*passkey.Credential {
	out := []*passkey.Credential{}
	for _, c := range s.d.creds {
		if c.UserID == userID {
			out = append(out, clone(c))
		}
	}
	slices.SortFunc(out, func(a, b *passkey.Credential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(a.ID, b.ID)
	})
	return out
}

// count returns how many passkeys the user has; the caller holds the
// lock.
func (s *Store) count(userID string) int {
	n := 0
	for _, c := range s.d.creds {
		if c.UserID == userID {
			n++
		}
	}
	return n
}

// UpdateUse implements passkey.Store.
func (s *Store) UpdateUse(ctx context.Context, id []byte, oldCount, newCount uint32, data []byte, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	c, ok := s.d.creds[string(id)]
	switch {
	case !ok:
		return memstate.NotFound("passkey", "")
	case c.SignCount != oldCount:
		return memstate.Conflict("passkey counter", "")
	}
	c.SignCount, c.Data, c.LastUsedAt = newCount, slices.Clone(data), at
	s.d.creds[string(id)] = c
	return nil
}

// RenameCredential implements passkey.Store.
func (s *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	c, ok := s.d.creds[string(id)]
	if !ok || c.UserID != userID {
		return memstate.NotFound("passkey", "")
	}
	c.Name = name
	s.d.creds[string(id)] = c
	return nil
}

// DeleteCredential implements passkey.Store: with keepLast, the count of
// the user's ways to sign in, of every capability on the memstore.Store
// (memstate.State.WaysIn), and the delete are under its one lock.
func (s *Store) DeleteCredential(ctx context.Context, userID string, id []byte, keepLast bool) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	c, ok := s.d.creds[string(id)]
	if !ok || c.UserID != userID {
		return memstate.NotFound("passkey", "")
	}
	if keepLast && s.st.WaysIn(userID) == 1 {
		return memstate.Conflict("last way to sign in", userID)
	}
	delete(s.d.creds, string(id))
	return nil
}

// SaveCeremony implements passkey.Store.
func (s *Store) SaveCeremony(ctx context.Context, c *passkey.Ceremony) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	if _, ok := s.d.cers[c.ID]; ok {
		return memstate.Conflict("ceremony", c.ID)
	}
	// Abandoned ceremonies go once there are many.
	if len(s.d.cers) >= 1024 {
		now := s.st.Now()
		for id, x := range s.d.cers {
			if !now.Before(x.ExpiresAt) {
				delete(s.d.cers, id)
			}
		}
	}
	cc := *c
	cc.Data = slices.Clone(c.Data)
	s.d.cers[c.ID] = cc
	return nil
}

// TakeCeremony implements passkey.Store.
func (s *Store) TakeCeremony(ctx context.Context, id string) (*passkey.Ceremony, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.st.Mu.Unlock()
	c, ok := s.d.cers[id]
	delete(s.d.cers, id)
	if !ok || !s.st.Now().Before(c.ExpiresAt) {
		return nil, memstate.NotFound("ceremony", id)
	}
	return &c, nil
}
