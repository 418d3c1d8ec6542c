// Package mempassword implements password.Store (credentials, single-use
// email tokens and throttle counters) in memory, on the state of a
// memstore.Store, for tests, demos and single-process development.
//
//	ms := memstore.New()
//	pw, err := password.New(password.Config{Store: mempassword.New(ms), Users: ms, Orgs: ms, Members: ms, ...})
package mempassword

import (
	"context"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// data holds the password records; its methods live in this file.
type data struct {
	creds    map[string]password.Credential // by user ID
	byEmail  map[string]string              // email -> user ID
	tokens   map[string]password.Token      // by hash
	failures map[string]failure             // by key
}

type failure struct {
	n    int
	last time.Time
}

var _ password.Store = (*Store)(nil)

// Store is the password store on a memstore.Store: it shares the Store's
// lock and clock, and every Store that New returns for one memstore.Store
// sees the same records. It is safe for concurrent use.
type Store struct {
	mu  *sync.Mutex
	now func() time.Time
	d   *data
}

// New returns the password store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	s := &Store{mu: &st.Mu, now: st.Now, d: memstate.Data[data](st)}
	st.CountWaysIn("password", s.hasCredential)
	return s
}

// hasCredential returns 1 when the user has a password, a way to sign in
// that the keep-last removals of passkeys and social identities count, and
// 0 otherwise; the caller holds the lock.
func (s *Store) hasCredential(userID string) int {
	if _, ok := s.d.creds[userID]; ok {
		return 1
	}
	return 0
}

// lock takes the lock after checking ctx, and makes the maps.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.d.creds == nil {
		s.d.creds, s.d.byEmail = map[string]password.Credential{}, map[string]string{}
		s.d.tokens, s.d.failures = map[string]password.Token{}, map[string]failure{}
	}
	return nil
}

// CreateCredential implements password.CredentialStore.
func (s *Store) CreateCredential(ctx context.Context, c *password.Credential) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.d.creds[c.UserID]; ok {
		return memstate.Conflict("credential", c.UserID)
	}
	if _, ok := s.d.byEmail[c.Email]; ok {
		return memstate.Conflict("credential email", c.Email)
	}
	s.d.creds[c.UserID] = *c
	s.d.byEmail[c.Email] = c.UserID
	return nil
}

// GetCredential implements password.CredentialStore.
func (s *Store) GetCredential(ctx context.Context, userID string) (*password.Credential, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	c, ok := s.d.creds[userID]
	if !ok {
		return nil, memstate.NotFound("credential", userID)
	}
	return &c, nil
}

// FindCredential implements password.CredentialStore.
func (s *Store) FindCredential(ctx context.Context, email string) (*password.Credential, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	id, ok := s.d.byEmail[email]
	if !ok {
		return nil, memstate.NotFound("credential email", email)
	}
	c := s.d.creds[id]
	return &c, nil
}

// UpdateCredential implements password.CredentialStore.
func (s *Store) UpdateCredential(ctx context.Context, c *password.Credential, oldHash string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.d.creds[c.UserID]
	switch {
	case !ok:
		return memstate.NotFound("credential", c.UserID)
	case cur.Hash != oldHash:
		return memstate.Conflict("credential changed", c.UserID)
	}
	if owner, ok := s.d.byEmail[c.Email]; ok && owner != c.UserID {
		return memstate.Conflict("credential email", c.Email)
	}
	delete(s.d.byEmail, cur.Email)
	s.d.creds[c.UserID] = *c
	s.d.byEmail[c.Email] = c.UserID
	return nil
}

// CreateToken implements password.TokenStore. Expired tokens are pruned
// when many are stored.
func (s *Store) CreateToken(ctx context.Context, t *password.Token) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if len(s.d.tokens) > 1024 {
		now := s.now()
		for h, old := range s.d.tokens {
			if !now.Before(old.ExpiresAt) {
				delete(s.d.tokens, h)
			}
		}
	}
	if _, ok := s.d.tokens[t.Hash]; ok {
		return memstate.Conflict("token", t.Hash)
	}
	s.d.tokens[t.Hash] = *t
	return nil
}

// TakeToken implements password.TokenStore.
func (s *Store) TakeToken(ctx context.Context, kind password.TokenKind, hash string) (*password.Token, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	t, ok := s.d.tokens[hash]
	if !ok || t.Kind != kind {
		return nil, memstate.NotFound("token", "")
	}
	delete(s.d.tokens, hash)
	return &t, nil
}

// DeleteTokens implements password.TokenStore.
func (s *Store) DeleteTokens(ctx context.Context, userID string, kind password.TokenKind) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	for h, t := range s.d.tokens {
		if t.UserID == userID && t.Kind == kind {
			delete(s.d.tokens, h)
		}
	}
	return nil
}

// Failures implements password.ThrottleStore.
func (s *Store) Failures(ctx context.Context, key string) (int, time.Time, error) {
	if err := s.lock(ctx); err != nil {
		return 0, time.Time{}, err
	}
	defer s.mu.Unlock()
	f := s.d.failures[key]
	return f.n, f.last, nil
}

// RecordFailure implements password.ThrottleStore. When many keys are
// stored, keys idle since forgetBefore are pruned.
func (s *Store) RecordFailure(ctx context.Context, key string, now, forgetBefore time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return s.count(key, now, forgetBefore), nil
}

// CountAttempt implements password.ThrottleStore: every key is checked
// and counted under the one lock.
func (s *Store) CountAttempt(ctx context.Context, slots []password.ThrottleSlot, now, forgetBefore time.Time) ([]int, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	for _, sl := range slots {
		f := s.d.failures[sl.Key]
		n := f.n
		if f.last.Before(forgetBefore) {
			n = 0
		}
		if n >= sl.Free && (f.n != sl.N || !f.last.Equal(sl.Last)) {
			return nil, nil
		}
	}
	counts := make([]int, len(slots))
	for i, sl := range slots {
		counts[i] = s.count(sl.Key, now, forgetBefore)
	}
	return counts, nil
}

// UncountAttempt implements password.ThrottleStore.
func (s *Store) UncountAttempt(ctx context.Context, key string, n int, at, prevLast time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	f, ok := s.d.failures[key]
	if !ok || f.n <= 0 {
		return nil
	}
	if f.n == n && f.last.Equal(at) {
		f.last = prevLast
	}
	f.n--
	s.d.failures[key] = f
	return nil
}

// count counts one failure of key at now and returns the key's count; a
// key idle since forgetBefore starts again. When many keys are stored,
// keys idle since forgetBefore are pruned. The caller holds the lock.
func (s *Store) count(key string, now, forgetBefore time.Time) int {
	if len(s.d.failures) > 10000 {
		for k, f := range s.d.failures {
			if f.last.Before(forgetBefore) {
				delete(s.d.failures, k)
			}
		}
	}
	f := s.d.failures[key]
	if f.last.Before(forgetBefore) {
		f.n = 0
	}
	f.n++
	f.last = now
	s.d.failures[key] = f
	return f.n
}

// ResetFailures implements password.ThrottleStore.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.d.failures, key)
	return nil
}
