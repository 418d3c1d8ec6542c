// Package memsocial implements social.Store (social identities and the
// lookup of link targets by email) in memory, on the state of a
// memstore.Store, for tests, demos and single-process development.
//
//	ms := memstore.New()
//	sm, err := social.New(social.Config{Store: memsocial.New(ms), Users: ms, Orgs: ms, Members: ms, ...})
package memsocial

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// data holds the social records.
type data struct {
	ids map[[2]string]social.Identity // (provider, subject) -> identity
}

var _ social.Store = (*Store)(nil)

// Store is the social store on a memstore.Store: it shares the Store's
// lock and sees its users. It is safe for concurrent use.
type Store struct {
	st *memstate.State
	d  *data
}

// New returns the social store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	s := &Store{st: st, d: memstate.Data[data](st)}
	st.CountWaysIn("social", s.count)
	return s
}

func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.st.Mu.Lock()
	if s.d.ids == nil {
		s.d.ids = map[[2]string]social.Identity{}
	}
	return nil
}

// CreateIdentity implements social.Store.
func (s *Store) CreateIdentity(ctx context.Context, id *social.Identity) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	k := [2]string{id.Provider, id.Subject}
	if _, ok := s.d.ids[k]; ok {
		return memstate.Conflict("social identity", id.Provider+"/"+id.Subject)
	}
	s.d.ids[k] = *id
	return nil
}

// GetIdentity implements social.Store.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (*social.Identity, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.st.Mu.Unlock()
	id, ok := s.d.ids[[2]string{provider, subject}]
	if !ok {
		return nil, memstate.NotFound("social identity", provider+"/"+subject)
	}
	return &id, nil
}

// ListUserIdentities implements social.Store.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*social.Identity, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.st.Mu.Unlock()
	out := []*social.Identity{}
	for _, id := range s.d.ids {
		if id.UserID == userID {
			c := id
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *social.Identity) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.Provider, b.Provider); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	return out, nil
}

// TouchIdentity implements social.Store.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject, email string, verified bool, at time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	k := [2]string{provider, subject}
	id, ok := s.d.ids[k]
	if !ok {
		return memstate.NotFound("social identity", provider+"/"+subject)
	}
	id.Email, id.EmailVerified, id.LastLoginAt = email, verified, at
	s.d.ids[k] = id
	return nil
}

// DeleteIdentity implements social.Store: with keepLast, the count of the
// user's ways to sign in, of every capability on the memstore.Store
// (memstate.State.WaysIn), and the delete are under its one lock.
func (s *Store) DeleteIdentity(ctx context.Context, userID, provider, subject string, keepLast bool) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.st.Mu.Unlock()
	k := [2]string{provider, subject}
	if id, ok := s.d.ids[k]; !ok || id.UserID != userID {
		return memstate.NotFound("social identity", provider+"/"+subject)
	}
	if keepLast && s.st.WaysIn(userID) == 1 {
		return memstate.Conflict("last way to sign in", userID)
	}
	delete(s.d.ids, k)
	return nil
}

// count returns how many identities the user has; the caller holds the
// lock.
func (s *Store) count(userID string) int {
	n := 0
	for _, id := range s.d.ids {
		if id.UserID == userID {
			n++
		}
	}
	return n
}

// FindUsersByEmail implements social.Store.
func (s *Store) FindUsersByEmail(ctx context.Context, email string) ([]*sso.User, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.st.Mu.Unlock()
	out := s.st.Core.UsersByEmail(email)
	if out == nil {
		out = []*sso.User{}
	}
	return out, nil
}
