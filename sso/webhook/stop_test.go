package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso/webhook"
)

// cancelOnClaim is a webhook.Store that cancels a context right after each
// successful claim: the Dispatcher is stopped between claiming deliveries
// and sending them.
type cancelOnClaim struct {
	webhook.Store
	cancel context.CancelFunc
}

func (c cancelOnClaim) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*webhook.Delivery, error) {
	ds, err := c.Store.ClaimDeliveries(ctx, now, leaseUntil, limit)
	if len(ds) > 0 {
		c.cancel()
	}
	return ds, err
}

// TestStopAfterClaim: deliveries claimed by a pass that is stopped before
// sending them are still attempted in that pass, not left leased (and so
// held back for a whole lease, two minutes by default).
func TestStopAfterClaim(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"mem", "sqlite"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backends()[name](t)
			rv := newReceiver(t, func(int, *received) int { return 200 })
			bg := context.Background()
			ctx, cancel := context.WithCancel(bg)
			d, err := webhook.New(config(b, newSealer(t), cancelOnClaim{b.hooks, cancel}, b.events))
			if err != nil {
				t.Fatal(err)
			}
			ep, _, err := d.CreateEndpoint(bg, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			appendEvent(t, b.events, "org_1", "user.jit_provisioned")
			for more := true; more; {
				if more, err = d.FanOut(bg); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := d.Deliver(ctx); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if ctx.Err() == nil {
				t.Fatal("the pass claimed nothing")
			}
			ds, err := b.hooks.ListDeliveries(bg, webhook.DeliveryQuery{EndpointID: ep.ID})
			if err != nil || len(ds) != 1 || ds[0].Status != webhook.StatusDelivered || ds[0].Lease != "" {
				t.Fatalf("deliveries after a stopped pass = %+v, %v; want one delivered, unleased", ds, err)
			}
			if n := len(rv.requests()); n != 1 {
				t.Fatalf("receiver saw %d requests, want 1", n)
			}
		})
	}
}
