package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Kind says how an Endpoint receives events.
type Kind string

// Endpoint kinds.
const (
	// KindWebhook receives one signed POST per event.
	KindWebhook Kind = "webhook"
	// KindSIEM receives batches of events as JSON lines, in Seq order.
	KindSIEM Kind = "siem"
)

// Endpoint is where an organization's events go.
type Endpoint struct {
	ID    string
	OrgID string
	Kind  Kind
	// URL is https (plain http only to loopback with
	// Config.AllowInsecureURLs).
	URL         string
	Description string
	// EventTypes filters the events sent; empty means HostEventTypes for a
	// webhook and every event for a SIEM stream.
	EventTypes []string
	Enabled    bool
	// DisabledReason and DisabledAt say why and when the endpoint was
	// disabled; empty while it is enabled.
	DisabledReason string
	DisabledAt     time.Time
	// Timeout bounds one request; MaxResponseBytes caps the response body
	// read; BatchSize caps the events of one SIEM request.
	Timeout          time.Duration
	MaxResponseBytes int64
	BatchSize        int
	// SecretSealed is the signing secret sealed with the Dispatcher's
	// Sealer; OldSecretSealed is the previous secret, which keeps signing
	// until OldSecretExpiresAt (rotation overlap).
	SecretSealed       string
	OldSecretSealed    string
	OldSecretExpiresAt time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time

	// Dispatcher state, written only through the Store's dedicated
	// methods: Cursor is the last Seq fanned out (webhook) or acknowledged
	// (SIEM); Failures counts consecutive failed attempts since
	// FailingSince; LeaseOwner and LeaseUntil hold a SIEM stream.
	Cursor       int64
	Failures     int
	FailingSince time.Time
	LeaseOwner   string
	LeaseUntil   time.Time
}

// Status is the state of a Delivery.
type Status string

// Delivery states.
const (
	StatusPending   Status = "pending"
	StatusDelivered Status = "delivered"
	// StatusFailed is a delivery that used every attempt; Redeliver
	// retries it.
	StatusFailed Status = "failed"
	// StatusPaused is a pending delivery of a disabled endpoint; enabling
	// the endpoint makes it pending again.
	StatusPaused Status = "paused"
)

// Delivery is one event to deliver to one webhook endpoint.
type Delivery struct {
	ID         string
	EndpointID string
	OrgID      string
	EventID    string
	EventType  string
	Seq        int64
	// Payload is the exact request body, fixed at fan-out so every attempt
	// sends, and signs, the same bytes.
	Payload       []byte
	Status        Status
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   time.Time
	// Lease is the claim token of the worker holding the delivery.
	Lease string
}

// Attempt is one logged delivery attempt.
type Attempt struct {
	DeliveryID string
	EndpointID string
	Number     int
	At         time.Time
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	Latency    time.Duration
	// ErrorKind is "" for a 2xx answer, else one of the ErrorKind values.
	ErrorKind string
}

// Error kinds of an Attempt.
const (
	ErrorKindStatus  = "status"  // a non-2xx answer
	ErrorKindTimeout = "timeout" // no answer within the endpoint's timeout
	ErrorKindNetwork = "network" // connection failed
	ErrorKindBlocked = "blocked" // refused by the egress policy
)

// DeliveryQuery selects deliveries of an endpoint, newest first.
type DeliveryQuery struct {
	EndpointID string
	// Status filters when non-empty.
	Status Status
	// BeforeID pages: deliveries with an ID less than it.
	BeforeID string
	// Limit caps the result; zero means 100.
	Limit int
}

// Store keeps endpoints, deliveries and the attempt log. The contracts of
// sso's stores apply (ErrNotFound, ErrConflict, copies, concurrency), also
// across processes sharing one database.
type Store interface {
	CreateEndpoint(ctx context.Context, e *Endpoint) error
	GetEndpoint(ctx context.Context, id string) (*Endpoint, error)
	// ListEndpoints returns the organization's endpoints by creation time.
	ListEndpoints(ctx context.Context, orgID string) ([]*Endpoint, error)
	// ListEnabledEndpoints returns up to limit enabled endpoints of kind k
	// with ID > afterID, in ID order.
	ListEnabledEndpoints(ctx context.Context, k Kind, afterID string, limit int) ([]*Endpoint, error)
	// UpdateEndpoint replaces the configuration of e (URL, description,
	// event types, limits, secrets, UpdatedAt); it changes neither Enabled
	// nor the dispatcher state.
	UpdateEndpoint(ctx context.Context, e *Endpoint) error
	// DeleteEndpoint removes the endpoint, its deliveries and their log.
	DeleteEndpoint(ctx context.Context, id string) error
	// SetEnabled enables or disables the endpoint and reports whether it
	// changed. Disabling records reason and now and pauses its pending
	// deliveries; enabling clears them, resets Failures, FailingSince and
	// the lease, and makes paused deliveries due at now.
	SetEnabled(ctx context.Context, id string, enabled bool, reason string, now time.Time) (bool, error)

	// FanOut atomically moves the endpoint's Cursor from from to to and
	// inserts ds; when the Cursor is no longer from it writes nothing and
	// fails with ErrConflict.
	FanOut(ctx context.Context, endpointID string, from, to int64, ds []*Delivery) error
	// ClaimDeliveries leases up to limit pending deliveries due at now to
	// one caller: it sets their NextAttemptAt to leaseUntil and a new Lease,
	// and no concurrent caller gets the same delivery until the lease ends.
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	// FinishDelivery logs a (when non-nil) and writes d's Status,
	// Attempts, NextAttemptAt, LastStatus, LastError and DeliveredAt,
	// provided d.Lease still holds it; otherwise it fails with ErrConflict
	// after logging a.
	FinishDelivery(ctx context.Context, d *Delivery, a *Attempt) error
	GetDelivery(ctx context.Context, id string) (*Delivery, error)
	ListDeliveries(ctx context.Context, q DeliveryQuery) ([]*Delivery, error)
	// ListAttempts returns the delivery's attempts, oldest first.
	ListAttempts(ctx context.Context, deliveryID string) ([]*Attempt, error)
	// Redeliver makes the endpoint's deliveries created at or after since
	// (when id is non-empty: that one delivery) pending and due at now,
	// with Attempts reset, and returns how many it changed.
	Redeliver(ctx context.Context, endpointID, id string, since, now time.Time) (int, error)

	// RecordFailure counts a failed attempt of the endpoint and returns its
	// consecutive Failures and FailingSince (set to now by the first).
	RecordFailure(ctx context.Context, endpointID string, now time.Time) (int, time.Time, error)
	// RecordSuccess resets Failures and FailingSince.
	RecordSuccess(ctx context.Context, endpointID string) error

	// ClaimStream leases the enabled SIEM endpoint to owner until
	// leaseUntil when it is free at now (no lease, an ended lease, or
	// owner's own) and returns it; ok is false when another owner holds it.
	ClaimStream(ctx context.Context, endpointID, owner string, now, leaseUntil time.Time) (e *Endpoint, ok bool, err error)
	// AdvanceStream moves the Cursor of a stream owner holds from from to
	// to; otherwise it fails with ErrConflict.
	AdvanceStream(ctx context.Context, endpointID, owner string, from, to int64) error
	// ReleaseStream ends owner's lease and keeps the stream free of any
	// owner until retryAt (a backoff).
	ReleaseStream(ctx context.Context, endpointID, owner string, retryAt time.Time) error
}

// ErrEndpointChanged reports that a conditional write of an endpoint found
// it changed since it was read (UpdateEndpointIf). It wraps
// sso.ErrConflict.
var ErrEndpointChanged = fmt.Errorf("%w: the webhook endpoint changed since it was read", sso.ErrConflict)

// ConditionalEndpointUpdater is an optional Store capability. An edit of
// an endpoint and a secret rotation each read the endpoint and write its
// settings back; two at once would otherwise undo each other, and an edit
// written over a rotation would make the retired secret sign again.
// UpdateEndpointIf is UpdateEndpoint, but only while the stored UpdatedAt
// still equals prevUpdatedAt (at the store's precision); otherwise it
// writes nothing and returns an error wrapping ErrEndpointChanged. The
// check and the write are atomic. memwebhook and sqlwebhook implement it.
type ConditionalEndpointUpdater interface {
	UpdateEndpointIf(ctx context.Context, e *Endpoint, prevUpdatedAt time.Time) error
}

// UpdateEndpointIf writes e through st's ConditionalEndpointUpdater when
// st implements it. Otherwise it reads the endpoint again and writes e
// with UpdateEndpoint when the stored UpdatedAt still equals
// prevUpdatedAt, and ErrEndpointChanged when not, which narrows the race
// without closing it.
func UpdateEndpointIf(ctx context.Context, st Store, e *Endpoint, prevUpdatedAt time.Time) error {
	if cu, ok := st.(ConditionalEndpointUpdater); ok {
		return cu.UpdateEndpointIf(ctx, e, prevUpdatedAt)
	}
	cur, err := st.GetEndpoint(ctx, e.ID)
	if err != nil {
		return err
	}
	if !cur.UpdatedAt.Equal(prevUpdatedAt) {
		return EndpointChanged(e.ID)
	}
	return st.UpdateEndpoint(ctx, e)
}

// EndpointChanged is the error of a conditional write of endpoint id that
// found it changed since it was read; it wraps ErrEndpointChanged.
func EndpointChanged(id string) error {
	return fmt.Errorf("%w: endpoint %s", ErrEndpointChanged, id)
}

// EventBinder is an optional capability of a Store on the same database
// as the events: WithEvents returns a view whose CreateEndpoint,
// UpdateEndpoint, DeleteEndpoint and SetEnabled (when it changes the
// endpoint) also append evs to the events in the same transaction, so an
// endpoint change is never stored without the audit events that describe
// it, and a refused change leaves none. Use one view for one write.
// store/sqlstore/sqlwebhook and store/memstore/memwebhook implement it;
// with a Store without it the Dispatcher records the events through
// Config.Auditor after the change, so a crash between the two loses them.
// The events must go where Config.Auditor records them (the stores of one
// database do).
type EventBinder interface {
	WithEvents(evs ...*sso.Event) Store
}
