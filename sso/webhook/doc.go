// Package webhook delivers an organization's audit events to the outside
// world, durably: signed webhooks (one POST per event, the Standard Webhooks
// header scheme) and audit streaming to a SIEM (batches of JSON lines in
// sequence order).
//
// # The audit trail is the outbox
//
// Every change appends an sso.Event to its organization's audit trail, and
// the trail gives each event a per-organization sequence number (Seq) in
// arrival order. A Dispatcher reads the trail after a durable cursor per
// endpoint, so an event that reached the trail is never lost, and an event
// that never reached it (a rolled-back change) is never sent.
//
//   - Fan-out (webhook endpoints): in one store transaction the Dispatcher
//     inserts one delivery per matching event after the endpoint's cursor and
//     moves the cursor with a compare-and-set on its old value, so fan-out
//     happens once per event even when replicas race.
//   - Delivery: workers claim due deliveries with a lease (SKIP LOCKED on
//     PostgreSQL), POST them signed, log every attempt (status, latency,
//     error kind) and retry failures with exponential backoff and full
//     jitter. Delivery is at least once: the webhook-id header (the event
//     ID) is the receiver's idempotency key.
//   - SIEM streams: a worker leases the endpoint, POSTs the events after the
//     last acknowledged Seq as JSON lines, and moves the cursor only on a
//     2xx answer; a failure retries the same batch after a backoff, so a
//     stream never skips or reorders events and resumes after an outage.
//
// An endpoint that keeps failing (for Config.DisableAfter, or
// Config.MaxConsecutiveFailures attempts) is disabled with an audit event
// (EventEndpointDisabled); re-enabling it resumes where it stopped.
//
// The endpoint changes themselves take the audit events that describe
// them (CreateEndpoint, UpdateEndpoint, SetEnabled, RotateSecret and
// DeleteEndpoint accept them, as does the automatic disabling): with a
// Store that is an EventBinder (memwebhook, sqlwebhook) the change and its
// events are stored in one transaction, else the events are recorded after
// the change.
//
// # In-process subscribers
//
// A Subscription (NewSubscription) hands the same events to the host's own
// code in process: it reads each organization's trail after a durable
// cursor of its own (CursorStore; memwebhook and sqlwebhook stores keep
// them), so every event reaches its handler at least once, in Seq order
// per organization, also after a restart. A failed handler gets the event
// again at the next pass. Replicas running a Subscription of the same name
// share its cursors.
//
// # Egress
//
// Requests go through the shared guarded client (internal/egress): no
// private, loopback or link-local destination unless
// Config.AllowPrivateAddresses, https only unless Config.AllowInsecureURLs
// (and then plain http only to loopback), a per-endpoint timeout and a cap on
// the response bytes read.
//
// # Secrets
//
// Signing secrets are Standard Webhooks secrets ("whsec_" and base64 of 32
// random bytes). They are stored sealed with the host's sso.Sealer, bound to
// the endpoint ID, and shown once when created or rotated. During a rotation
// both secrets sign, and the webhook-signature header carries both. A new
// URL is a new receiver: UpdateEndpoint gives it a new secret, ends any
// rotation overlap and forgets the failures of the old receiver, so the
// old receiver can sign nothing the new one accepts.
package webhook
