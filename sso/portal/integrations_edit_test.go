package portal_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memwebhook"
)

// TestIntegrationsWebhookEdit walks the edit page of an endpoint: it shows
// the current settings; bad input is refused by field with the typed
// values kept and nothing changed; a save that keeps the URL redirects
// with a notice; a new URL answers a new secret once (the page names the
// old URL, a second submit of the form does not show the secret again),
// forgets the old receiver's failures, is audited with both URLs, and the
// next delivery goes to the new receiver only.
func TestIntegrationsWebhookEdit(t *testing.T) {
	f, d := hookFixture(t)
	oldRC := &receiver{status: http.StatusInternalServerError}
	oldSrv := httptest.NewServer(oldRC)
	t.Cleanup(oldSrv.Close)
	newRC := &receiver{status: http.StatusNoContent}
	newSrv := httptest.NewServer(newRC)
	t.Cleanup(newSrv.Close)
	e, firstSecret, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: f.orgA.ID, URL: oldSrv.URL + "/hook",
		Description: "Old receiver", EventTypes: []string{"domain.added"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := memwebhook.New(f.st.(*memstore.Store)).RecordFailure(ctx, e.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.AllSections...)
	detail := b.get("/integrations/webhooks/" + e.ID)
	if !strings.Contains(detail.Body, `id="hook-edit"`) {
		t.Fatalf("the endpoint page offers no edit: %s", detail.text())
	}
	page := b.get("/integrations/webhooks/" + e.ID + "/edit")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `value="`+oldSrv.URL+`/hook"`) ||
		!strings.Contains(page.Body, `value="domain.added" checked`) || !strings.Contains(page.Body, `value="Old receiver"`) {
		t.Fatalf("edit page %d lacks the current settings: %s", page.Status, page.text())
	}
	if !strings.Contains(page.text(), "A new address gets a new signing secret") {
		t.Fatal("the edit page does not say what a new URL does to the secret")
	}

	for _, c := range []struct{ field, url, types, timeout string }{
		{"url", "ftp://hooks.example/x", "domain.added", ""},
		{"event_types", oldSrv.URL + "/hook", "nodot", ""},
		{"timeout_seconds", oldSrv.URL + "/hook", "domain.added", "soon"},
		{"timeout_seconds", oldSrv.URL + "/hook", "domain.added", "99"},
	} {
		tok := formOf(t, b.get("/integrations/webhooks/"+e.ID+"/edit").Body, "/edit")
		r := b.post("/integrations/webhooks/"+e.ID+"/edit", b.form("url", c.url, "description", "typed", "event_types", c.types,
			"timeout_seconds", c.timeout, "form", tok))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `name="`+c.field+`"`) ||
			!strings.Contains(r.Body, `class="warn-text"`) || !strings.Contains(r.Body, `value="typed"`) {
			t.Errorf("%s %q: %d, want 400 marking %s with the typed values kept: %s", c.field, c.url+c.types+c.timeout, r.Status, c.field, r.text())
		}
	}
	if got, _ := d.Endpoint(ctx, e.ID); got.URL != e.URL || got.Description != "Old receiver" || !got.UpdatedAt.Equal(e.UpdatedAt) {
		t.Fatalf("refused edits changed the endpoint: %+v", got)
	}

	tok := formOf(t, b.get("/integrations/webhooks/"+e.ID+"/edit").Body, "/edit")
	r := b.post("/integrations/webhooks/"+e.ID+"/edit", b.form("url", oldSrv.URL+"/hook", "description", "Billing receiver",
		"event_types", "domain.added", "event_types", "domain.verified", "timeout_seconds", "5", "form", tok))
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "done=hook_saved") {
		t.Fatalf("save keeping the URL: %d %s %s", r.Status, r.Header.Get("Location"), r.text())
	}
	if shown := b.get("/integrations/webhooks/" + e.ID + "?done=hook_saved"); !strings.Contains(shown.text(), "Endpoint saved") || secretRE.MatchString(shown.Body) ||
		!strings.Contains(shown.text(), "5 seconds") {
		t.Fatalf("after saving: %s", shown.text())
	}
	got, _ := d.Endpoint(ctx, e.ID)
	if got.Description != "Billing receiver" || len(got.EventTypes) != 2 || got.Timeout != 5*time.Second || got.SecretSealed != e.SecretSealed {
		t.Fatalf("saved endpoint %+v, want the new settings and the same secret", got)
	}

	tok = formOf(t, b.get("/integrations/webhooks/"+e.ID+"/edit").Body, "/edit")
	form := b.form("url", newSrv.URL+"/in", "description", "Billing receiver", "event_types", "domain.added", "form", tok)
	moved := b.post("/integrations/webhooks/"+e.ID+"/edit", form)
	m := secretRE.FindStringSubmatch(moved.Body)
	if moved.Status != http.StatusOK || m == nil || m[1] == firstSecret || !strings.Contains(moved.text(), "moved from "+oldSrv.URL+"/hook") ||
		!strings.Contains(moved.text(), "you will not see it again") {
		t.Fatalf("move: %d, secret shown=%v: %s", moved.Status, m != nil, moved.text())
	}
	again := b.post("/integrations/webhooks/"+e.ID+"/edit", form)
	if again.Status != http.StatusSeeOther || !strings.Contains(again.Header.Get("Location"), "done=duplicate") {
		t.Fatalf("second submit of the move: %d %s", again.Status, again.Header.Get("Location"))
	}
	if shown := b.get("/integrations/webhooks/" + e.ID); strings.Contains(shown.Body, m[1]) {
		t.Fatal("the new secret was rendered a second time")
	}
	got, _ = d.Endpoint(ctx, e.ID)
	if got.URL != newSrv.URL+"/in" || got.Failures != 0 || got.OldSecretSealed != "" {
		t.Fatalf("moved endpoint %+v, want the new URL without the old receiver's failures or secret", got)
	}
	evs := f.events(f.orgA, admin.EventWebhookUpdated)
	if len(evs) != 2 || evs[1].Details["from_url"] != oldSrv.URL+"/hook" || evs[1].Details["url"] != newSrv.URL+"/in" {
		t.Fatalf("update events %+v, want the move audited with both URLs", evs)
	}

	if r := b.post("/domains", b.form("name", "hooks.example")); r.Status != http.StatusSeeOther {
		t.Fatalf("add domain: %d", r.Status)
	}
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	if _, err := d.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	newRC.mu.Lock()
	oldRC.mu.Lock()
	gotNew, gotOld := len(newRC.got), len(oldRC.got)
	oldRC.mu.Unlock()
	newRC.mu.Unlock()
	if gotNew != 1 || gotOld != 0 {
		t.Fatalf("deliveries: new receiver %d, old receiver %d; want 1 and 0", gotNew, gotOld)
	}
}

// TestIntegrationsWebhookEditEgress: the edit page is held to the same
// egress policy as the admin API, so an endpoint cannot be moved to a
// private address (an attacker's way to reach the host's internal network
// with signed requests) nor to plain http; another organization's admin
// cannot open or save A's endpoint.
func TestIntegrationsWebhookEditEgress(t *testing.T) {
	kr, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var d *webhook.Dispatcher
	f := newFixture(t, func(c *portal.Config) {
		ms := c.Admin.Store.(*memstore.Store)
		d, err = webhook.New(webhook.Config{Store: memwebhook.New(ms), Events: ms, Sealer: kr, Auditor: c.Admin.Auditor, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Admin.Webhooks = d
	})
	e, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: f.orgA.ID, URL: "https://hooks.alpha.example/in"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionIntegrations)
	for _, u := range []string{"https://10.0.0.1/in", "https://127.0.0.1/in", "https://[::1]/in", "https://169.254.169.254/latest",
		"http://hooks.alpha.example/in"} {
		tok := formOf(t, b.get("/integrations/webhooks/"+e.ID+"/edit").Body, "/edit")
		r := b.post("/integrations/webhooks/"+e.ID+"/edit", b.form("url", u, "form", tok))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `id="hook-url" name="url" type="url" value="`+u+`" aria-describedby="url-help" aria-invalid="true"`) {
			t.Errorf("move to %s: %d, want 400 marking the URL: %s", u, r.Status, r.text())
		}
	}
	if got, _ := d.Endpoint(ctx, e.ID); got.URL != e.URL || got.SecretSealed != e.SecretSealed {
		t.Fatalf("a refused move changed the endpoint: %s", got.URL)
	}

	bb, _ := f.open(f.orgB, portal.SectionIntegrations)
	if r := bb.get("/integrations/webhooks/" + e.ID + "/edit"); r.Status != http.StatusNotFound {
		t.Fatalf("B opens A's edit page: %d", r.Status)
	}
	if r := bb.post("/integrations/webhooks/"+e.ID+"/edit", bb.form("url", "https://hooks.beta.example/in", "form", opaque.NewToken(16))); r.Status != http.StatusNotFound {
		t.Fatalf("B saves A's endpoint: %d", r.Status)
	}
	if got, _ := d.Endpoint(ctx, e.ID); got.URL != e.URL {
		t.Fatalf("B moved A's endpoint to %s", got.URL)
	}
}

// TestIntegrationsRedeliverSince: the endpoint page sends every delivery
// of a recent period again (a receiver that lost what it had accepted gets
// it again), refuses a period it does not offer, and a SIEM stream, which
// has no deliveries, does not offer it.
func TestIntegrationsRedeliverSince(t *testing.T) {
	f, d := hookFixture(t)
	rc := &receiver{status: http.StatusNoContent}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	e, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: f.orgA.ID, URL: srv.URL + "/hook", EventTypes: []string{"domain.added"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.AllSections...)
	if r := b.post("/domains", b.form("name", "hooks.example")); r.Status != http.StatusSeeOther {
		t.Fatalf("add domain: %d", r.Status)
	}
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	if _, err := d.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if page := b.get("/integrations/webhooks/" + e.ID); !strings.Contains(page.text(), "Send all again") {
		t.Fatalf("the endpoint page does not offer to send a period again: %s", page.text())
	}
	if r := b.post("/integrations/webhooks/"+e.ID+"/redeliver", b.form("window", "31536000")); r.Status != http.StatusBadRequest {
		t.Fatalf("a period not offered: %d", r.Status)
	}
	r := b.post("/integrations/webhooks/"+e.ID+"/redeliver", b.form("window", "86400"))
	if r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "done=redelivered_all") {
		t.Fatalf("send again: %d %s", r.Status, r.Header.Get("Location"))
	}
	f.clock.Add(time.Minute)
	if _, err := d.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	n := len(rc.got)
	rc.mu.Unlock()
	if n != 2 {
		t.Fatalf("the receiver got %d requests, want the delivery and its resend", n)
	}
	if evs := f.events(f.orgA, admin.EventWebhookRedelivered); len(evs) != 1 || evs[0].Details["count"] != "1" {
		t.Fatalf("redelivery events %+v", evs)
	}
	siem, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: f.orgA.ID, Kind: webhook.KindSIEM, URL: srv.URL + "/siem"})
	if err != nil {
		t.Fatal(err)
	}
	page := b.get("/integrations/webhooks/" + siem.ID)
	if strings.Contains(page.text(), "Send all again") {
		t.Fatal("a SIEM stream offers to send deliveries again")
	}
	if !strings.Contains(page.text(), "none yet: the stream sends the events recorded since it was created") {
		t.Fatalf("the SIEM stream's page does not say where it stands: %s", page.text())
	}
}

// TestIntegrationsSIEMEdit: a SIEM stream's edit page has its batch size;
// a save changes it (an out-of-range size is refused by name) and keeps
// the stream a SIEM stream whatever the form says.
func TestIntegrationsSIEMEdit(t *testing.T) {
	f, d := hookFixture(t)
	e, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: f.orgA.ID, Kind: webhook.KindSIEM, URL: "https://siem.alpha.example/in", BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionIntegrations)
	page := b.get("/integrations/webhooks/" + e.ID + "/edit")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `id="hook-batch" name="batch_size" inputmode="numeric" value="50"`) ||
		!strings.Contains(page.text(), "Pick none to stream every event") {
		t.Fatalf("SIEM edit page %d: %s", page.Status, page.text())
	}
	tok := formOf(t, page.Body, "/edit")
	if r := b.post("/integrations/webhooks/"+e.ID+"/edit", b.form("url", e.URL, "batch_size", "100000", "form", tok)); r.Status != http.StatusBadRequest ||
		!strings.Contains(r.Body, `id="hook-batch" name="batch_size" inputmode="numeric" value="100000" aria-describedby="batch-help" aria-invalid="true"`) {
		t.Fatalf("batch size out of range: %d %s", r.Status, r.text())
	}
	tok = formOf(t, b.get("/integrations/webhooks/"+e.ID+"/edit").Body, "/edit")
	if r := b.post("/integrations/webhooks/"+e.ID+"/edit", b.form("url", e.URL, "kind", "webhook", "batch_size", "200", "form", tok)); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	if got, _ := d.Endpoint(ctx, e.ID); got.Kind != webhook.KindSIEM || got.BatchSize != 200 || got.SecretSealed != e.SecretSealed {
		t.Fatalf("saved stream %+v, want a SIEM stream with batch size 200 and its secret", got)
	}
}
