package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// Audit event types of webhook endpoints and SIEM streams.
const (
	// EventWebhookCreated is recorded when an endpoint was created.
	EventWebhookCreated = "webhook.endpoint_created"
	// EventWebhookUpdated is recorded when an endpoint's settings changed.
	EventWebhookUpdated = "webhook.endpoint_updated"
	// EventWebhookEnabled is recorded when an admin enabled an endpoint.
	EventWebhookEnabled = "webhook.endpoint_enabled"
	// EventWebhookDisabledByAdmin is recorded when an admin disabled an
	// endpoint (webhook.EventEndpointDisabled is the dispatcher's own).
	EventWebhookDisabledByAdmin = "webhook.endpoint_paused"
	// EventWebhookSecretRotated is recorded when an endpoint's signing
	// secret was rotated.
	EventWebhookSecretRotated = "webhook.secret_rotated"
	// EventWebhookDeleted is recorded when an endpoint was deleted.
	EventWebhookDeleted = "webhook.endpoint_deleted"
	// EventWebhookRedelivered is recorded when an admin asked for a
	// delivery to be sent again.
	EventWebhookRedelivered = "webhook.redelivery_requested"
)

// maxSecretOverlap bounds how long a rotated endpoint secret keeps signing.
const maxSecretOverlap = 7 * 24 * time.Hour

// WebhookView describes a webhook endpoint or SIEM stream. Secret is set
// only in the answer that creates the endpoint, rotates its secret or
// changes its URL (a new receiver gets a new secret).
type WebhookView struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	EventTypes  []string `json:"event_types"`
	// AllHostEvents is true when EventTypes is empty: a webhook then
	// receives webhook.HostEventTypes, a SIEM stream every event.
	AllHostEvents    bool       `json:"all_host_events"`
	Enabled          bool       `json:"enabled"`
	DisabledReason   string     `json:"disabled_reason,omitempty"`
	DisabledAt       *time.Time `json:"disabled_at,omitempty"`
	TimeoutSeconds   int64      `json:"timeout_seconds"`
	BatchSize        int        `json:"batch_size,omitempty"`
	Secret           string     `json:"secret,omitempty"`
	OldSecretExpires *time.Time `json:"old_secret_expires_at,omitempty"`
	// ConsecutiveFailures counts the failed attempts in a row; FailingSince
	// is when the first of them happened.
	ConsecutiveFailures int        `json:"consecutive_failures"`
	FailingSince        *time.Time `json:"failing_since,omitempty"`
	// Cursor is the last event sequence number fanned out (webhook) or
	// acknowledged (SIEM).
	Cursor    int64     `json:"cursor"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (h *Handler) webhookView(e *webhook.Endpoint, secret string) *WebhookView {
	v := &WebhookView{ID: e.ID, Kind: string(e.Kind), URL: e.URL, Description: e.Description,
		EventTypes: e.EventTypes, AllHostEvents: len(e.EventTypes) == 0, Enabled: e.Enabled,
		DisabledReason: e.DisabledReason, DisabledAt: timePtr(e.DisabledAt), TimeoutSeconds: int64(e.Timeout / time.Second),
		Secret: secret, ConsecutiveFailures: e.Failures, FailingSince: timePtr(e.FailingSince),
		Cursor: e.Cursor, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.Kind == webhook.KindSIEM {
		v.BatchSize = e.BatchSize
	}
	if e.OldSecretSealed != "" && h.cfg.Now().Before(e.OldSecretExpiresAt) {
		v.OldSecretExpires = timePtr(e.OldSecretExpiresAt)
	}
	if v.EventTypes == nil {
		v.EventTypes = []string{}
	}
	return v
}

// webhooks returns the dispatcher, or ErrNotFound when the host runs none.
func (h *Handler) webhooks() (*webhook.Dispatcher, error) {
	if h.cfg.Webhooks == nil {
		return nil, fmt.Errorf("admin: webhooks are not enabled: %w", sso.ErrNotFound)
	}
	return h.cfg.Webhooks, nil
}

// endpoint reads endpoint id of org; another organization's endpoint is
// audited and answered like a missing one.
func (h *Handler) endpoint(ctx context.Context, org *sso.Organization, id string) (*webhook.Dispatcher, *webhook.Endpoint, error) {
	d, err := h.webhooks()
	if err != nil {
		return nil, nil, err
	}
	e, err := d.Endpoint(ctx, id)
	if errors.Is(err, sso.ErrNotFound) || (err == nil && e.OrgID != org.ID) {
		return nil, nil, h.crossTenant(ctx, org, "webhook_endpoint", id)
	}
	return d, e, err
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, err := h.webhooks()
	if err != nil {
		return err
	}
	eps, err := d.Endpoints(r.Context(), org.ID)
	if err != nil {
		return err
	}
	out := make([]*WebhookView, 0, len(eps))
	for _, e := range eps {
		if e.OrgID == org.ID {
			out = append(out, h.webhookView(e, ""))
		}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"endpoints": out, "host_event_types": webhook.HostEventTypes})
	return nil
}

// WebhookRequest is the body of POST /webhooks and PATCH /webhooks/{id}.
// Kind is "webhook" (the default) or "siem" and cannot change; zero
// limits take the defaults.
type WebhookRequest struct {
	Kind           string   `json:"kind"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	EventTypes     []string `json:"event_types"`
	TimeoutSeconds int64    `json:"timeout_seconds"`
	BatchSize      int      `json:"batch_size"`
}

func (h *Handler) webhookInput(r *http.Request, org *sso.Organization) (webhook.EndpointInput, error) {
	var req WebhookRequest
	if err := decode(r, &req); err != nil {
		return webhook.EndpointInput{}, err
	}
	switch {
	case len(req.Description) > 500:
		return webhook.EndpointInput{}, inputErr("description", "must be at most 500 characters")
	case req.TimeoutSeconds < 0 || req.TimeoutSeconds > int64(webhook.MaxTimeout/time.Second):
		return webhook.EndpointInput{}, inputErr("timeout_seconds", fmt.Sprintf("must be 0-%d (0 means %s)",
			int64(webhook.MaxTimeout/time.Second), webhook.DefaultTimeout))
	case len(req.URL) > 2000:
		return webhook.EndpointInput{}, inputErr("url", "must be at most 2000 characters")
	}
	return webhook.EndpointInput{OrgID: org.ID, Kind: webhook.Kind(req.Kind), URL: req.URL, Description: req.Description,
		EventTypes: req.EventTypes, Timeout: time.Duration(req.TimeoutSeconds) * time.Second, BatchSize: req.BatchSize}, nil
}

// endpointErr turns the dispatcher's field errors into admin input errors.
func endpointErr(err error) error {
	var fe *sso.FieldError
	if errors.As(err, &fe) {
		f := fe.Field
		if f == "limits" {
			f = "batch_size"
		}
		if f == "timeout" {
			f = "timeout_seconds"
		}
		return &InputError{Field: f, Problem: fe.Message}
	}
	return err
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, err := h.webhooks()
	if err != nil {
		return err
	}
	in, err := h.webhookInput(r, org)
	if err != nil {
		return err
	}
	kind := in.Kind
	if kind == "" {
		kind = webhook.KindWebhook
	}
	// The dispatcher names the new endpoint as the event's target.
	e, secret, err := d.CreateEndpoint(r.Context(), in, &sso.Event{OrgID: org.ID, Type: EventWebhookCreated,
		Details: map[string]string{"kind": string(kind), "url": in.URL}})
	if err != nil {
		return endpointErr(err)
	}
	httpjson.Write(w, http.StatusCreated, h.webhookView(e, secret))
	return nil
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	_, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.webhookView(e, ""))
	return nil
}

func (h *Handler) updateWebhook(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	in, err := h.webhookInput(r, org)
	if err != nil {
		return err
	}
	if in.Kind != "" && in.Kind != e.Kind {
		return inputErr("kind", "cannot change; create a new endpoint instead")
	}
	details := map[string]string{"url": in.URL}
	if in.URL != e.URL {
		// A new receiver: the dispatcher gives it a new secret.
		details["from_url"], details["secret_rotated"] = e.URL, "true"
	}
	e, secret, err := d.UpdateEndpoint(r.Context(), e.ID, in, &sso.Event{OrgID: org.ID, Type: EventWebhookUpdated,
		Target: sso.Target{Type: "webhook_endpoint", ID: e.ID}, Details: details})
	if err != nil {
		return endpointErr(err)
	}
	httpjson.Write(w, http.StatusOK, h.webhookView(e, secret))
	return nil
}

func (h *Handler) enableWebhook(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	return h.setWebhookEnabled(w, r, org, true)
}

func (h *Handler) disableWebhook(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	return h.setWebhookEnabled(w, r, org, false)
}

func (h *Handler) setWebhookEnabled(w http.ResponseWriter, r *http.Request, org *sso.Organization, on bool) error {
	d, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	typ, reason := EventWebhookEnabled, ""
	if !on {
		typ, reason = EventWebhookDisabledByAdmin, "disabled by an administrator"
	}
	if e.Enabled != on {
		if err := d.SetEnabled(r.Context(), e.ID, on, reason,
			&sso.Event{OrgID: org.ID, Type: typ, Target: sso.Target{Type: "webhook_endpoint", ID: e.ID}}); err != nil {
			return err
		}
	}
	if e, err = d.Endpoint(r.Context(), e.ID); err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.webhookView(e, ""))
	return nil
}

// RotateWebhookSecretRequest is the body of POST /webhooks/{id}/rotate-secret.
type RotateWebhookSecretRequest struct {
	// OverlapSeconds keeps the old secret signing beside the new one this
	// long (at most 7 days).
	OverlapSeconds int64 `json:"overlap_seconds"`
}

func (h *Handler) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req RotateWebhookSecretRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.OverlapSeconds < 0 || req.OverlapSeconds > int64(maxSecretOverlap/time.Second) {
		return inputErr("overlap_seconds", "must be 0-604800 (at most 7 days)")
	}
	d, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	overlap := time.Duration(req.OverlapSeconds) * time.Second
	secret, err := d.RotateSecret(r.Context(), e.ID, overlap, &sso.Event{OrgID: org.ID, Type: EventWebhookSecretRotated,
		Target: sso.Target{Type: "webhook_endpoint", ID: e.ID}, Details: map[string]string{"overlap": overlap.String()}})
	if err != nil {
		return err
	}
	if e, err = d.Endpoint(r.Context(), e.ID); err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, h.webhookView(e, secret))
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := d.DeleteEndpoint(r.Context(), e.ID, &sso.Event{OrgID: org.ID, Type: EventWebhookDeleted,
		Target: sso.Target{Type: "webhook_endpoint", ID: e.ID}, Details: map[string]string{"url": e.URL}}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
