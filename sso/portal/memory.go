package portal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// MemoryStore is a Store in memory, for tests, demos and single-replica
// hosts. The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu       sync.Mutex
	links    map[string]*SetupLink // by ID
	sessions map[string]*Session   // by ID
	forms    map[string]string     // sessionID + "\x00" + token -> location
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{links: map[string]*SetupLink{}, sessions: map[string]*Session{}, forms: map[string]string{}}
}

var _ Store = (*MemoryStore)(nil)

func copyLink(l *SetupLink) *SetupLink {
	c := *l
	c.Sections = slices.Clone(l.Sections)
	return &c
}

func copySession(s *Session) *Session {
	c := *s
	c.Sections = slices.Clone(s.Sections)
	return &c
}

// CreateLink implements Store.
func (m *MemoryStore) CreateLink(_ context.Context, l *SetupLink) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.links {
		if x.ID == l.ID || x.Hash == l.Hash {
			return fmt.Errorf("portal: setup link: %w", sso.ErrConflict)
		}
	}
	m.links[l.ID] = copyLink(l)
	return nil
}

// GetLink implements Store.
func (m *MemoryStore) GetLink(_ context.Context, id string) (*SetupLink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[id]
	if !ok {
		return nil, fmt.Errorf("portal: setup link: %w", sso.ErrNotFound)
	}
	return copyLink(l), nil
}

// ListLinks implements Store.
func (m *MemoryStore) ListLinks(_ context.Context, orgID string) ([]*SetupLink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*SetupLink
	for _, l := range m.links {
		if l.OrgID == orgID {
			out = append(out, copyLink(l))
		}
	}
	slices.SortFunc(out, func(a, b *SetupLink) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

// UseLink implements Store.
func (m *MemoryStore) UseLink(_ context.Context, hash string, now time.Time) (*SetupLink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.links {
		if l.Hash != hash {
			continue
		}
		switch {
		case !l.RevokedAt.IsZero() || !now.Before(l.ExpiresAt):
			return nil, fmt.Errorf("portal: setup link: %w", sso.ErrExpired)
		case !l.UsedAt.IsZero():
			return nil, fmt.Errorf("portal: setup link already used: %w", sso.ErrConflict)
		}
		l.UsedAt = now
		return copyLink(l), nil
	}
	return nil, fmt.Errorf("portal: setup link: %w", sso.ErrNotFound)
}

// RevokeLink implements Store.
func (m *MemoryStore) RevokeLink(_ context.Context, orgID, id string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[id]
	if !ok || l.OrgID != orgID {
		return fmt.Errorf("portal: setup link: %w", sso.ErrNotFound)
	}
	if l.RevokedAt.IsZero() {
		l.RevokedAt = now
	}
	return nil
}

// CreateSession implements Store. It also drops the sessions (and their
// form tokens) whose absolute lifetime ended, so memory does not grow.
func (m *MemoryStore) CreateSession(_ context.Context, s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, x := range m.sessions {
		if !s.CreatedAt.Before(x.ExpiresAt) {
			m.deleteSession(id)
		}
	}
	for _, x := range m.sessions {
		if x.ID == s.ID || x.Hash == s.Hash {
			return fmt.Errorf("portal: session: %w", sso.ErrConflict)
		}
	}
	m.sessions[s.ID] = copySession(s)
	return nil
}

// GetSession implements Store.
func (m *MemoryStore) GetSession(_ context.Context, hash string) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		if s.Hash == hash {
			return copySession(s), nil
		}
	}
	return nil, fmt.Errorf("portal: session: %w", sso.ErrNotFound)
}

// TouchSession implements Store.
func (m *MemoryStore) TouchSession(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return fmt.Errorf("portal: session: %w", sso.ErrNotFound)
	}
	s.LastSeenAt = at
	return nil
}

// DeleteSession implements Store.
func (m *MemoryStore) DeleteSession(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleteSession(id)
	return nil
}

func (m *MemoryStore) deleteSession(id string) {
	delete(m.sessions, id)
	for k := range m.forms {
		if strings.HasPrefix(k, id+"\x00") {
			delete(m.forms, k)
		}
	}
}

// ClaimForm implements Store.
func (m *MemoryStore) ClaimForm(_ context.Context, sessionID, token string) (bool, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := sessionID + "\x00" + token
	if loc, ok := m.forms[k]; ok && loc != FormRetry {
		return false, loc, nil
	}
	m.forms[k] = ""
	return true, "", nil
}

// FinishForm implements Store.
func (m *MemoryStore) FinishForm(_ context.Context, sessionID, token, location string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forms[sessionID+"\x00"+token] = location
	return nil
}
