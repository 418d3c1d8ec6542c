package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/sso"
)

// EndpointInput is what a caller sets on a new or changed endpoint. Zero
// limits take the defaults.
type EndpointInput struct {
	OrgID            string
	Kind             Kind
	URL              string
	Description      string
	EventTypes       []string
	Timeout          time.Duration
	MaxResponseBytes int64
	BatchSize        int
}

// CreateEndpoint validates in and stores a new, enabled endpoint. It
// returns the endpoint and its signing secret, which is shown only now.
// evs are the audit events describing the creation (see Dispatcher.change);
// the Target of each without one is set to the new endpoint.
func (d *Dispatcher) CreateEndpoint(ctx context.Context, in EndpointInput, evs ...*sso.Event) (*Endpoint, string, error) {
	if in.Kind == "" {
		in.Kind = KindWebhook
	}
	now := d.cfg.Now().UTC()
	e := &Endpoint{ID: opaque.NewID("whe_"), OrgID: in.OrgID, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if err := d.apply(e, in); err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	sealed, err := d.cfg.Sealer.Seal([]byte(secret), []byte(e.ID))
	if err != nil {
		return nil, "", fmt.Errorf("webhook: seal secret: %w", err)
	}
	e.SecretSealed = sealed
	for _, ev := range evs {
		if ev.Target.ID == "" {
			ev.Target = sso.Target{Type: "webhook_endpoint", ID: e.ID}
		}
	}
	if err := d.change(ctx, func(s Store) error { return s.CreateEndpoint(ctx, e) }, evs...); err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// change runs fn, one endpoint write, with the audit events evs that
// describe it: in one transaction when the Store is an EventBinder, else
// fn and then each event through Config.Auditor (a failure to record is
// logged, since the change is made).
func (d *Dispatcher) change(ctx context.Context, fn func(s Store) error, evs ...*sso.Event) error {
	return record.Change[Store, Store](ctx, d.cfg.Store, d.cfg.Auditor, d.cfg.Now(), evs, d.cfg.Logger.ErrorContext, fn)
}

// UpdateEndpoint changes the endpoint's URL, description, event types and
// limits to those of in (its OrgID and Kind must match the endpoint's),
// with the audit events evs that describe the change (see change).
//
// A new URL is a new receiver, so nothing meant for the old one carries
// over: the endpoint gets a new signing secret, returned here and shown
// only now (the old receiver knows the old one, which would let it sign
// requests the new receiver trusts), the old secret stops signing at once
// (no rotation overlap), and the failure count that would disable the
// endpoint starts again. Deliveries not yet made go to the new URL. An
// unchanged URL returns an empty secret.
func (d *Dispatcher) UpdateEndpoint(ctx context.Context, id string, in EndpointInput, evs ...*sso.Event) (*Endpoint, string, error) {
	secret := ""
	e, err := d.saveEndpoint(ctx, id, evs, func(e *Endpoint) error {
		if in.OrgID != e.OrgID || (in.Kind != "" && in.Kind != e.Kind) {
			return fmt.Errorf("webhook: endpoint %s: %w", id, sso.ErrNotFound)
		}
		in.Kind = e.Kind
		oldURL := e.URL
		if err := d.apply(e, in); err != nil {
			return err
		}
		secret = ""
		if e.URL != oldURL {
			secret = NewSecret()
			sealed, err := d.cfg.Sealer.Seal([]byte(secret), []byte(e.ID))
			if err != nil {
				return fmt.Errorf("webhook: seal secret: %w", err)
			}
			e.SecretSealed, e.OldSecretSealed, e.OldSecretExpiresAt = sealed, "", time.Time{}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if secret != "" && e.Failures > 0 {
		// The new receiver starts with a clean record.
		if err := d.cfg.Store.RecordSuccess(ctx, e.ID); err != nil {
			return nil, "", err
		}
		e.Failures, e.FailingSince = 0, time.Time{}
	}
	return e, secret, nil
}

// endpointAttempts bounds how often saveEndpoint applies a change to a
// fresh read when other changes keep getting there first.
const endpointAttempts = 4

// saveEndpoint reads endpoint id, applies change and writes the result
// with evs only over the endpoint it read (UpdateEndpointIf); when another
// change landed meanwhile it reads the endpoint again and applies change
// to that, so that neither undoes the other.
func (d *Dispatcher) saveEndpoint(ctx context.Context, id string, evs []*sso.Event, change func(e *Endpoint) error) (*Endpoint, error) {
	for range endpointAttempts {
		e, err := d.cfg.Store.GetEndpoint(ctx, id)
		if err != nil {
			return nil, err
		}
		prev := e.UpdatedAt
		if err := change(e); err != nil {
			return nil, err
		}
		e.UpdatedAt = sso.NextUpdatedAt(prev, d.cfg.Now())
		err = d.change(ctx, func(s Store) error { return UpdateEndpointIf(ctx, s, e, prev) }, evs...)
		if !errors.Is(err, ErrEndpointChanged) {
			return e, err
		}
	}
	return nil, EndpointChanged(id)
}

// apply validates in and copies it onto e.
func (d *Dispatcher) apply(e *Endpoint, in EndpointInput) error {
	field := func(name, msg string) error {
		return &sso.FieldError{Field: name, Reason: "invalid_" + name, Message: msg}
	}
	switch {
	case in.OrgID == "":
		return field("org_id", "an endpoint belongs to an organization")
	case in.Kind != KindWebhook && in.Kind != KindSIEM:
		return field("kind", `kind must be "webhook" or "siem"`)
	case in.Timeout < 0 || in.Timeout > MaxTimeout:
		return field("timeout", fmt.Sprintf("timeout must be at most %s", MaxTimeout))
	case in.MaxResponseBytes < 0 || in.BatchSize < 0 || in.BatchSize > MaxBatchSize:
		return field("limits", fmt.Sprintf("limits must be positive, batch size at most %d", MaxBatchSize))
	case len(in.EventTypes) > 200:
		return field("event_types", "at most 200 event types")
	}
	for _, t := range in.EventTypes {
		if n, v, ok := strings.Cut(t, "."); !ok || n == "" || v == "" || len(t) > 100 {
			return field("event_types", fmt.Sprintf("%q is not an event type (noun.verb)", t))
		}
	}
	if err := d.checkURL(in.URL); err != nil {
		return field("url", err.Error())
	}
	setDefault(&in.Timeout, DefaultTimeout)
	setDefault(&in.MaxResponseBytes, DefaultMaxResponseBytes)
	setDefault(&in.BatchSize, DefaultBatchSize)
	e.Kind, e.URL, e.Description = in.Kind, in.URL, in.Description
	e.EventTypes = append([]string(nil), in.EventTypes...)
	e.Timeout, e.MaxResponseBytes, e.BatchSize = in.Timeout, in.MaxResponseBytes, in.BatchSize
	return nil
}

// checkURL applies the egress policy to an endpoint URL: https, and no
// private address unless allowed; plain http only to loopback with
// AllowInsecureURLs.
func (d *Dispatcher) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL")
	}
	if err := egress.CheckURL(u, d.cfg.AllowPrivateAddresses, d.cfg.AllowInsecureURLs); err != nil {
		return err
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		ip, err := netip.ParseAddr(h)
		if !(err == nil && ip.IsLoopback()) && !strings.EqualFold(h, "localhost") {
			return fmt.Errorf("%w: plain http only to loopback", egress.ErrInsecureURL)
		}
	}
	return nil
}

// RotateSecret gives the endpoint a new signing secret and returns it. The
// old secret keeps signing, beside the new one, for overlap. evs are the
// audit events describing the rotation (see change).
func (d *Dispatcher) RotateSecret(ctx context.Context, id string, overlap time.Duration, evs ...*sso.Event) (string, error) {
	secret := NewSecret()
	_, err := d.saveEndpoint(ctx, id, evs, func(e *Endpoint) error {
		sealed, err := d.cfg.Sealer.Seal([]byte(secret), []byte(e.ID))
		if err != nil {
			return fmt.Errorf("webhook: seal secret: %w", err)
		}
		e.OldSecretSealed, e.OldSecretExpiresAt = e.SecretSealed, d.cfg.Now().UTC().Add(overlap)
		if overlap <= 0 {
			e.OldSecretSealed, e.OldSecretExpiresAt = "", time.Time{}
		}
		e.SecretSealed = sealed
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// secrets returns the secrets that sign for e now: the current one, and
// the old one during a rotation overlap.
func (d *Dispatcher) secrets(e *Endpoint) ([]string, error) {
	sealed := []string{e.SecretSealed}
	if e.OldSecretSealed != "" && d.cfg.Now().Before(e.OldSecretExpiresAt) {
		sealed = append(sealed, e.OldSecretSealed)
	}
	out := make([]string, 0, len(sealed))
	for _, s := range sealed {
		b, err := d.cfg.Sealer.Open(s, []byte(e.ID))
		if err != nil {
			return nil, fmt.Errorf("webhook: open secret of endpoint %s: %w", e.ID, err)
		}
		out = append(out, string(b))
	}
	return out, nil
}

// SetEnabled enables the endpoint (resuming where it stopped) or disables
// it with reason. evs are the audit events describing the switch (see
// change); with an EventBinder Store they are stored only when the
// endpoint's state changed.
func (d *Dispatcher) SetEnabled(ctx context.Context, id string, enabled bool, reason string, evs ...*sso.Event) error {
	return d.change(ctx, func(s Store) error {
		_, err := s.SetEnabled(ctx, id, enabled, reason, d.cfg.Now().UTC())
		return err
	}, evs...)
}

// Endpoint returns one endpoint.
func (d *Dispatcher) Endpoint(ctx context.Context, id string) (*Endpoint, error) {
	return d.cfg.Store.GetEndpoint(ctx, id)
}

// Endpoints returns the organization's endpoints.
func (d *Dispatcher) Endpoints(ctx context.Context, orgID string) ([]*Endpoint, error) {
	return d.cfg.Store.ListEndpoints(ctx, orgID)
}

// DeleteEndpoint removes the endpoint with its deliveries and log, with
// the audit events evs that describe the deletion (see change).
func (d *Dispatcher) DeleteEndpoint(ctx context.Context, id string, evs ...*sso.Event) error {
	return d.change(ctx, func(s Store) error { return s.DeleteEndpoint(ctx, id) }, evs...)
}

// Deliveries lists an endpoint's deliveries, newest first.
func (d *Dispatcher) Deliveries(ctx context.Context, q DeliveryQuery) ([]*Delivery, error) {
	return d.cfg.Store.ListDeliveries(ctx, q)
}

// Delivery returns one delivery.
func (d *Dispatcher) Delivery(ctx context.Context, id string) (*Delivery, error) {
	return d.cfg.Store.GetDelivery(ctx, id)
}

// Attempts returns the logged attempts of a delivery.
func (d *Dispatcher) Attempts(ctx context.Context, deliveryID string) ([]*Attempt, error) {
	return d.cfg.Store.ListAttempts(ctx, deliveryID)
}

// Redeliver sends one delivery of the endpoint again, whatever its state.
func (d *Dispatcher) Redeliver(ctx context.Context, endpointID, deliveryID string) error {
	n, err := d.cfg.Store.Redeliver(ctx, endpointID, deliveryID, time.Time{}, d.cfg.Now().UTC())
	if err == nil && n == 0 {
		err = fmt.Errorf("webhook: delivery %s: %w", deliveryID, sso.ErrNotFound)
	}
	return err
}

// RedeliverSince sends again every delivery of the endpoint created at or
// after since, and returns how many.
func (d *Dispatcher) RedeliverSince(ctx context.Context, endpointID string, since time.Time) (int, error) {
	return d.cfg.Store.Redeliver(ctx, endpointID, "", since, d.cfg.Now().UTC())
}
