package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memwebhook"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlwebhook"
)

// hookBackend is a store under test with the webhook store on it.
type hookBackend struct {
	name  string
	open  func(t *testing.T) (sso.Store, webhook.Store)
	isSQL bool
}

var hookBackends = []hookBackend{
	{name: "memstore", open: func(t *testing.T) (sso.Store, webhook.Store) {
		ms := memstore.New()
		return ms, memwebhook.New(ms)
	}},
	{name: "sqlite", isSQL: true, open: func(t *testing.T) (sso.Store, webhook.Store) {
		st, err := sqlstore.New(testdb.SQLite(t), sqlstore.SQLite)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st, sqlwebhook.New(st)
	}},
}

// hookFixture is the admin fixture with a webhook Dispatcher on b.
func hookFixture(t *testing.T, b hookBackend) (*fixture, *webhook.Dispatcher) {
	t.Helper()
	st, hooks := b.open(t)
	kr, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var d *webhook.Dispatcher
	f := newFixtureOn(t, st, func(c *admin.Config) {
		d, err = webhook.New(webhook.Config{Store: hooks, Events: st, Sealer: kr, Auditor: c.Auditor,
			AllowPrivateAddresses: true, AllowInsecureURLs: true, MaxAttempts: 2, BackoffBase: 1})
		if err != nil {
			t.Fatal(err)
		}
		c.Webhooks = d
	})
	return f, d
}

// TestWebhookRoutesCrossTenant: organization B, given the IDs of A's
// endpoint and delivery, gets 404 on every webhook route, each attempt is
// audited in B, and nothing of A's changes.
func TestWebhookRoutesCrossTenant(t *testing.T) {
	for _, b := range hookBackends {
		t.Run(b.name, func(t *testing.T) {
			f, d := hookFixture(t, b)
			a, bo := f.orgA, f.orgB
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			defer recv.Close()
			code, m := f.json(a, "POST", "/webhooks", `{"url":"`+recv.URL+`/a","event_types":["scim.user_created"]}`)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %v", code, m)
			}
			ep := m["id"].(string)
			if s, _ := m["secret"].(string); !strings.HasPrefix(s, "whsec_") {
				t.Fatalf("create answered secret %q, want a whsec_ secret once", s)
			}
			f.aud.Record(ctx, &sso.Event{OrgID: a.ID, Type: "scim.user_created", Target: sso.Target{Type: "user", ID: "usr_1"}})
			if _, err := d.FanOut(ctx); err != nil {
				t.Fatal(err)
			}
			ds, _ := d.Deliveries(ctx, webhook.DeliveryQuery{EndpointID: ep})
			if len(ds) != 1 {
				t.Fatalf("%d deliveries, want 1", len(ds))
			}
			dl := ds[0].ID
			_, m = f.json(bo, "POST", "/webhooks", `{"url":"`+recv.URL+`/b"}`)
			bEp := m["id"].(string)

			routes := []struct{ method, path, body string }{
				{"GET", "/webhooks/" + ep, ""},
				{"PATCH", "/webhooks/" + ep, `{"url":"` + recv.URL + `/evil"}`},
				{"POST", "/webhooks/" + ep + "/disable", ""},
				{"POST", "/webhooks/" + ep + "/enable", ""},
				{"POST", "/webhooks/" + ep + "/rotate-secret", `{"overlap_seconds":0}`},
				{"GET", "/webhooks/" + ep + "/deliveries", ""},
				{"GET", "/webhooks/" + ep + "/deliveries/" + dl, ""},
				{"POST", "/webhooks/" + ep + "/deliveries/" + dl + "/redeliver", ""},
				{"GET", "/webhooks/" + bEp + "/deliveries/" + dl, ""},
				{"POST", "/webhooks/" + bEp + "/deliveries/" + dl + "/redeliver", ""},
				{"DELETE", "/webhooks/" + ep, ""},
			}
			before := len(evs(f, bo.ID))
			for _, rt := range routes {
				if code, m := f.json(bo, rt.method, rt.path, rt.body); code != http.StatusNotFound || m["error"] != "not_found" {
					t.Errorf("%s %s: %d %v, want 404 not_found", rt.method, rt.path, code, m)
				}
			}
			if got := len(evs(f, bo.ID)) - before; got != len(routes) {
				t.Errorf("%d cross-tenant events for %d attempts", got, len(routes))
			}
			if _, m := f.json(bo, "GET", "/webhooks", ""); len(m["endpoints"].([]any)) != 1 {
				t.Errorf("B lists %v, want only its own endpoint", m["endpoints"])
			}
			e, err := d.Endpoint(ctx, ep)
			if err != nil || !e.Enabled || e.URL != recv.URL+"/a" {
				t.Fatalf("A's endpoint after B's attempts: %+v %v", e, err)
			}
			got, _ := d.Delivery(ctx, dl)
			if got.Status != ds[0].Status || got.Attempts != ds[0].Attempts {
				t.Fatalf("A's delivery changed: %+v", got)
			}
			if code, m := f.json(a, "GET", "/webhooks/"+ep, ""); code != 200 || m["old_secret_expires_at"] != nil || m["secret"] != nil {
				t.Fatalf("A's endpoint: %d %v, want no rotation", code, m)
			}
		})
	}
}

// TestWebhookRoutesLifecycle: create (secret once, bad fields named),
// list, update, the delivery log with status, attempts and latency
// filtered by status, manual redelivery, disable/enable, secret rotation
// with overlap, delete; every change audited.
func TestWebhookRoutesLifecycle(t *testing.T) {
	for _, b := range hookBackends {
		t.Run(b.name, func(t *testing.T) {
			f, d := hookFixture(t, b)
			a := f.orgA
			var fail atomic.Bool
			fail.Store(true)
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if fail.Load() {
					w.WriteHeader(http.StatusInternalServerError)
				}
			}))
			defer recv.Close()
			for _, c := range []struct{ body, field string }{
				{`{"url":"ftp://hooks.example/x"}`, "url"},
				{`{"url":"https://10.0.0.1/x"}`, ""},
				{`{"url":"` + recv.URL + `","event_types":["nodot"]}`, "event_types"},
				{`{"url":"` + recv.URL + `","timeout_seconds":99}`, "timeout_seconds"},
				{`{"url":"` + recv.URL + `","kind":"bogus"}`, "kind"},
				{`{"url":"` + recv.URL + `","kind":"siem","batch_size":5000}`, "batch_size"},
			} {
				code, m := f.json(a, "POST", "/webhooks", c.body)
				if c.field == "" { // private addresses are allowed in this fixture
					if code != http.StatusCreated {
						t.Fatalf("%s: %d %v", c.body, code, m)
					}
					f.json(a, "DELETE", "/webhooks/"+m["id"].(string), "")
					continue
				}
				if code != http.StatusBadRequest || m["field"] != c.field {
					t.Errorf("%s: %d %v, want 400 naming %s", c.body, code, m, c.field)
				}
			}
			code, m := f.json(a, "POST", "/webhooks", `{"url":"`+recv.URL+`","description":"billing"}`)
			if code != http.StatusCreated || m["all_host_events"] != true || m["enabled"] != true {
				t.Fatalf("create: %d %v", code, m)
			}
			ep, secret := m["id"].(string), m["secret"].(string)
			code, m = f.json(a, "POST", "/webhooks", `{"kind":"siem","url":"`+recv.URL+`/siem","batch_size":50}`)
			if code != http.StatusCreated || m["kind"] != "siem" || m["batch_size"] != float64(50) {
				t.Fatalf("create SIEM stream: %d %v", code, m)
			}
			_, m = f.json(a, "GET", "/webhooks", "")
			if eps := m["endpoints"].([]any); len(eps) != 2 || eps[0].(map[string]any)["secret"] != nil {
				t.Fatalf("list: %v, want two endpoints without secrets", eps)
			}
			code, m = f.json(a, "PATCH", "/webhooks/"+ep, `{"url":"`+recv.URL+`","event_types":["scim.user_created","user.jit_provisioned"]}`)
			if code != http.StatusOK || len(m["event_types"].([]any)) != 2 || m["all_host_events"] != false {
				t.Fatalf("update: %d %v", code, m)
			}
			if code, m = f.json(a, "PATCH", "/webhooks/"+ep, `{"kind":"siem","url":"`+recv.URL+`"}`); code != 400 || m["field"] != "kind" {
				t.Fatalf("kind change: %d %v, want 400 naming kind", code, m)
			}

			f.aud.Record(ctx, &sso.Event{OrgID: a.ID, Type: "scim.user_created", Target: sso.Target{Type: "user", ID: "usr_1"}})
			if _, err := d.FanOut(ctx); err != nil {
				t.Fatal(err)
			}
			for range 2 { // MaxAttempts 2, no backoff: both attempts fail
				if _, err := d.Deliver(ctx); err != nil {
					t.Fatal(err)
				}
			}
			code, m = f.json(a, "GET", "/webhooks/"+ep+"/deliveries?status=failed", "")
			dls, _ := m["deliveries"].([]any)
			if code != 200 || len(dls) != 1 {
				t.Fatalf("failed deliveries: %d %v", code, m)
			}
			dv := dls[0].(map[string]any)
			log := dv["log"].([]any)
			if dv["attempts"] != float64(2) || len(log) != 2 || log[1].(map[string]any)["status_code"] != float64(500) ||
				dv["latency_ms"] == nil || dv["event_type"] != "scim.user_created" {
				t.Fatalf("failed delivery: %v", dv)
			}
			if _, m = f.json(a, "GET", "/webhooks/"+ep+"/deliveries?status=delivered", ""); len(m["deliveries"].([]any)) != 0 {
				t.Fatalf("delivered filter: %v", m)
			}
			for _, q := range []string{"status=bogus", "limit=0", "limit=x"} {
				field := strings.SplitN(q, "=", 2)[0]
				if code, m := f.json(a, "GET", "/webhooks/"+ep+"/deliveries?"+q, ""); code != 400 || m["field"] != field {
					t.Errorf("?%s: %d %v, want 400 naming %s", q, code, m, field)
				}
			}
			fail.Store(false)
			dl := dv["id"].(string)
			code, m = f.json(a, "POST", "/webhooks/"+ep+"/deliveries/"+dl+"/redeliver", "")
			if code != http.StatusAccepted || m["status"] != "pending" || m["attempts"] != float64(0) {
				t.Fatalf("redeliver: %d %v", code, m)
			}
			if _, err := d.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			code, m = f.json(a, "GET", "/webhooks/"+ep+"/deliveries/"+dl, "")
			if code != 200 || m["status"] != "delivered" || len(m["log"].([]any)) != 3 {
				t.Fatalf("after redelivery: %d %v", code, m)
			}

			// Everything since a time: for a receiver that lost what it had.
			for _, since := range []string{`"yesterday"`, `"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"`,
				`"` + time.Now().Add(-31*24*time.Hour).UTC().Format(time.RFC3339) + `"`} {
				if code, m := f.json(a, "POST", "/webhooks/"+ep+"/redeliver", `{"since":`+since+`}`); code != 400 || m["field"] != "since" {
					t.Errorf("since %s: %d %v, want 400 naming since", since, code, m)
				}
			}
			hourAgo := `{"since":"` + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339) + `"}`
			if code, _ := f.json(f.orgB, "POST", "/webhooks/"+ep+"/redeliver", hourAgo); code != http.StatusNotFound {
				t.Fatalf("B redelivers A's endpoint: %d", code)
			}
			code, m = f.json(a, "POST", "/webhooks/"+ep+"/redeliver", hourAgo)
			if code != http.StatusAccepted || m["redelivered"] != float64(1) {
				t.Fatalf("redeliver since: %d %v", code, m)
			}
			if _, err := d.Deliver(ctx); err != nil {
				t.Fatal(err)
			}
			if _, m = f.json(a, "GET", "/webhooks/"+ep+"/deliveries/"+dl, ""); m["status"] != "delivered" || len(m["log"].([]any)) != 4 {
				t.Fatalf("after redelivering since: %v", m)
			}
			if evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: admin.EventWebhookRedelivered}); len(evs) != 2 ||
				evs[1].Details["count"] != "1" || evs[1].Target.ID != ep {
				t.Fatalf("redelivery events %+v, want the bulk one with its count", evs)
			}

			if _, m = f.json(a, "POST", "/webhooks/"+ep+"/disable", ""); m["enabled"] != false || m["disabled_reason"] == "" {
				t.Fatalf("disable: %v", m)
			}
			if _, m = f.json(a, "POST", "/webhooks/"+ep+"/enable", ""); m["enabled"] != true {
				t.Fatalf("enable: %v", m)
			}
			if code, m = f.json(a, "POST", "/webhooks/"+ep+"/rotate-secret", `{"overlap_seconds":-1}`); code != 400 || m["field"] != "overlap_seconds" {
				t.Fatalf("bad overlap: %d %v", code, m)
			}
			code, m = f.json(a, "POST", "/webhooks/"+ep+"/rotate-secret", `{"overlap_seconds":3600}`)
			if s, _ := m["secret"].(string); code != 200 || s == secret || !strings.HasPrefix(s, "whsec_") || m["old_secret_expires_at"] == nil {
				t.Fatalf("rotate: %d %v", code, m)
			}
			if code, _ = f.json(a, "DELETE", "/webhooks/"+ep, ""); code != http.StatusNoContent {
				t.Fatalf("delete: %d", code)
			}
			if code, _ = f.json(a, "GET", "/webhooks/"+ep, ""); code != http.StatusNotFound {
				t.Fatalf("after delete: %d", code)
			}
			for _, typ := range []string{admin.EventWebhookCreated, admin.EventWebhookUpdated, admin.EventWebhookRedelivered,
				admin.EventWebhookDisabledByAdmin, admin.EventWebhookEnabled, admin.EventWebhookSecretRotated, admin.EventWebhookDeleted} {
				got, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: typ})
				if len(got) == 0 || got[0].Actor.Type != sso.ActorAdmin {
					t.Errorf("%s: %d events %v, want one by the admin", typ, len(got), fmt.Sprint(got))
				}
			}
		})
	}
}

// TestWebhookRoutesWithoutDispatcher: a host without webhooks answers
// the routes 404.
func TestWebhookRoutesWithoutDispatcher(t *testing.T) {
	f := newFixture(t)
	if code, m := f.json(f.orgA, "GET", "/webhooks", ""); code != http.StatusNotFound {
		t.Fatalf("GET /webhooks: %d %v, want 404", code, m)
	}
}

// TestWebhookURLChangeAnswersNewSecret: PATCH /webhooks/{id} that moves
// the endpoint to a new URL answers the new receiver's secret (once) and
// audits the old and the new URL; a change that keeps the URL answers no
// secret.
func TestWebhookURLChangeAnswersNewSecret(t *testing.T) {
	for _, b := range hookBackends {
		t.Run(b.name, func(t *testing.T) {
			f, _ := hookFixture(t, b)
			a := f.orgA
			code, m := f.json(a, "POST", "/webhooks", `{"url":"https://hooks.alpha.example/in"}`)
			if code != http.StatusCreated {
				t.Fatalf("create: %d %v", code, m)
			}
			ep, first := m["id"].(string), m["secret"].(string)
			code, m = f.json(a, "PATCH", "/webhooks/"+ep, `{"url":"https://hooks.alpha.example/in","description":"billing"}`)
			if code != http.StatusOK || m["secret"] != nil || m["description"] != "billing" {
				t.Fatalf("same URL: %d %v, want no secret", code, m)
			}
			code, m = f.json(a, "PATCH", "/webhooks/"+ep, `{"url":"https://collector.alpha.example/hook","description":"billing"}`)
			next, _ := m["secret"].(string)
			if code != http.StatusOK || next == "" || next == first || m["url"] != "https://collector.alpha.example/hook" {
				t.Fatalf("new URL: %d %v, want a new secret", code, m)
			}
			if _, m = f.json(a, "GET", "/webhooks/"+ep, ""); m["secret"] != nil {
				t.Fatalf("the secret is shown again: %v", m)
			}
			evs, err := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: admin.EventWebhookUpdated})
			if err != nil || len(evs) != 2 {
				t.Fatalf("update events %v %v, want 2", evs, err)
			}
			if d := evs[1].Details; d["from_url"] != "https://hooks.alpha.example/in" || d["url"] != "https://collector.alpha.example/hook" ||
				d["secret_rotated"] != "true" || evs[1].Target.ID != ep {
				t.Fatalf("URL change audited as %+v", evs[1])
			}
			if _, moved := evs[0].Details["from_url"]; moved {
				t.Fatalf("a change that kept the URL audited as a move: %+v", evs[0])
			}
		})
	}
}
