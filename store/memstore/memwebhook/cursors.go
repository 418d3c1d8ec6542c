package memwebhook

import (
	"context"
	"fmt"
	"maps"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

var _ webhook.CursorStore = (*Store)(nil)

// Cursors implements webhook.CursorStore.
func (s *Store) Cursors(ctx context.Context, name string) (map[string]int64, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := maps.Clone(s.d.cursors[name])
	if out == nil {
		out = map[string]int64{}
	}
	return out, nil
}

// AdvanceCursor implements webhook.CursorStore.
func (s *Store) AdvanceCursor(ctx context.Context, name, orgID string, from, to int64) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.d.cursors == nil {
		s.d.cursors = map[string]map[string]int64{}
	}
	c := s.d.cursors[name]
	if c == nil {
		c = map[string]int64{}
		s.d.cursors[name] = c
	}
	if c[orgID] != from {
		return fmt.Errorf("memwebhook: cursor %s/%s moved: %w", name, orgID, sso.ErrConflict)
	}
	c[orgID] = to
	return nil
}
