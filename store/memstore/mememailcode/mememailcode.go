// Package mememailcode implements emailcode.Store (sign-in challenges,
// counters and the account lookup) in memory, on the state of a
// memstore.Store, for tests, demos and single-process development.
//
//	ms := memstore.New()
//	ec, err := emailcode.New(emailcode.Config{Store: mememailcode.New(ms), Users: ms, Orgs: ms, Members: ms, ...})
package mememailcode

import (
	"context"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// data holds the records; its methods live in this file.
type data struct {
	challenges map[string]emailcode.Challenge // by ID
	byLink     map[string]string              // link hash -> ID
	counters   map[string]counter             // by key
}

type counter struct {
	n     int
	start time.Time
}

var _ emailcode.Store = (*Store)(nil)

// Store is the emailcode store on a memstore.Store: it shares the Store's
// lock, clock and users, and every Store that New returns for one
// memstore.Store sees the same records. It is safe for concurrent use.
type Store struct {
	st *memstate.State
	d  *data
}

// New returns the emailcode store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	return &Store{st: st, d: memstate.Data[data](st)}
}

// lock takes the lock after checking ctx, and makes the maps.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.st.Mu.Lock()
	if s.d.challenges == nil {
		s.d.challenges, s.d.byLink, s.d.counters = map[string]emailcode.Challenge{}, map[string]string{}, map[string]counter{}
	}
	return nil
}

func (s *Store) mu() *sync.Mutex { return &s.st.Mu }

// CreateChallenge implements emailcode.ChallengeStore. Expired challenges
// are pruned when many are stored.
func (s *Store) CreateChallenge(ctx context.Context, c *emailcode.Challenge) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu().Unlock()
	if len(s.d.challenges) > 1024 {
		now := s.st.Now()
		for id, old := range s.d.challenges {
			if !now.Before(old.ExpiresAt) {
				s.remove(id)
			}
		}
	}
	if _, ok := s.d.challenges[c.ID]; ok {
		return memstate.Conflict("email challenge", c.ID)
	}
	if _, ok := s.d.byLink[c.LinkHash]; ok {
		return memstate.Conflict("email challenge link", "")
	}
	s.d.challenges[c.ID] = *c
	s.d.byLink[c.LinkHash] = c.ID
	return nil
}

// remove deletes the challenge id; the lock is held.
func (s *Store) remove(id string) {
	delete(s.d.byLink, s.d.challenges[id].LinkHash)
	delete(s.d.challenges, id)
}

// GetChallenge implements emailcode.ChallengeStore.
func (s *Store) GetChallenge(ctx context.Context, id string) (*emailcode.Challenge, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu().Unlock()
	c, ok := s.d.challenges[id]
	if !ok {
		return nil, memstate.NotFound("email challenge", id)
	}
	return &c, nil
}

// FindChallengeByLink implements emailcode.ChallengeStore.
func (s *Store) FindChallengeByLink(ctx context.Context, linkHash string) (*emailcode.Challenge, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu().Unlock()
	id, ok := s.d.byLink[linkHash]
	if !ok {
		return nil, memstate.NotFound("email challenge link", "")
	}
	c := s.d.challenges[id]
	return &c, nil
}

// AddAttempt implements emailcode.ChallengeStore.
func (s *Store) AddAttempt(ctx context.Context, id string) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu().Unlock()
	c, ok := s.d.challenges[id]
	if !ok {
		return 0, memstate.NotFound("email challenge", id)
	}
	c.Attempts++
	s.d.challenges[id] = c
	return c.Attempts, nil
}

// TakeChallenge implements emailcode.ChallengeStore.
func (s *Store) TakeChallenge(ctx context.Context, id string) (*emailcode.Challenge, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu().Unlock()
	c, ok := s.d.challenges[id]
	if !ok {
		return nil, memstate.NotFound("email challenge", id)
	}
	s.remove(id)
	return &c, nil
}

// DeleteChallenges implements emailcode.ChallengeStore.
func (s *Store) DeleteChallenges(ctx context.Context, email string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu().Unlock()
	for id, c := range s.d.challenges {
		if c.Email == email {
			s.remove(id)
		}
	}
	return nil
}

// Count implements emailcode.CounterStore. When many keys are stored,
// keys whose window ended are pruned.
func (s *Store) Count(ctx context.Context, key string, now, windowStart time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu().Unlock()
	if len(s.d.counters) > 10000 {
		for k, c := range s.d.counters {
			if c.start.Before(windowStart) {
				delete(s.d.counters, k)
			}
		}
	}
	c, ok := s.d.counters[key]
	if !ok || c.start.Before(windowStart) {
		c = counter{start: now}
	}
	c.n++
	s.d.counters[key] = c
	return c.n, nil
}

// FindVerifiedUser implements emailcode.UserFinder on the memstore's users.
func (s *Store) FindVerifiedUser(ctx context.Context, email string) (*sso.User, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu().Unlock()
	if u := s.st.Core.VerifiedUserByEmail(email); u != nil {
		return u, nil
	}
	return nil, memstate.NotFound("verified user email", "")
}
