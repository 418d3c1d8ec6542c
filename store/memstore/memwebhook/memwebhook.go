// Package memwebhook implements webhook.Store (endpoints, deliveries and
// the attempt log) in memory, on the state of a memstore.Store, for tests,
// demos and single-process development.
//
//	ms := memstore.New()
//	d, err := webhook.New(webhook.Config{Store: memwebhook.New(ms), Events: ms, ...})
package memwebhook

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// data holds the webhook records; its methods live in this file.
type data struct {
	endpoints  map[string]*webhook.Endpoint
	deliveries map[string]*webhook.Delivery
	attempts   map[string][]*webhook.Attempt
	leases     uint64
	// cursors are the Subscriptions' cursors by name and organization.
	cursors map[string]map[string]int64
}

var (
	_ webhook.Store       = (*Store)(nil)
	_ webhook.EventBinder = (*Store)(nil)
)

// Store is the webhook store on a memstore.Store: it shares the Store's
// lock, and every Store that New returns for one memstore.Store sees the
// same records. It is safe for concurrent use.
type Store struct {
	mu   *sync.Mutex
	d    *data
	core memstate.Core
	// events are appended with every endpoint write of a view WithEvents
	// returned; nil for the Store New returns.
	events []*sso.Event
}

// New returns the webhook store on ms.
func New(ms *memstore.Store) *Store {
	st := memstate.Of(ms)
	d := memstate.Data[data](st)
	st.Mu.Lock()
	if d.endpoints == nil {
		d.endpoints, d.deliveries, d.attempts = map[string]*webhook.Endpoint{}, map[string]*webhook.Delivery{}, map[string][]*webhook.Attempt{}
	}
	st.Mu.Unlock()
	return &Store{mu: &st.Mu, d: d, core: st.Core}
}

// WithEvents implements webhook.EventBinder: the endpoint writes of the
// returned view append evs to the memstore's events under the same lock
// as their change, and neither when either fails.
func (s *Store) WithEvents(evs ...*sso.Event) webhook.Store {
	v := *s
	v.events = evs
	return &v
}

// writeLock takes the lock for an endpoint write and checks the view's
// events, releasing the lock when they would be refused.
func (s *Store) writeLock(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	if len(s.events) > 0 {
		if err := s.core.CheckEvents(s.events); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	return nil
}

// appendEvents appends the view's events; writeLock checked them.
func (s *Store) appendEvents() {
	if len(s.events) > 0 {
		s.core.AppendEvents(s.events)
	}
}

func cloneEndpoint(e *webhook.Endpoint) *webhook.Endpoint {
	c := *e
	c.EventTypes = slices.Clone(e.EventTypes)
	return &c
}

func cloneDelivery(d *webhook.Delivery) *webhook.Delivery {
	c := *d
	c.Payload = slices.Clone(d.Payload)
	return &c
}

func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	return nil
}

// CreateEndpoint implements webhook.Store.
func (s *Store) CreateEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.d.endpoints[e.ID]; ok {
		return memstate.Conflict("webhook endpoint", e.ID)
	}
	s.d.endpoints[e.ID] = cloneEndpoint(e)
	s.appendEvents()
	return nil
}

// GetEndpoint implements webhook.Store.
func (s *Store) GetEndpoint(ctx context.Context, id string) (*webhook.Endpoint, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[id]
	if !ok {
		return nil, memstate.NotFound("webhook endpoint", id)
	}
	return cloneEndpoint(e), nil
}

// ListEndpoints implements webhook.Store.
func (s *Store) ListEndpoints(ctx context.Context, orgID string) ([]*webhook.Endpoint, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []*webhook.Endpoint
	for _, e := range s.d.endpoints {
		if e.OrgID == orgID {
			out = append(out, cloneEndpoint(e))
		}
	}
	slices.SortFunc(out, func(a, b *webhook.Endpoint) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ListEnabledEndpoints implements webhook.Store.
func (s *Store) ListEnabledEndpoints(ctx context.Context, k webhook.Kind, afterID string, limit int) ([]*webhook.Endpoint, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []*webhook.Endpoint
	for _, e := range s.d.endpoints {
		if e.Enabled && e.Kind == k && e.ID > afterID {
			out = append(out, cloneEndpoint(e))
		}
	}
	slices.SortFunc(out, func(a, b *webhook.Endpoint) int { return strings.Compare(a.ID, b.ID) })
	return memstate.Page(out, limit), nil
}

// UpdateEndpoint implements webhook.Store.
func (s *Store) UpdateEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	return s.updateEndpoint(ctx, e, nil)
}

var _ webhook.ConditionalEndpointUpdater = (*Store)(nil)

// UpdateEndpointIf implements webhook.ConditionalEndpointUpdater.
func (s *Store) UpdateEndpointIf(ctx context.Context, e *webhook.Endpoint, prevUpdatedAt time.Time) error {
	return s.updateEndpoint(ctx, e, &prevUpdatedAt)
}

// updateEndpoint writes e's settings, when prev is set only while the
// stored UpdatedAt equals *prev.
func (s *Store) updateEndpoint(ctx context.Context, e *webhook.Endpoint, prev *time.Time) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	old, ok := s.d.endpoints[e.ID]
	if !ok {
		return memstate.NotFound("webhook endpoint", e.ID)
	}
	if prev != nil && !old.UpdatedAt.Equal(*prev) {
		return webhook.EndpointChanged(e.ID)
	}
	n := cloneEndpoint(e)
	n.OrgID, n.Kind, n.CreatedAt, n.Enabled, n.DisabledReason, n.DisabledAt = old.OrgID, old.Kind, old.CreatedAt, old.Enabled, old.DisabledReason, old.DisabledAt
	n.Cursor, n.Failures, n.FailingSince, n.LeaseOwner, n.LeaseUntil = old.Cursor, old.Failures, old.FailingSince, old.LeaseOwner, old.LeaseUntil
	s.d.endpoints[e.ID] = n
	s.appendEvents()
	return nil
}

// DeleteEndpoint implements webhook.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	if err := s.writeLock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.d.endpoints[id]; !ok {
		return memstate.NotFound("webhook endpoint", id)
	}
	delete(s.d.endpoints, id)
	for did, d := range s.d.deliveries {
		if d.EndpointID == id {
			delete(s.d.deliveries, did)
			delete(s.d.attempts, did)
		}
	}
	s.appendEvents()
	return nil
}

// SetEnabled implements webhook.Store.
func (s *Store) SetEnabled(ctx context.Context, id string, enabled bool, reason string, now time.Time) (bool, error) {
	if err := s.writeLock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	e, ok := s.d.endpoints[id]
	if !ok {
		return false, memstate.NotFound("webhook endpoint", id)
	}
	if e.Enabled == enabled {
		return false, nil
	}
	e.Enabled = enabled
	from, to := webhook.StatusPending, webhook.StatusPaused
	if enabled {
		e.DisabledReason, e.DisabledAt, e.Failures, e.FailingSince, e.LeaseOwner, e.LeaseUntil = "", time.Time{}, 0, time.Time{}, "", time.Time{}
		from, to = to, from
	} else {
		e.DisabledReason, e.DisabledAt = reason, now
	}
	for _, d := range s.d.deliveries {
		if d.EndpointID == id && d.Status == from {
			d.Status, d.Lease = to, ""
			if enabled {
				d.NextAttemptAt = now
			}
		}
	}
	s.appendEvents()
	return true, nil
}
