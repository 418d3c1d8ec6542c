// Package memmfa implements mfa.Store (TOTP factors, recovery codes,
// failed-attempt counters, WebAuthn credentials and ceremonies) in memory, on
// the state of a memstore.Store, for tests, demos and single-process
// development.
//
//	ms := memstore.New()
//	m, err := mfa.New(mfa.Config{Store: memmfa.New(ms), Users: ms, Orgs: ms, ...})
package memmfa

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// mfaData holds the mfa records; its methods live in this file.
type mfaData struct {
	totp       map[string]mfa.TOTPFactor         // by user ID
	recovery   map[string][]recoveryCode         // by user ID
	attempts   map[string]mfa.Attempts           // by user ID
	creds      map[string]mfa.WebAuthnCredential // by base64url credential ID
	ceremonies map[string]mfa.Ceremony           // by ID
	credOrder  map[string][]string               // user ID -> credential keys in creation order
}

type recoveryCode struct {
	hash   string
	usedAt time.Time
}

var _ mfa.Store = (*Store)(nil)

// Store is the MFA store on a memstore.Store: it shares the Store's
// lock and clock, and every Store that New returns for one memstore.Store
// sees the same records. It is safe for concurrent use.
type Store struct {
	mu  *sync.Mutex
	now func() time.Time
	mfa *mfaData
}

// New returns the MFA store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	return &Store{mu: &st.Mu, now: st.Now, mfa: memstate.Data[mfaData](st)}
}

// copyOf returns a copy of m[k], or sso.ErrNotFound when k is absent.
func copyOf[V any](m map[string]V, k string) (*V, error) {
	v, ok := m[k]
	if !ok {
		return nil, sso.ErrNotFound
	}
	return &v, nil
}

// PutPendingTOTP implements mfa.TOTPStore.
func (s *Store) PutPendingTOTP(ctx context.Context, f *mfa.TOTPFactor) error {
	if f.UserID == "" {
		return fmt.Errorf("%w: memstore: empty user ID", sso.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.mfa.totp[f.UserID]; ok && cur.Active {
		return fmt.Errorf("%w: memstore: user has an active TOTP factor", sso.ErrConflict)
	}
	if s.mfa.totp == nil {
		s.mfa.totp = make(map[string]mfa.TOTPFactor)
	}
	c := *f
	c.Active = false
	s.mfa.totp[f.UserID] = c
	return nil
}

// GetTOTP implements mfa.TOTPStore.
func (s *Store) GetTOTP(ctx context.Context, userID string) (*mfa.TOTPFactor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyOf(s.mfa.totp, userID)
}

// ActivateTOTP implements mfa.TOTPStore.
func (s *Store) ActivateTOTP(ctx context.Context, userID, secret string, step int64, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.mfa.totp[userID]
	switch {
	case !ok:
		return sso.ErrNotFound
	case f.Active:
		return fmt.Errorf("%w: memstore: TOTP factor already active", sso.ErrConflict)
	case f.Secret != secret:
		return fmt.Errorf("%w: memstore: pending TOTP factor replaced", sso.ErrNotFound)
	}
	f.Active, f.LastStep, f.ConfirmedAt, f.LastUsedAt = true, step, at, at
	s.mfa.totp[userID] = f
	return nil
}

// AdvanceTOTPStep implements mfa.TOTPStore.
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID string, step int64, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.mfa.totp[userID]
	if !ok || !f.Active {
		return false, sso.ErrNotFound
	}
	if step <= f.LastStep {
		return false, nil
	}
	f.LastStep, f.LastUsedAt = step, at
	s.mfa.totp[userID] = f
	return true, nil
}

// DeleteTOTP implements mfa.TOTPStore.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.mfa.totp[userID]; !ok {
		return sso.ErrNotFound
	}
	delete(s.mfa.totp, userID)
	return nil
}

// ReplaceRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	if userID == "" {
		return fmt.Errorf("%w: memstore: empty user ID", sso.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mfa.recovery == nil {
		s.mfa.recovery = make(map[string][]recoveryCode)
	}
	codes := make([]recoveryCode, 0, len(hashes))
	for _, h := range hashes {
		for _, c := range codes {
			if c.hash == h {
				return fmt.Errorf("%w: memstore: duplicate recovery code", sso.ErrConflict)
			}
		}
		codes = append(codes, recoveryCode{hash: h})
	}
	s.mfa.recovery[userID] = codes
	return nil
}

// UseRecoveryCode implements mfa.RecoveryStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	codes := s.mfa.recovery[userID]
	for i := range codes {
		if codes[i].hash == hash && codes[i].usedAt.IsZero() {
			codes[i].usedAt = at
			return nil
		}
	}
	return sso.ErrNotFound
}

// CountRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.mfa.recovery[userID] {
		if c.usedAt.IsZero() {
			n++
		}
	}
	return n, nil
}

// DeleteRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mfa.recovery, userID)
	return nil
}

// GetAttempts implements mfa.AttemptStore.
func (s *Store) GetAttempts(ctx context.Context, userID string) (*mfa.Attempts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyOf(s.mfa.attempts, userID)
}

// AddFailure implements mfa.AttemptStore.
func (s *Store) AddFailure(ctx context.Context, userID string, at, restartBefore time.Time) (int, error) {
	a, err := s.updateAttempts(userID, func(a *mfa.Attempts) {
		if a.LastFailureAt.Before(restartBefore) {
			a.Failures = 0
		}
		a.Failures++
		a.LastFailureAt = at
	})
	return a.Failures, err
}

// LockUntil implements mfa.AttemptStore.
func (s *Store) LockUntil(ctx context.Context, userID string, until time.Time) error {
	_, err := s.updateAttempts(userID, func(a *mfa.Attempts) {
		if until.After(a.LockedUntil) {
			a.LockedUntil = until
		}
	})
	return err
}

// updateAttempts applies change to the user's attempt record, creating it
// when absent, and returns the record as stored.
func (s *Store) updateAttempts(userID string, change func(a *mfa.Attempts)) (mfa.Attempts, error) {
	if userID == "" {
		return mfa.Attempts{}, fmt.Errorf("%w: memstore: empty user ID", sso.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mfa.attempts == nil {
		s.mfa.attempts = make(map[string]mfa.Attempts)
	}
	a := s.mfa.attempts[userID]
	a.UserID = userID
	change(&a)
	s.mfa.attempts[userID] = a
	return a, nil
}

// ResetAttempts implements mfa.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mfa.attempts, userID)
	return nil
}
