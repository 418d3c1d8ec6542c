package memsaml

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

var _ saml.EndpointClaimer = (*Store)(nil)

// ClaimEndpointPath implements saml.EndpointClaimer.
func (s *Store) ClaimEndpointPath(ctx context.Context, path, connectionID string, at time.Time) (*saml.EndpointClaim, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.saml
	if d.paths == nil {
		d.paths = map[string]saml.EndpointClaim{}
	}
	c, ok := d.paths[path]
	switch {
	case !ok || c.ConnectionID == connectionID:
		c = saml.EndpointClaim{Path: path, ConnectionID: connectionID, ClaimedAt: at}
		d.paths[path] = c
		return &c, nil
	default:
		return &c, fmt.Errorf("memsaml: path %q is claimed by connection %s: %w", path, c.ConnectionID, sso.ErrConflict)
	}
}

// TransferEndpointPath implements saml.EndpointClaimer.
func (s *Store) TransferEndpointPath(ctx context.Context, path, from, to string, before, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.saml.paths[path]
	if !ok || c.ConnectionID != from || c.ClaimedAt.After(before) {
		return fmt.Errorf("memsaml: path %q is no longer claimed by %s as it was: %w", path, from, sso.ErrConflict)
	}
	s.saml.paths[path] = saml.EndpointClaim{Path: path, ConnectionID: to, ClaimedAt: at}
	return nil
}

// ReleaseEndpointPaths implements saml.EndpointClaimer.
func (s *Store) ReleaseEndpointPaths(ctx context.Context, connectionID string, keep []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, c := range s.saml.paths {
		if c.ConnectionID == connectionID && !slices.Contains(keep, p) {
			delete(s.saml.paths, p)
		}
	}
	return nil
}
