package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Stream runs one pass over every enabled SIEM endpoint: for each stream
// it can lease, it sends the next batch of events after the acknowledged
// cursor. It reports whether a stream has more to send. Run calls it.
func (d *Dispatcher) Stream(ctx context.Context) (bool, error) {
	more := false
	var errs []error
	after := ""
	for {
		eps, err := d.cfg.Store.ListEnabledEndpoints(ctx, KindSIEM, after, endpointPage)
		if err != nil {
			return more, err
		}
		for _, e := range eps {
			full, err := d.streamOne(ctx, e)
			if err != nil {
				if ctx.Err() != nil {
					return more, err
				}
				errs = append(errs, fmt.Errorf("webhook: stream to endpoint %s: %w", e.ID, err))
			}
			more = more || full
		}
		if len(eps) < endpointPage {
			return more, errors.Join(errs...)
		}
		after = eps[len(eps)-1].ID
	}
}

// streamOne leases the stream, sends one batch in Seq order, and moves the
// cursor on a 2xx answer; on failure the stream waits out a backoff and the
// same events are sent again. The lease is released when the pass ends, so
// a stopped replica never holds a stream up. It reports whether the batch
// was full.
func (d *Dispatcher) streamOne(ctx context.Context, seen *Endpoint) (more bool, err error) {
	now := d.cfg.Now().UTC()
	if seen.LeaseUntil.After(now) && seen.LeaseOwner != d.owner {
		return false, nil // held, or backing off
	}
	// An idle stream costs one read, no write: look before leasing.
	probe, err := d.cfg.Events.ListEvents(ctx, sso.EventQuery{OrgID: seen.OrgID, AfterSeq: seen.Cursor, Since: seen.CreatedAt, Limit: 1})
	if err != nil || len(probe) == 0 {
		return false, err
	}
	cctx, cancel := claimContext(ctx)
	e, ok, err := d.cfg.Store.ClaimStream(cctx, seen.ID, d.owner, now, now.Add(d.cfg.Lease))
	cancel()
	if err != nil || !ok {
		return false, err
	}
	retryAt := time.Time{} // when the lease is given back: now, or after a backoff
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		if retryAt.IsZero() {
			retryAt = d.cfg.Now().UTC()
		}
		err = errors.Join(err, d.cfg.Store.ReleaseStream(rctx, e.ID, d.owner, retryAt))
	}()
	evs, err := d.cfg.Events.ListEvents(ctx, sso.EventQuery{OrgID: e.OrgID, AfterSeq: e.Cursor,
		Since: e.CreatedAt, Limit: e.BatchSize})
	if err != nil || len(evs) == 0 {
		return false, err
	}
	last := evs[len(evs)-1].Seq
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, ev := range evs {
		if e.wants(ev.Type) {
			if err := enc.Encode(dataOf(ev)); err != nil {
				return false, err
			}
		}
	}
	if body.Len() > 0 {
		// The batch ID names the Seq range, so a retried batch carries the
		// same idempotency key.
		batchID := fmt.Sprintf("%s.%d-%d", e.ID, evs[0].Seq, last)
		r := d.post(ctx, e, batchID, body.Bytes(), "application/x-ndjson")
		// The outcome is recorded even while stopping, so that an
		// acknowledged batch is not sent again.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
		defer cancel()
		if !r.ok() {
			d.cfg.Logger.InfoContext(ctx, "webhook: stream batch failed", "endpoint", e.ID, "kind", r.kind, "err", r.err)
			retryAt = d.cfg.Now().UTC().Add(d.backoff(e.Failures + 1))
			return false, d.endpointFailed(ctx, e)
		}
		if e.Failures > 0 || !e.FailingSince.IsZero() {
			if err := d.cfg.Store.RecordSuccess(ctx, e.ID); err != nil {
				return false, err
			}
		}
	}
	if err := d.cfg.Store.AdvanceStream(ctx, e.ID, d.owner, e.Cursor, last); err != nil {
		return false, err
	}
	return len(evs) == e.BatchSize, nil
}
