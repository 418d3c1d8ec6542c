package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// fanOutBatch is the most events one fan-out transaction handles, and
// endpointPage the endpoints one pass reads at a time.
const (
	fanOutBatch  = 500
	endpointPage = 100
)

// FanOut runs one fan-out pass over every enabled webhook endpoint: it
// turns the events after each endpoint's cursor into deliveries (one batch
// per endpoint) and reports whether an endpoint has more. Run calls it; a
// host may call it to deliver without waiting for the poll.
func (d *Dispatcher) FanOut(ctx context.Context) (bool, error) {
	more := false
	var errs []error
	after := ""
	for {
		eps, err := d.cfg.Store.ListEnabledEndpoints(ctx, KindWebhook, after, endpointPage)
		if err != nil {
			return more, err
		}
		for _, e := range eps {
			full, err := d.fanOutEndpoint(ctx, e)
			if err != nil {
				if ctx.Err() != nil {
					return more, err
				}
				errs = append(errs, fmt.Errorf("webhook: fan out to endpoint %s: %w", e.ID, err))
			}
			more = more || full
		}
		if len(eps) < endpointPage {
			return more, errors.Join(errs...)
		}
		after = eps[len(eps)-1].ID
	}
}

// fanOutEndpoint moves one batch of events after e's cursor into
// deliveries and reports whether the batch was full. A replica that lost
// the race for the cursor writes nothing.
func (d *Dispatcher) fanOutEndpoint(ctx context.Context, e *Endpoint) (bool, error) {
	evs, err := d.cfg.Events.ListEvents(ctx, sso.EventQuery{OrgID: e.OrgID, AfterSeq: e.Cursor,
		Since: e.CreatedAt, Limit: fanOutBatch})
	if err != nil || len(evs) == 0 {
		return false, err
	}
	now := d.cfg.Now().UTC()
	var ds []*Delivery
	for _, ev := range evs {
		if !e.wants(ev.Type) {
			continue
		}
		body, err := messageOf(ev)
		if err != nil {
			return false, err
		}
		ds = append(ds, &Delivery{ID: opaque.NewID("whd_"), EndpointID: e.ID, OrgID: e.OrgID, EventID: ev.ID,
			EventType: ev.Type, Seq: ev.Seq, Payload: body, Status: StatusPending, NextAttemptAt: now, CreatedAt: now})
	}
	err = d.cfg.Store.FanOut(ctx, e.ID, e.Cursor, evs[len(evs)-1].Seq, ds)
	if errors.Is(err, sso.ErrConflict) {
		return true, nil // another replica fanned this batch out; look again
	}
	return len(evs) == fanOutBatch, err
}
