package memmfa

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// credKey is the map key of a credential ID.
func credKey(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

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

// copyCred returns a copy of c that shares no memory with it.
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
