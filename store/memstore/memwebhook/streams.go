package memwebhook

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// RecordFailure implements webhook.Store.
func (s *Store) RecordFailure(ctx context.Context, endpointID string, now time.Time) (int, time.Time, error) {
	if err := s.lock(ctx); err != nil {
		return 0, time.Time{}, err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[endpointID]
	if !ok {
		return 0, time.Time{}, memstate.NotFound("webhook endpoint", endpointID)
	}
	e.Failures++
	if e.FailingSince.IsZero() {
		e.FailingSince = now
	}
	return e.Failures, e.FailingSince, nil
}

// RecordSuccess implements webhook.Store.
func (s *Store) RecordSuccess(ctx context.Context, endpointID string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[endpointID]
	if !ok {
		return memstate.NotFound("webhook endpoint", endpointID)
	}
	e.Failures, e.FailingSince = 0, time.Time{}
	return nil
}

// ClaimStream implements webhook.Store.
func (s *Store) ClaimStream(ctx context.Context, endpointID, owner string, now, leaseUntil time.Time) (*webhook.Endpoint, bool, error) {
	if err := s.lock(ctx); err != nil {
		return nil, false, err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[endpointID]
	if !ok {
		return nil, false, memstate.NotFound("webhook endpoint", endpointID)
	}
	if !e.Enabled || e.Kind != webhook.KindSIEM || (e.LeaseUntil.After(now) && (e.LeaseOwner == "" || e.LeaseOwner != owner)) {
		return nil, false, nil
	}
	e.LeaseOwner, e.LeaseUntil = owner, leaseUntil
	return cloneEndpoint(e), true, nil
}

// AdvanceStream implements webhook.Store.
func (s *Store) AdvanceStream(ctx context.Context, endpointID, owner string, from, to int64) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[endpointID]
	if !ok {
		return memstate.NotFound("webhook endpoint", endpointID)
	}
	if e.LeaseOwner != owner || e.Cursor != from {
		return fmt.Errorf("memstore: webhook stream moved: %w", sso.ErrConflict)
	}
	e.Cursor = to
	return nil
}

// ReleaseStream implements webhook.Store.
func (s *Store) ReleaseStream(ctx context.Context, endpointID, owner string, retryAt time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[endpointID]
	if !ok {
		return memstate.NotFound("webhook endpoint", endpointID)
	}
	if e.LeaseOwner == owner {
		e.LeaseOwner, e.LeaseUntil = "", retryAt
	}
	return nil
}
