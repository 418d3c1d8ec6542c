package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// TestSignedDelivery checks that a receiver verifies every delivery with
// an independent Standard Webhooks verifier, that webhook-id is the event
// ID, that only host-relevant types are sent by default, and that during a
// secret rotation both secrets sign.
func TestSignedDelivery(t *testing.T) {
	t.Parallel()
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			rv := newReceiver(t, nil)
			d, err := webhook.New(config(b, newSealer(t), b.hooks, b.events))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ep, secret, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL + "/hook"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, "whsec_") || strings.Contains(ep.SecretSealed, strings.TrimPrefix(secret, "whsec_")) {
				t.Fatalf("secret %q / sealed %q: want whsec_ and not stored in clear", secret, ep.SecretSealed)
			}
			want := map[string]string{}
			for _, typ := range []string{"scim.user_created", "login.succeeded", "domain.verified", "membership.roles_changed"} {
				e := appendEvent(t, b.events, "org_1", typ)
				if typ != "login.succeeded" {
					want[e.ID] = typ
				}
			}
			appendEvent(t, b.events, "org_2", "scim.user_created") // another organization
			stop := run(t, d)
			waitFor(t, 30*time.Second, "3 deliveries", func() bool { return len(rv.requests()) >= 3 })
			time.Sleep(50 * time.Millisecond) // nothing more may come
			reqs := rv.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want 3 (login.succeeded and org_2 filtered out)", len(reqs))
			}
			for _, r := range reqs {
				if err := verify(secret, r); err != nil {
					t.Fatalf("request %s: %v", r.id, err)
				}
				var m webhook.Message
				if err := json.Unmarshal(r.body, &m); err != nil {
					t.Fatal(err)
				}
				if want[r.id] != m.Type || m.Data.ID != r.id || m.Data.OrgID != "org_1" || m.Data.Seq == 0 {
					t.Fatalf("request %s carries %+v, want event of type %q", r.id, m, want[r.id])
				}
				if err := verify(webhook.NewSecret(), r); err == nil {
					t.Fatal("a foreign secret verified the signature")
				}
			}

			newSecret, err := d.RotateSecret(ctx, ep.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			e := appendEvent(t, b.events, "org_1", "connection.activated")
			waitFor(t, 30*time.Second, "delivery after rotation", func() bool { return delivered(t, d, ep.ID) == 4 })
			stop()
			r := rv.requests()[3]
			if r.id != e.ID || len(strings.Fields(r.sig)) != 2 {
				t.Fatalf("after rotation got id %s signature %q, want %s with two signatures", r.id, r.sig, e.ID)
			}
			if verify(secret, r) != nil || verify(newSecret, r) != nil {
				t.Fatal("during the overlap both the old and the new secret must verify")
			}
			dls, err := d.Deliveries(ctx, webhook.DeliveryQuery{EndpointID: ep.ID})
			if err != nil || len(dls) != 4 {
				t.Fatalf("delivery log: %d, %v; want 4", len(dls), err)
			}
			for _, dl := range dls {
				as, err := d.Attempts(ctx, dl.ID)
				if dl.Status != webhook.StatusDelivered || err != nil || len(as) != 1 || as[0].StatusCode != 200 || as[0].Latency <= 0 {
					t.Fatalf("delivery %+v attempts %+v %v: want delivered once with status and latency", dl, as, err)
				}
			}
		})
	}
}

// TestRetriesThroughFailures checks that a delivery is retried through
// 500s and a timeout until it succeeds, that every attempt is logged with
// its kind, and that the delay between attempts grows exponentially.
func TestRetriesThroughFailures(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"mem", "sqlite"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backends()[name](t)
			rv := newReceiver(t, func(n int, _ *received) int {
				switch n {
				case 0, 2:
					return 500
				case 1:
					time.Sleep(300 * time.Millisecond) // past the endpoint's timeout
					return 200
				}
				return 204
			})
			cfg := config(b, newSealer(t), b.hooks, b.events)
			cfg.BackoffBase = 40 * time.Millisecond
			d, err := webhook.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu       sync.Mutex
				ceilings []time.Duration
			)
			webhook.SetJitter(d, func(c time.Duration) time.Duration {
				mu.Lock()
				ceilings = append(ceilings, c)
				mu.Unlock()
				return c
			})
			ctx := context.Background()
			ep, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL, Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			e := appendEvent(t, b.events, "org_1", "scim.user_updated")
			run(t, d)
			var dl *webhook.Delivery
			waitFor(t, 30*time.Second, "delivered", func() bool {
				ds, err := d.Deliveries(ctx, webhook.DeliveryQuery{EndpointID: ep.ID})
				if err != nil || len(ds) != 1 {
					return false
				}
				dl = ds[0]
				return dl.Status == webhook.StatusDelivered
			})
			if dl.Attempts != 4 || dl.EventID != e.ID || dl.LastStatus != 204 {
				t.Fatalf("delivery %+v: want 4 attempts ending in 204", dl)
			}
			as, err := d.Attempts(ctx, dl.ID)
			if err != nil || len(as) != 4 {
				t.Fatalf("attempts %+v %v, want 4", as, err)
			}
			kinds := []string{webhook.ErrorKindStatus, webhook.ErrorKindTimeout, webhook.ErrorKindStatus, ""}
			for i, a := range as {
				if a.ErrorKind != kinds[i] || a.Number != i+1 {
					t.Fatalf("attempt %d = %+v, want kind %q", i+1, a, kinds[i])
				}
			}
			// The backoff asked for after attempt n is 40ms*2^(n-1), and the
			// next attempt never starts before it has passed.
			mu.Lock()
			got := append([]time.Duration(nil), ceilings...)
			mu.Unlock()
			if len(got) != 3 || got[0] != 40*time.Millisecond || got[1] != 80*time.Millisecond || got[2] != 160*time.Millisecond {
				t.Fatalf("backoff ceilings %v, want [40ms 80ms 160ms]", got)
			}
			for i := 1; i < len(as); i++ {
				if wait := as[i].At.Sub(as[i-1].At.Add(as[i-1].Latency)); wait < got[i-1]-2*time.Millisecond {
					t.Fatalf("attempt %d started %s after attempt %d ended, before its backoff %s", i+1, wait, i, got[i-1])
				}
			}
			if n := len(rv.requests()); n != 4 {
				t.Fatalf("receiver saw %d requests, want 4", n)
			}
		})
	}
}

// TestBackoffFullJitter checks the delay bounds: uniformly below the
// exponential ceiling, capped by BackoffMax.
func TestBackoffFullJitter(t *testing.T) {
	b := memBackend(t)
	cfg := config(b, newSealer(t), b.hooks, b.events)
	cfg.BackoffBase, cfg.BackoffMax = time.Second, 10*time.Second
	d, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for n, ceil := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 10 * time.Second, 80: 10 * time.Second} {
		var maxSeen time.Duration
		for range 2000 {
			w := webhook.Backoff(d, n)
			if w < 0 || w >= ceil {
				t.Fatalf("backoff after %d failures = %s, want in [0, %s)", n, w, ceil)
			}
			maxSeen = max(maxSeen, w)
		}
		if maxSeen < ceil*3/4 {
			t.Fatalf("backoff after %d failures never above %s of %s: not full jitter", n, maxSeen, ceil)
		}
	}
}

// TestRestartMidBackoff stops a Dispatcher while a delivery waits out its
// backoff, starts a new one on the same database, and checks the event is
// delivered exactly once more.
func TestRestartMidBackoff(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backends()[name](t)
			rv := newReceiver(t, func(int, *received) int { return 500 })
			sealer := newSealer(t)
			cfg := config(b, sealer, b.hooks, b.events)
			// Long enough that a loaded machine does not reach the retry before
			// the stop below.
			cfg.BackoffBase = 3 * time.Second
			d1, err := webhook.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			webhook.SetJitter(d1, func(c time.Duration) time.Duration { return c })
			ctx := context.Background()
			ep, _, err := d1.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			e := appendEvent(t, b.events, "org_1", "user.jit_provisioned")
			stop := run(t, d1)
			waitFor(t, 30*time.Second, "first failed attempt logged", func() bool {
				ds, err := b.hooks.ListDeliveries(ctx, webhook.DeliveryQuery{EndpointID: ep.ID})
				return err == nil && len(ds) == 1 && ds[0].Attempts == 1
			})
			stop() // mid-backoff
			rv.setRespond(nil)
			if n := len(rv.requests()); n != 1 {
				t.Fatalf("%d requests before the restart, want 1", n)
			}

			hooks, events := b.reopen(t)
			d2, err := webhook.New(config(b, sealer, hooks, events))
			if err != nil {
				t.Fatal(err)
			}
			run(t, d2)
			waitFor(t, 30*time.Second, "delivery after restart", func() bool {
				ds, err := hooks.ListDeliveries(ctx, webhook.DeliveryQuery{EndpointID: ep.ID})
				return err == nil && len(ds) == 1 && ds[0].Status == webhook.StatusDelivered
			})
			time.Sleep(100 * time.Millisecond)
			reqs := rv.requests()
			if len(reqs) != 2 || reqs[0].id != e.ID || reqs[1].id != e.ID || reqs[1].status != 200 {
				t.Fatalf("receiver saw %d requests %+v, want the event failed once then delivered once", len(reqs), reqs)
			}
		})
	}
}

// TestRedeliver checks manual redelivery of one delivery and of everything
// since a time.
func TestRedeliver(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"mem", "sqlite"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backends()[name](t)
			rv := newReceiver(t, nil)
			d, err := webhook.New(config(b, newSealer(t), b.hooks, b.events))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ep, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now().Add(-time.Second)
			for range 3 {
				appendEvent(t, b.events, "org_1", "scim.user_created")
			}
			run(t, d)
			waitFor(t, 30*time.Second, "3 deliveries", func() bool { return len(rv.requests()) == 3 })
			ds, err := d.Deliveries(ctx, webhook.DeliveryQuery{EndpointID: ep.ID, Limit: 1})
			if err != nil || len(ds) != 1 {
				t.Fatal(ds, err)
			}
			if err := d.Redeliver(ctx, ep.ID, ds[0].ID); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "redelivery", func() bool { return len(rv.requests()) == 4 })
			if got := rv.requests()[3].id; got != ds[0].EventID {
				t.Fatalf("redelivered %s, want %s", got, ds[0].EventID)
			}
			if err := d.Redeliver(ctx, "whe_other", ds[0].ID); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("redeliver through another endpoint: %v, want ErrNotFound", err)
			}
			n, err := d.RedeliverSince(ctx, ep.ID, start)
			if err != nil || n != 3 {
				t.Fatalf("RedeliverSince = %d, %v; want 3", n, err)
			}
			waitFor(t, 30*time.Second, "redelivery since", func() bool { return len(rv.requests()) == 7 })
		})
	}
}

// delivered counts the endpoint's delivered deliveries.
func delivered(t testing.TB, d *webhook.Dispatcher, endpointID string) int {
	ds, err := d.Deliveries(context.Background(), webhook.DeliveryQuery{EndpointID: endpointID, Status: webhook.StatusDelivered, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}
