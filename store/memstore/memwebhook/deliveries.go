package memwebhook

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// FanOut implements webhook.Store.
func (s *Store) FanOut(ctx context.Context, endpointID string, from, to int64, ds []*webhook.Delivery) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[endpointID]
	if !ok {
		return memstate.NotFound("webhook endpoint", endpointID)
	}
	if e.Cursor != from {
		return fmt.Errorf("memstore: webhook cursor moved: %w", sso.ErrConflict)
	}
	for _, d := range ds {
		if _, ok := s.d.deliveries[d.ID]; ok {
			return memstate.Conflict("webhook delivery", d.ID)
		}
	}
	for _, d := range ds {
		s.d.deliveries[d.ID] = cloneDelivery(d)
	}
	e.Cursor = to
	return nil
}

// ClaimDeliveries implements webhook.Store.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*webhook.Delivery, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var due []*webhook.Delivery
	for _, d := range s.d.deliveries {
		if d.Status == webhook.StatusPending && !d.NextAttemptAt.After(now) {
			due = append(due, d)
		}
	}
	slices.SortFunc(due, func(a, b *webhook.Delivery) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	due = memstate.Page(due, limit)
	s.d.leases++
	lease := fmt.Sprintf("lease-%d", s.d.leases)
	out := make([]*webhook.Delivery, len(due))
	for i, d := range due {
		d.NextAttemptAt, d.Lease = leaseUntil, lease
		out[i] = cloneDelivery(d)
	}
	return out, nil
}

// FinishDelivery implements webhook.Store.
func (s *Store) FinishDelivery(ctx context.Context, d *webhook.Delivery, a *webhook.Attempt) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.d.deliveries[d.ID]
	if !ok {
		return memstate.NotFound("webhook delivery", d.ID)
	}
	if a != nil {
		c := *a
		s.d.attempts[d.ID] = append(s.d.attempts[d.ID], &c)
	}
	if cur.Lease != d.Lease {
		return fmt.Errorf("memstore: webhook delivery lease lost: %w", sso.ErrConflict)
	}
	cur.Status, cur.Attempts, cur.NextAttemptAt = d.Status, d.Attempts, d.NextAttemptAt
	cur.LastStatus, cur.LastError, cur.DeliveredAt, cur.Lease = d.LastStatus, d.LastError, d.DeliveredAt, ""
	return nil
}

// GetDelivery implements webhook.Store.
func (s *Store) GetDelivery(ctx context.Context, id string) (*webhook.Delivery, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	d, ok := s.d.deliveries[id]
	if !ok {
		return nil, memstate.NotFound("webhook delivery", id)
	}
	return cloneDelivery(d), nil
}

// ListDeliveries implements webhook.Store.
func (s *Store) ListDeliveries(ctx context.Context, q webhook.DeliveryQuery) ([]*webhook.Delivery, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []*webhook.Delivery
	for _, d := range s.d.deliveries {
		if d.EndpointID == q.EndpointID && (q.Status == "" || d.Status == q.Status) && (q.BeforeID == "" || d.ID < q.BeforeID) {
			out = append(out, cloneDelivery(d))
		}
	}
	slices.SortFunc(out, func(a, b *webhook.Delivery) int { return strings.Compare(b.ID, a.ID) })
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	return memstate.Page(out, limit), nil
}

// ListAttempts implements webhook.Store.
func (s *Store) ListAttempts(ctx context.Context, deliveryID string) ([]*webhook.Attempt, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]*webhook.Attempt, 0, len(s.d.attempts[deliveryID]))
	for _, a := range s.d.attempts[deliveryID] {
		c := *a
		out = append(out, &c)
	}
	return out, nil
}

// Redeliver implements webhook.Store.
func (s *Store) Redeliver(ctx context.Context, endpointID, id string, since, now time.Time) (int, error) {
	if err := s.lock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.d.deliveries {
		if d.EndpointID != endpointID || (id != "" && d.ID != id) || (id == "" && d.CreatedAt.Before(since)) {
			continue
		}
		d.Status, d.Attempts, d.NextAttemptAt, d.Lease = webhook.StatusPending, 0, now, ""
		n++
	}
	return n, nil
}
