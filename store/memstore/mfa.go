package memstore

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
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

func credKey(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

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

// CreateWebAuthnCredential implements mfa.WebAuthnStore.
func (s *Store) CreateWebAuthnCredential(ctx context.Context, c *mfa.WebAuthnCredential) error {
	if len(c.ID) == 0 || c.UserID == "" {
		return fmt.Errorf("%w: memstore: empty credential or user ID", sso.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := credKey(c.ID)
	if _, ok := s.mfa.creds[k]; ok {
		return fmt.Errorf("%w: memstore: credential ID exists", sso.ErrConflict)
	}
	if s.mfa.creds == nil {
		s.mfa.creds = make(map[string]mfa.WebAuthnCredential)
		s.mfa.credOrder = make(map[string][]string)
	}
	s.mfa.creds[k] = copyCred(c)
	s.mfa.credOrder[c.UserID] = append(s.mfa.credOrder[c.UserID], k)
	return nil
}

func copyCred(c *mfa.WebAuthnCredential) mfa.WebAuthnCredential {
	out := *c
	out.ID = slices.Clone(c.ID)
	out.Data = slices.Clone(c.Data)
	return out
}

// ListWebAuthnCredentials implements mfa.WebAuthnStore.
func (s *Store) ListWebAuthnCredentials(ctx context.Context, userID string) ([]*mfa.WebAuthnCredential, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*mfa.WebAuthnCredential
	for _, k := range s.mfa.credOrder[userID] {
		c := s.mfa.creds[k]
		cp := copyCred(&c)
		out = append(out, &cp)
	}
	return out, nil
}

// UpdateWebAuthnUse implements mfa.WebAuthnStore.
func (s *Store) UpdateWebAuthnUse(ctx context.Context, userID string, id []byte, oldCount, newCount uint32, data []byte, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := credKey(id)
	c, ok := s.mfa.creds[k]
	if !ok || c.UserID != userID {
		return sso.ErrNotFound
	}
	if c.SignCount != oldCount {
		return fmt.Errorf("%w: memstore: signature counter changed", sso.ErrConflict)
	}
	c.SignCount, c.Data, c.LastUsedAt = newCount, slices.Clone(data), at
	s.mfa.creds[k] = c
	return nil
}

// DeleteWebAuthnCredential implements mfa.WebAuthnStore.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := credKey(id)
	c, ok := s.mfa.creds[k]
	if !ok || c.UserID != userID {
		return sso.ErrNotFound
	}
	delete(s.mfa.creds, k)
	s.mfa.credOrder[userID] = slices.DeleteFunc(s.mfa.credOrder[userID], func(x string) bool { return x == k })
	return nil
}

// SaveCeremony implements mfa.WebAuthnStore.
func (s *Store) SaveCeremony(ctx context.Context, c *mfa.Ceremony) error {
	if c.ID == "" {
		return fmt.Errorf("%w: memstore: empty ceremony ID", sso.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mfa.ceremonies == nil {
		s.mfa.ceremonies = make(map[string]mfa.Ceremony)
	}
	now := s.now()
	for id, x := range s.mfa.ceremonies { // opportunistic expiry
		if !now.Before(x.ExpiresAt) {
			delete(s.mfa.ceremonies, id)
		}
	}
	if _, ok := s.mfa.ceremonies[c.ID]; ok {
		return fmt.Errorf("%w: memstore: ceremony exists", sso.ErrConflict)
	}
	cp := *c
	cp.Data = slices.Clone(c.Data)
	s.mfa.ceremonies[c.ID] = cp
	return nil
}

// TakeCeremony implements mfa.WebAuthnStore.
func (s *Store) TakeCeremony(ctx context.Context, id string) (*mfa.Ceremony, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.mfa.ceremonies[id]
	if !ok {
		return nil, sso.ErrNotFound
	}
	delete(s.mfa.ceremonies, id)
	if !s.now().Before(c.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &c, nil
}
