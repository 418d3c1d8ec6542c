package webhook

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/internal/opaque"
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
func (d *Dispatcher) CreateEndpoint(ctx context.Context, in EndpointInput) (*Endpoint, string, error) {
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
	if err := d.cfg.Store.CreateEndpoint(ctx, e); err != nil {
		return nil, "", err
	}
	return e, secret, nil
}

// UpdateEndpoint changes the endpoint's URL, description, event types and
// limits to those of in (its OrgID and Kind must match the endpoint's).
func (d *Dispatcher) UpdateEndpoint(ctx context.Context, id string, in EndpointInput) (*Endpoint, error) {
	e, err := d.cfg.Store.GetEndpoint(ctx, id)
	if err != nil {
		return nil, err
	}
	if in.OrgID != e.OrgID || (in.Kind != "" && in.Kind != e.Kind) {
		return nil, fmt.Errorf("webhook: endpoint %s: %w", id, sso.ErrNotFound)
	}
	in.Kind = e.Kind
	if err := d.apply(e, in); err != nil {
		return nil, err
	}
	e.UpdatedAt = d.cfg.Now().UTC()
	if err := d.cfg.Store.UpdateEndpoint(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
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
// old secret keeps signing, beside the new one, for overlap.
func (d *Dispatcher) RotateSecret(ctx context.Context, id string, overlap time.Duration) (string, error) {
	e, err := d.cfg.Store.GetEndpoint(ctx, id)
	if err != nil {
		return "", err
	}
	secret := NewSecret()
	sealed, err := d.cfg.Sealer.Seal([]byte(secret), []byte(e.ID))
	if err != nil {
		return "", fmt.Errorf("webhook: seal secret: %w", err)
	}
	now := d.cfg.Now().UTC()
	e.OldSecretSealed, e.OldSecretExpiresAt = e.SecretSealed, now.Add(overlap)
	if overlap <= 0 {
		e.OldSecretSealed, e.OldSecretExpiresAt = "", time.Time{}
	}
	e.SecretSealed, e.UpdatedAt = sealed, now
	if err := d.cfg.Store.UpdateEndpoint(ctx, e); err != nil {
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
// it with reason.
func (d *Dispatcher) SetEnabled(ctx context.Context, id string, enabled bool, reason string) error {
	_, err := d.cfg.Store.SetEnabled(ctx, id, enabled, reason, d.cfg.Now().UTC())
	return err
}

// Endpoint returns one endpoint.
func (d *Dispatcher) Endpoint(ctx context.Context, id string) (*Endpoint, error) {
	return d.cfg.Store.GetEndpoint(ctx, id)
}

// Endpoints returns the organization's endpoints.
func (d *Dispatcher) Endpoints(ctx context.Context, orgID string) ([]*Endpoint, error) {
	return d.cfg.Store.ListEndpoints(ctx, orgID)
}

// DeleteEndpoint removes the endpoint with its deliveries and log.
func (d *Dispatcher) DeleteEndpoint(ctx context.Context, id string) error {
	return d.cfg.Store.DeleteEndpoint(ctx, id)
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
