package webhook_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// TestEndpointChangeAndEventCommitTogether: on every store an endpoint
// change and the audit event describing it are stored together or not at
// all. The event is refused the way a database constraint refuses it (an
// ID already stored), and the endpoint must stay as it was; a change the
// store refuses leaves no event.
func TestEndpointChangeAndEventCommitTogether(t *testing.T) {
	t.Parallel()
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			if _, ok := b.hooks.(webhook.EventBinder); !ok {
				t.Fatalf("%T is not a webhook.EventBinder", b.hooks)
			}
			ctx := context.Background()
			d, err := webhook.New(config(b, newSealer(t), b.hooks, b.events))
			if err != nil {
				t.Fatal(err)
			}
			taken := appendEvent(t, b.events, "org_1", "test.seeded")
			refused := func() *sso.Event { return &sso.Event{ID: taken.ID, OrgID: "org_1", Type: "webhook.endpoint_updated"} }
			count := func(typ string) int {
				t.Helper()
				evs, err := b.events.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", Type: typ})
				if err != nil {
					t.Fatal(err)
				}
				return len(evs)
			}

			in := webhook.EndpointInput{OrgID: "org_1", URL: "https://hooks.example.com/a"}
			if _, _, err := d.CreateEndpoint(ctx, in, refused()); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("create with a refused event: %v, want ErrConflict", err)
			}
			if eps, _ := d.Endpoints(ctx, "org_1"); len(eps) != 0 {
				t.Fatalf("endpoint %s stored without its event", eps[0].ID)
			}
			ep, _, err := d.CreateEndpoint(ctx, in, &sso.Event{OrgID: "org_1", Type: "webhook.endpoint_created"})
			if err != nil {
				t.Fatal(err)
			}
			if evs, _ := b.events.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", Type: "webhook.endpoint_created"}); len(evs) != 1 || evs[0].Target.ID != ep.ID {
				t.Fatalf("created events %+v, want one naming %s", evs, ep.ID)
			}

			in.URL = "https://attacker.example.net/b"
			if _, _, err := d.UpdateEndpoint(ctx, ep.ID, in, refused()); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("update with a refused event: %v, want ErrConflict", err)
			}
			got, _ := d.Endpoint(ctx, ep.ID)
			if got.URL != "https://hooks.example.com/a" || got.SecretSealed != ep.SecretSealed {
				t.Fatalf("endpoint changed without its event: url %s, secret changed %v", got.URL, got.SecretSealed != ep.SecretSealed)
			}
			if err := d.SetEnabled(ctx, ep.ID, false, "paused", refused()); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("disable with a refused event: %v", err)
			}
			if got, _ := d.Endpoint(ctx, ep.ID); !got.Enabled {
				t.Fatal("endpoint disabled without its event")
			}
			if _, err := d.RotateSecret(ctx, ep.ID, 0, refused()); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("rotation with a refused event: %v", err)
			}
			if err := d.DeleteEndpoint(ctx, ep.ID, refused()); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("delete with a refused event: %v", err)
			}
			if got, err := d.Endpoint(ctx, ep.ID); err != nil || got.SecretSealed != ep.SecretSealed {
				t.Fatalf("endpoint after refused rotation and deletion: %+v %v", got, err)
			}

			// A change the store refuses stores no event.
			if err := d.DeleteEndpoint(ctx, "whe_missing", &sso.Event{OrgID: "org_1", Type: "webhook.endpoint_deleted"}); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("delete of a missing endpoint: %v", err)
			}
			// Switching to the state it has already is no change either.
			if err := d.SetEnabled(ctx, ep.ID, true, "", &sso.Event{OrgID: "org_1", Type: "webhook.endpoint_enabled"}); err != nil {
				t.Fatal(err)
			}
			if n := count("webhook.endpoint_deleted") + count("webhook.endpoint_enabled") + count("webhook.endpoint_updated"); n != 0 {
				t.Fatalf("%d events of changes that were not made", n)
			}
			if err := d.DeleteEndpoint(ctx, ep.ID, &sso.Event{OrgID: "org_1", Type: "webhook.endpoint_deleted"}); err != nil {
				t.Fatal(err)
			}
			if count("webhook.endpoint_deleted") != 1 {
				t.Fatal("the deletion's event is missing")
			}
		})
	}
}

// TestChangedURLGetsNewSecret is the attack of a former receiver: an
// endpoint's URL moves to a new receiver, and the old receiver, which
// knows the old signing secret, must not be able to sign requests the new
// one accepts. The new URL gets a new secret (returned once), the old
// secret stops signing at once even during a rotation overlap, and the
// failures counted against the old receiver are forgotten. An unchanged
// URL keeps its secret.
func TestChangedURLGetsNewSecret(t *testing.T) {
	t.Parallel()
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			ctx := context.Background()
			d, err := webhook.New(config(b, newSealer(t), b.hooks, b.events))
			if err != nil {
				t.Fatal(err)
			}
			old := newReceiver(t, func(int, *received) int { return 500 })
			ep, oldSecret, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: old.srv.URL + "/hook"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.RotateSecret(ctx, ep.ID, time.Hour); err != nil { // an overlap is running
				t.Fatal(err)
			}
			if _, _, err := b.hooks.RecordFailure(ctx, ep.ID, time.Now()); err != nil {
				t.Fatal(err)
			}

			same, secret, err := d.UpdateEndpoint(ctx, ep.ID, webhook.EndpointInput{OrgID: "org_1", URL: old.srv.URL + "/hook", Description: "renamed"})
			if err != nil || secret != "" || same.OldSecretSealed == "" {
				t.Fatalf("unchanged URL: secret %q, overlap kept %v, err %v; want no new secret", secret, same.OldSecretSealed != "", err)
			}

			rv := newReceiver(t, nil)
			moved, secret, err := d.UpdateEndpoint(ctx, ep.ID, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL + "/new"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(secret, "whsec_") || secret == oldSecret {
				t.Fatalf("moved endpoint's secret %q, want a new one", secret)
			}
			stored, _ := d.Endpoint(ctx, ep.ID)
			if stored.OldSecretSealed != "" || !stored.OldSecretExpiresAt.IsZero() || stored.Failures != 0 || !stored.FailingSince.IsZero() {
				t.Fatalf("moved endpoint keeps the old receiver's state: %+v", stored)
			}
			if moved.Failures != 0 {
				t.Fatalf("answer shows %d failures of the old receiver", moved.Failures)
			}

			e := appendEvent(t, b.events, "org_1", "scim.user_created")
			stop := run(t, d)
			waitFor(t, 30*time.Second, "delivery to the new URL", func() bool { return len(rv.requests()) >= 1 })
			stop()
			r := rv.requests()[0]
			if r.id != e.ID || len(strings.Fields(r.sig)) != 1 {
				t.Fatalf("request %s signed %q, want %s with one signature", r.id, r.sig, e.ID)
			}
			if err := verify(secret, r); err != nil {
				t.Fatalf("the new secret does not verify: %v", err)
			}
			if err := verify(oldSecret, r); err == nil {
				t.Fatal("the old receiver's secret verifies a request to the new receiver")
			}
			if n := len(old.requests()); n != 0 {
				t.Fatalf("the old receiver got %d requests after the move", n)
			}
		})
	}
}
