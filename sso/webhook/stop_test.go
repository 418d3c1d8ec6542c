package webhook_test

import (
	"context"
	"errors"
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

// stopDuringClaim is a webhook.Store on which a stop arrives while a claim
// is in flight and after the database committed it: like a driver whose
// context is cancelled before the answer is read, it reports the
// cancellation although the claim holds.
type stopDuringClaim struct {
	webhook.Store
	cancel context.CancelFunc
}

func (s stopDuringClaim) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*webhook.Delivery, error) {
	ds, err := s.Store.ClaimDeliveries(context.WithoutCancel(ctx), now, leaseUntil, limit)
	if len(ds) > 0 {
		s.cancel()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return ds, err
}

func (s stopDuringClaim) ClaimStream(ctx context.Context, endpointID, owner string, now, leaseUntil time.Time) (*webhook.Endpoint, bool, error) {
	e, ok, err := s.Store.ClaimStream(context.WithoutCancel(ctx), endpointID, owner, now, leaseUntil)
	if ok {
		s.cancel()
	}
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	return e, ok, err
}

// TestStopDuringClaim: a stop that lands while a claim is being committed
// leaves neither the deliveries nor the SIEM stream it claimed leased to
// the stopped replica (which would hold them back for a whole lease, two
// minutes by default, from the replica that takes over).
func TestStopDuringClaim(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"mem", "sqlite"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backends()[name](t)
			rv := newReceiver(t, func(int, *received) int { return 200 })
			bg := context.Background()
			ctx, cancel := context.WithCancel(bg)
			d, err := webhook.New(config(b, newSealer(t), stopDuringClaim{b.hooks, cancel}, b.events))
			if err != nil {
				t.Fatal(err)
			}
			hook, _, err := d.CreateEndpoint(bg, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			siem, _, err := d.CreateEndpoint(bg, webhook.EndpointInput{OrgID: "org_1", Kind: webhook.KindSIEM, URL: rv.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			appendEvent(t, b.events, "org_1", "user.jit_provisioned")
			for more := true; more; {
				if more, err = d.FanOut(bg); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := d.Deliver(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Deliver: %v", err)
			}
			if ctx.Err() == nil {
				t.Fatal("the delivery pass claimed nothing")
			}
			ds, err := b.hooks.ListDeliveries(bg, webhook.DeliveryQuery{EndpointID: hook.ID})
			if err != nil || len(ds) != 1 || ds[0].Lease != "" {
				t.Fatalf("deliveries after a stop during their claim = %+v, %v; want one, unleased", ds, err)
			}

			ctx, cancel = context.WithCancel(bg)
			d, err = webhook.New(config(b, newSealer(t), stopDuringClaim{b.hooks, cancel}, b.events))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Stream(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("Stream: %v", err)
			}
			if ctx.Err() == nil {
				t.Fatal("the stream pass claimed nothing")
			}
			e, err := b.hooks.GetEndpoint(bg, siem.ID)
			if err != nil || e.LeaseOwner != "" {
				t.Fatalf("SIEM stream after a stop during its claim = %+v, %v; want no lease owner", e, err)
			}
		})
	}
}
