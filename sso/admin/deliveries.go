package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// DeliveryView is one delivery of an event to a webhook endpoint, with
// its attempt log.
type DeliveryView struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Seq       int64  `json:"seq"`
	// Status is "pending", "delivered", "failed" (every attempt used) or
	// "paused" (the endpoint is disabled).
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	// LatencyMS is the latency of the last attempt, in milliseconds.
	LatencyMS   *int64         `json:"latency_ms,omitempty"`
	CreatedAt   time.Time      `json:"created_at"`
	DeliveredAt *time.Time     `json:"delivered_at,omitempty"`
	Log         []*AttemptView `json:"log"`
}

// AttemptView is one logged delivery attempt.
type AttemptView struct {
	Number int       `json:"number"`
	At     time.Time `json:"at"`
	// StatusCode is the receiver's HTTP status, 0 when none arrived.
	StatusCode int   `json:"status_code"`
	LatencyMS  int64 `json:"latency_ms"`
	// ErrorKind is "" for a 2xx answer, else "status", "timeout",
	// "network" or "blocked".
	ErrorKind string `json:"error_kind,omitempty"`
}

func deliveryView(d *webhook.Delivery, log []*webhook.Attempt) *DeliveryView {
	v := &DeliveryView{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Seq: d.Seq, Status: string(d.Status),
		Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt,
		DeliveredAt: timePtr(d.DeliveredAt), Log: make([]*AttemptView, 0, len(log))}
	if d.Status == webhook.StatusPending {
		v.NextAttemptAt = timePtr(d.NextAttemptAt)
	}
	for _, a := range log {
		v.Log = append(v.Log, &AttemptView{Number: a.Number, At: a.At, StatusCode: a.StatusCode,
			LatencyMS: a.Latency.Milliseconds(), ErrorKind: a.ErrorKind})
	}
	if n := len(log); n > 0 {
		ms := log[n-1].Latency.Milliseconds()
		v.LatencyMS = &ms
	}
	return v
}

// maxDeliveryPage bounds GET /webhooks/{id}/deliveries.
const maxDeliveryPage = 100

// listDeliveries answers one page of an endpoint's deliveries, newest
// first: ?status= filters (pending, delivered, failed, paused), ?limit=
// caps the page (at most 100, default 50) and ?before= is the "next"
// cursor of the previous page.
func (h *Handler) listDeliveries(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	q := r.URL.Query()
	st := webhook.Status(q.Get("status"))
	switch st {
	case "", webhook.StatusPending, webhook.StatusDelivered, webhook.StatusFailed, webhook.StatusPaused:
	default:
		return inputErr("status", "must be pending, delivered, failed or paused")
	}
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDeliveryPage {
			return inputErr("limit", "must be a number from 1 to 100")
		}
		limit = n
	}
	before := q.Get("before")
	if len(before) > 128 || strings.ContainsAny(before, " \t\r\n") {
		return inputErr("before", "must be the next cursor of a previous page")
	}
	d, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	ds, err := d.Deliveries(r.Context(), webhook.DeliveryQuery{EndpointID: e.ID, Status: st, BeforeID: before, Limit: limit})
	if err != nil {
		return err
	}
	out := make([]*DeliveryView, 0, len(ds))
	for _, dl := range ds {
		log, err := d.Attempts(r.Context(), dl.ID)
		if err != nil {
			return err
		}
		out = append(out, deliveryView(dl, log))
	}
	next := ""
	if len(ds) == limit {
		next = ds[len(ds)-1].ID
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"deliveries": out, "next": next})
	return nil
}

// delivery reads delivery id of the endpoint in the path, which must be
// org's; anything else is audited and answered 404.
func (h *Handler) delivery(r *http.Request, org *sso.Organization) (*webhook.Dispatcher, *webhook.Delivery, error) {
	d, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("delivery")
	dl, err := d.Delivery(r.Context(), id)
	if errors.Is(err, sso.ErrNotFound) || (err == nil && (dl.EndpointID != e.ID || dl.OrgID != org.ID)) {
		return nil, nil, h.crossTenant(r.Context(), org, "webhook_delivery", id)
	}
	return d, dl, err
}

func (h *Handler) getDelivery(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, dl, err := h.delivery(r, org)
	if err != nil {
		return err
	}
	log, err := d.Attempts(r.Context(), dl.ID)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, deliveryView(dl, log))
	return nil
}

// redeliver makes one delivery pending again, whatever its state; the
// receiver gets the same webhook-id (its idempotency key).
func (h *Handler) redeliver(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	d, dl, err := h.delivery(r, org)
	if err != nil {
		return err
	}
	if err := d.Redeliver(r.Context(), dl.EndpointID, dl.ID); err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: EventWebhookRedelivered, Target: sso.Target{Type: "webhook_delivery", ID: dl.ID},
		Details: map[string]string{"endpoint_id": dl.EndpointID, "event_id": dl.EventID}})
	if dl, err = d.Delivery(r.Context(), dl.ID); err != nil {
		return err
	}
	log, err := d.Attempts(r.Context(), dl.ID)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusAccepted, deliveryView(dl, log))
	return nil
}

// RedeliverSinceRequest is the body of POST /webhooks/{id}/redeliver.
type RedeliverSinceRequest struct {
	// Since is the oldest creation time of the deliveries to send again
	// (RFC 3339), at most 30 days ago: after a receiver's outage, the time
	// it went down.
	Since string `json:"since"`
}

// maxRedeliverAge bounds how far back a bulk redelivery reaches.
const maxRedeliverAge = 30 * 24 * time.Hour

// redeliverSince makes every delivery of a webhook endpoint created at or
// after since pending again, whatever its state (for example after the
// receiver lost what it had accepted), and answers how many. Each keeps its
// webhook-id, the receiver's idempotency key.
func (h *Handler) redeliverSince(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req RedeliverSinceRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	since, err := time.Parse(time.RFC3339, req.Since)
	now := h.cfg.Now()
	switch {
	case err != nil:
		return inputErr("since", "must be an RFC 3339 time, like 2026-01-31T00:00:00Z")
	case since.After(now):
		return inputErr("since", "must not be in the future")
	case now.Sub(since) > maxRedeliverAge:
		return inputErr("since", "must be at most 30 days ago")
	}
	d, e, err := h.endpoint(r.Context(), org, r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := d.RedeliverSince(r.Context(), e.ID, since)
	if err != nil {
		return err
	}
	h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: EventWebhookRedelivered, Target: sso.Target{Type: "webhook_endpoint", ID: e.ID},
		Details: map[string]string{"since": since.UTC().Format(time.RFC3339), "count": strconv.Itoa(n)}})
	httpjson.Write(w, http.StatusAccepted, map[string]int{"redelivered": n})
	return nil
}
