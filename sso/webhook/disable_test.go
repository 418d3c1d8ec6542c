package webhook_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// TestDeadEndpointDisabled checks that an endpoint failing for
// DisableAfter is disabled with one audit event, that its deliveries wait,
// and that enabling it again delivers them.
func TestDeadEndpointDisabled(t *testing.T) {
	t.Parallel()
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			rv := newReceiver(t, func(int, *received) int { return 502 })
			cfg := config(b, newSealer(t), b.hooks, b.events)
			cfg.DisableAfter = 300 * time.Millisecond
			cfg.BackoffBase, cfg.BackoffMax = 10*time.Millisecond, 50*time.Millisecond
			cfg.MaxAttempts = 1000 // the endpoint, not the deliveries, gives up
			d, err := webhook.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ep, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				appendEvent(t, b.events, "org_1", "connection.disabled")
			}
			run(t, d)
			waitFor(t, 30*time.Second, "endpoint disabled", func() bool {
				e, err := d.Endpoint(ctx, ep.ID)
				return err == nil && !e.Enabled
			})
			e, _ := d.Endpoint(ctx, ep.ID)
			if e.DisabledReason == "" || e.DisabledAt.IsZero() {
				t.Fatalf("disabled endpoint %+v without reason or time", e)
			}
			var evs []*sso.Event
			waitFor(t, 30*time.Second, "the audit event", func() bool {
				evs, err = b.events.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", Type: webhook.EventEndpointDisabled})
				return err != nil || len(evs) > 0
			})
			time.Sleep(50 * time.Millisecond)
			evs, err = b.events.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", Type: webhook.EventEndpointDisabled})
			if err != nil || len(evs) != 1 || evs[0].Target.ID != ep.ID || evs[0].Actor.Type != sso.ActorSystem {
				t.Fatalf("audit events %+v, %v: want one %s for the endpoint", evs, err, webhook.EventEndpointDisabled)
			}
			time.Sleep(100 * time.Millisecond)
			seen := len(rv.requests())
			time.Sleep(200 * time.Millisecond)
			if n := len(rv.requests()); n != seen {
				t.Fatalf("a disabled endpoint got %d more requests", n-seen)
			}

			rv.setRespond(nil)
			if err := d.SetEnabled(ctx, ep.ID, true, ""); err != nil {
				t.Fatal(err)
			}
			// The three waiting events, and the notice of the disabling,
			// which the endpoint receives once it is back.
			waitFor(t, 30*time.Second, "deliveries after re-enabling", func() bool { return delivered(t, d, ep.ID) == 4 })
			ds, err := d.Deliveries(ctx, webhook.DeliveryQuery{EndpointID: ep.ID})
			notices := 0
			for _, dl := range ds {
				if dl.EventType == webhook.EventEndpointDisabled {
					notices++
				}
			}
			if err != nil || len(ds) != 4 || notices != 1 {
				t.Fatalf("deliveries %+v, %v: want the 3 events and one %s", ds, err, webhook.EventEndpointDisabled)
			}
			if e, _ := d.Endpoint(ctx, ep.ID); !e.Enabled || e.Failures != 0 {
				t.Fatalf("re-enabled endpoint %+v: want enabled with failures reset", e)
			}
		})
	}
}

// TestConsecutiveFailuresDisable checks the MaxConsecutiveFailures limit.
func TestConsecutiveFailuresDisable(t *testing.T) {
	t.Parallel()
	b := memBackend(t)
	rv := newReceiver(t, func(int, *received) int { return 500 })
	cfg := config(b, newSealer(t), b.hooks, b.events)
	cfg.MaxConsecutiveFailures = 3
	d, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ep, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	appendEvent(t, b.events, "org_1", "domain.verified")
	run(t, d)
	waitFor(t, 30*time.Second, "endpoint disabled", func() bool { e, _ := d.Endpoint(ctx, ep.ID); return !e.Enabled })
	time.Sleep(100 * time.Millisecond)
	if n := len(rv.requests()); n != 3 {
		t.Fatalf("%d attempts before disabling, want 3", n)
	}
}

// TestEndpointURLPolicy checks the SSRF guard: private, loopback and
// link-local endpoints are refused unless allowed, plain http only to
// loopback in development, and a name that resolves to a blocked address
// is refused when dialled, before a byte is sent.
func TestEndpointURLPolicy(t *testing.T) {
	t.Parallel()
	b := memBackend(t)
	cfg := config(b, newSealer(t), b.hooks, b.events)
	cfg.AllowPrivateAddresses, cfg.AllowInsecureURLs = false, false
	d, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"https://10.0.0.7/hook", "https://127.0.0.1/hook", "https://169.254.169.254/latest",
		"https://localhost/hook", "https://[::1]/hook", "http://example.com/hook", "ftp://example.com/", "https://user:pw@example.com/"} {
		_, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: u})
		var fe *sso.FieldError
		if !errors.Is(err, sso.ErrInvalidInput) || !errors.As(err, &fe) || fe.Field != "url" {
			t.Errorf("CreateEndpoint(%s) = %v, want a url FieldError", u, err)
		}
	}
	if _, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: "https://hooks.example.com/x"}); err != nil {
		t.Fatalf("public https URL refused: %v", err)
	}

	cfg.AllowInsecureURLs = true
	dev, err := webhook.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := dev.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: "http://example.com/hook"}); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("plain http to a public host: %v, want refused", err)
	}

	// A stored endpoint whose host now resolves into the network (DNS
	// rebinding) is refused by the dialer: the receiver sees nothing.
	rv := newReceiver(t, nil)
	e := &webhook.Endpoint{ID: "whe_rebound", OrgID: "org_9", Kind: webhook.KindWebhook, URL: rv.srv.URL, Enabled: true,
		Timeout: time.Second, MaxResponseBytes: 1024, BatchSize: 10, CreatedAt: time.Now().Add(-time.Minute)}
	e.SecretSealed, _ = cfg.Sealer.Seal([]byte(webhook.NewSecret()), []byte(e.ID))
	if err := b.hooks.CreateEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	appendEvent(t, b.events, "org_9", "scim.user_created")
	run(t, dev)
	waitFor(t, 30*time.Second, "a blocked attempt", func() bool {
		ds, _ := dev.Deliveries(ctx, webhook.DeliveryQuery{EndpointID: e.ID})
		if len(ds) != 1 {
			return false
		}
		as, _ := dev.Attempts(ctx, ds[0].ID)
		return len(as) > 0 && as[0].ErrorKind == webhook.ErrorKindBlocked
	})
	if n := len(rv.requests()); n != 0 {
		t.Fatalf("the receiver on a private address got %d requests", n)
	}
}
