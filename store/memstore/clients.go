package memstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

var _ session.ClientStore = (*Store)(nil)

func copyClient(c *session.APIClient) *session.APIClient {
	out := *c
	out.Scopes = slices.Clone(c.Scopes)
	return &out
}

func checkClient(c *session.APIClient) error {
	if c.ID == "" || c.OrgID == "" || c.SecretHash == "" {
		return fmt.Errorf("%w: API client needs an ID, an organization and a secret hash", sso.ErrInvalidInput)
	}
	return nil
}

// CreateClient implements session.ClientStore.
func (s *Store) CreateClient(ctx context.Context, c *session.APIClient) error {
	if err := checkClient(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.session.clients == nil {
		s.session.clients = map[string]*session.APIClient{}
	}
	if _, ok := s.session.clients[c.ID]; ok {
		return sso.ErrConflict
	}
	s.session.clients[c.ID] = copyClient(c)
	return nil
}

// GetClient implements session.ClientStore.
func (s *Store) GetClient(ctx context.Context, id string) (*session.APIClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.session.clients[id]
	if !ok {
		return nil, sso.ErrNotFound
	}
	return copyClient(c), nil
}

// UpdateClient implements session.ClientStore. Disabling is final: a
// stored DisabledAt is kept whatever c says, so a write from a copy read
// before the client was disabled (a secret rotation, a scope change)
// cannot enable it again.
func (s *Store) UpdateClient(ctx context.Context, c *session.APIClient) error {
	return s.updateClient(c, nil)
}

var _ session.ConditionalClientUpdater = (*Store)(nil)

// UpdateClientIf implements session.ConditionalClientUpdater.
func (s *Store) UpdateClientIf(ctx context.Context, c *session.APIClient, prevUpdatedAt time.Time) error {
	return s.updateClient(c, &prevUpdatedAt)
}

// updateClient replaces client c.ID with c, when prev is set only while
// its stored UpdatedAt equals *prev.
func (s *Store) updateClient(c *session.APIClient, prev *time.Time) error {
	if err := checkClient(c); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.session.clients[c.ID]
	if !ok {
		return sso.ErrNotFound
	}
	if prev != nil && !old.UpdatedAt.Equal(*prev) {
		return session.ClientChanged(c.ID)
	}
	n := copyClient(c)
	if !old.DisabledAt.IsZero() {
		n.DisabledAt = old.DisabledAt
	}
	s.session.clients[c.ID] = n
	return nil
}

// ListClients implements session.ClientStore.
func (s *Store) ListClients(ctx context.Context, orgID string) ([]*session.APIClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []*session.APIClient{}
	for _, c := range s.session.clients {
		if c.OrgID == orgID {
			out = append(out, copyClient(c))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteClient implements session.ClientStore.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.session.clients[id]; !ok {
		return sso.ErrNotFound
	}
	delete(s.session.clients, id)
	return nil
}
