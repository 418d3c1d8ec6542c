package portal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memwebhook"
)

// hookFixture is the portal fixture with a real webhook Dispatcher (on the
// memstore) and API clients.
func hookFixture(t *testing.T) (*fixture, *webhook.Dispatcher) {
	f, d, _ := hookFixtureTrail(t)
	return f, d
}

// hookFixtureTrail is hookFixture, also returning the audit trail the
// Dispatcher reads.
func hookFixtureTrail(t *testing.T) (*fixture, *webhook.Dispatcher, *audit.Trail) {
	t.Helper()
	kr, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var d *webhook.Dispatcher
	var trail *audit.Trail
	f := newFixture(t, func(c *portal.Config) {
		trail = c.Admin.Auditor
		ms := c.Admin.Store.(*memstore.Store)
		d, err = webhook.New(webhook.Config{Store: memwebhook.New(ms), Events: ms, Sealer: kr, Auditor: c.Admin.Auditor,
			AllowPrivateAddresses: true, AllowInsecureURLs: true, MaxAttempts: 2, BackoffBase: 1, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Admin.Webhooks = d
		c.Admin.Clients = newClients()
	})
	return f, d, trail
}

// receiver is a loopback webhook receiver answering status.
type receiver struct {
	mu     sync.Mutex
	status int
	got    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, string(b))
	w.WriteHeader(rc.status)
}

var secretRE = regexp.MustCompile(`id="(?:hook|client)-secret" value="([^"]+)"`)

func formOf(t *testing.T, body, action string) string {
	t.Helper()
	m := regexp.MustCompile(`action="[^"]*` + regexp.QuoteMeta(action) + `"[^>]*>\s*<input type="hidden" name="csrf" value="[^"]+"><input type="hidden" name="form" value="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form token for %s", action)
	}
	return m[1]
}

// TestIntegrationsWebhookLifecycle walks an endpoint through the pages: it
// is created with its secret shown once (a second submit of the same form
// does not show it again), receives a real delivery on a loopback
// receiver, lists it in the delivery log with its filter, redelivers it,
// is disabled, enabled, rotated and deleted after a confirmation naming it.
func TestIntegrationsWebhookLifecycle(t *testing.T) {
	f, d := hookFixture(t)
	rc := &receiver{status: http.StatusInternalServerError}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	b, _ := f.open(f.orgA, portal.AllSections...)

	page := b.get("/integrations")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `value="domain.added"`) {
		t.Fatalf("integrations page %d lacks the event type picker: %s", page.Status, page.text())
	}
	tok := formOf(t, page.Body, "/integrations/webhooks")
	form := b.form("kind", "webhook", "url", srv.URL+"/hook", "description", "Our receiver", "event_types", "domain.added", "form", tok)
	r := b.post("/integrations/webhooks", form)
	m := secretRE.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil || !strings.Contains(r.text(), "you will not see it again") {
		t.Fatalf("create: %d, secret shown=%v: %s", r.Status, m != nil, r.text())
	}
	secret := m[1]
	again := b.post("/integrations/webhooks", form)
	if again.Status != http.StatusSeeOther || !strings.Contains(again.Header.Get("Location"), "done=duplicate") {
		t.Fatalf("second submit: %d %s", again.Status, again.Header.Get("Location"))
	}
	if list := b.get("/integrations?done=duplicate"); strings.Contains(list.Body, secret) {
		t.Fatal("the secret was rendered a second time")
	}
	eps, _ := d.Endpoints(ctx, f.orgA.ID)
	if len(eps) != 1 {
		t.Fatalf("endpoints after a double submit: %d, want 1", len(eps))
	}
	id := eps[0].ID
	if detail := b.get("/integrations/webhooks/" + id); strings.Contains(detail.Body, secret) || !strings.Contains(detail.text(), "No deliveries yet") {
		t.Fatalf("detail shows the secret or a log: %s", detail.text())
	}

	// A real event, fanned out and delivered to the receiver (answering 500).
	if r := b.post("/domains", b.form("name", "hooks.example")); r.Status != http.StatusSeeOther {
		t.Fatalf("add domain: %d", r.Status)
	}
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		f.clock.Add(time.Minute)
		if _, err := d.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
	}
	detail := b.get("/integrations/webhooks/" + id)
	if !strings.Contains(detail.text(), "domain.added") || !strings.Contains(detail.text(), "HTTP 500") || !strings.Contains(detail.text(), "Send again") {
		t.Fatalf("delivery log lacks the failed attempt: %s", detail.text())
	}
	if r := b.get("/integrations/webhooks/" + id + "?status=delivered"); !strings.Contains(r.text(), "No delivered deliveries") {
		t.Fatalf("status filter: %s", r.text())
	}
	dl, err := d.Deliveries(ctx, webhook.DeliveryQuery{EndpointID: id})
	if err != nil || len(dl) != 1 {
		t.Fatalf("deliveries: %v %d", err, len(dl))
	}
	rc.mu.Lock()
	rc.status = http.StatusNoContent
	rc.mu.Unlock()
	if r := b.post("/integrations/webhooks/"+id+"/deliveries/"+dl[0].ID+"/redeliver", b.form()); r.Status != http.StatusSeeOther {
		t.Fatalf("redeliver: %d %s", r.Status, r.text())
	}
	f.clock.Add(time.Minute)
	if _, err := d.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/integrations/webhooks/" + id + "?status=delivered"); !strings.Contains(r.text(), "HTTP 204") {
		t.Fatalf("redelivered delivery not in the delivered log: %s", r.text())
	}

	if r := b.post("/integrations/webhooks/"+id+"/disable", b.form()); r.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.Status)
	}
	if e, _ := d.Endpoint(ctx, id); e.Enabled {
		t.Fatal("endpoint still enabled")
	}
	if r := b.post("/integrations/webhooks/"+id+"/enable", b.form()); r.Status != http.StatusSeeOther {
		t.Fatalf("enable: %d", r.Status)
	}
	detail = b.get("/integrations/webhooks/" + id)
	rot := b.post("/integrations/webhooks/"+id+"/rotate", b.form("overlap", "86400", "form", formOf(t, detail.Body, "/rotate")))
	m = secretRE.FindStringSubmatch(rot.Body)
	if rot.Status != http.StatusOK || m == nil || m[1] == secret || !strings.Contains(rot.text(), "The old secret also signs until") {
		t.Fatalf("rotate: %d %s", rot.Status, rot.text())
	}
	if r := b.post("/integrations/webhooks/"+id+"/rotate", b.form("overlap", "999", "form", opaque.NewToken(16))); r.Status != http.StatusBadRequest {
		t.Fatalf("rotate with an overlap not offered: %d", r.Status)
	}

	conf := b.post("/integrations/webhooks/"+id+"/delete", b.form())
	if conf.Status != http.StatusOK || !strings.Contains(conf.text(), srv.URL+"/hook") {
		t.Fatalf("delete confirmation does not name the endpoint: %s", conf.text())
	}
	if _, err := d.Endpoint(ctx, id); err != nil {
		t.Fatal("deleted before the confirmation")
	}
	if r := b.post("/integrations/webhooks/"+id+"/delete", b.form("confirmed", "yes")); r.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d", r.Status)
	}
	if _, err := d.Endpoint(ctx, id); err == nil {
		t.Fatal("endpoint not deleted")
	}
	if len(f.events(f.orgA, admin.EventWebhookDeleted)) != 1 {
		t.Fatal("deletion not audited")
	}
}

// TestIntegrationsCrossOrgAndForgery: organization B's admin, given the
// IDs of A's endpoint, delivery and API client, is refused on every page
// and action and nothing of A's changes; a forged form token is refused.
func TestIntegrationsCrossOrgAndForgery(t *testing.T) {
	f, d := hookFixture(t)
	e, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: f.orgA.ID, Kind: webhook.KindWebhook, URL: "https://hooks.alpha.example/in"})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.open(f.orgA, portal.SectionIntegrations)
	tok := formOf(t, a.get("/integrations").Body, "/integrations/clients")
	if r := a.post("/integrations/clients", a.form("name", "billing", "scopes", "read", "form", tok)); r.Status != http.StatusCreated {
		t.Fatalf("create client: %d %s", r.Status, r.text())
	}
	clientID := regexp.MustCompile(`id="client-(cli_[^"]+)"`).FindStringSubmatch(a.get("/integrations").Body)
	if clientID == nil {
		t.Fatal("client not listed")
	}

	bb, _ := f.open(f.orgB, portal.SectionIntegrations)
	for _, c := range []struct{ method, path string }{
		{"GET", "/integrations/webhooks/" + e.ID},
		{"POST", "/integrations/webhooks/" + e.ID + "/disable"},
		{"POST", "/integrations/webhooks/" + e.ID + "/delete"},
		{"POST", "/integrations/webhooks/" + e.ID + "/rotate"},
		{"POST", "/integrations/clients/" + clientID[1] + "/disable"},
		{"POST", "/integrations/clients/" + clientID[1] + "/delete"},
	} {
		var r *response
		if c.method == "GET" {
			r = bb.get(c.path)
		} else {
			r = bb.post(c.path, bb.form("confirmed", "yes", "overlap", "0", "form", opaque.NewToken(16)))
		}
		if r.Status != http.StatusNotFound {
			t.Errorf("%s %s as B: %d, want 404", c.method, c.path, r.Status)
		}
	}
	if got, _ := d.Endpoint(ctx, e.ID); !got.Enabled || !got.UpdatedAt.Equal(e.UpdatedAt) {
		t.Fatal("B changed A's endpoint")
	}
	if r := a.get("/integrations"); !strings.Contains(r.text(), "billing") || strings.Contains(r.text(), "Disabled") {
		t.Fatal("B changed A's API client")
	}

	// A forged token is refused before anything happens.
	r := a.post("/integrations/webhooks/"+e.ID+"/disable", url.Values{"csrf": {opaque.NewToken(24)}})
	if r.Status != http.StatusForbidden {
		t.Fatalf("forged token: %d", r.Status)
	}
	if got, _ := d.Endpoint(ctx, e.ID); !got.Enabled {
		t.Fatal("a forged form disabled the endpoint")
	}
	// A link without the section does not reach it.
	c, _ := f.open(f.orgA, portal.SectionSSO)
	if r := c.get("/integrations"); r.Status != http.StatusForbidden {
		t.Fatalf("link without integrations: %d", r.Status)
	}
}

// TestIntegrationsNotEnabled: without a Dispatcher and API clients the
// section says the application did not enable them instead of failing.
func TestIntegrationsNotEnabled(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionIntegrations)
	r := b.get("/integrations")
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "Webhooks and SIEM streams are not enabled by the application") ||
		!strings.Contains(r.text(), "API clients are not enabled by the application") {
		t.Fatalf("%d %s", r.Status, r.text())
	}
}

// TestIntegrationsClientsAndAudiences: an API client's secret is shown
// once, a disable needs a confirmation naming the client, and a bad
// token exchange audience is named next to the list.
func TestIntegrationsClientsAndAudiences(t *testing.T) {
	f, _ := hookFixture(t)
	b, _ := f.open(f.orgA, portal.SectionIntegrations)
	form := b.form("name", "reporting", "scopes", "read:users", "form", formOf(t, b.get("/integrations").Body, "/integrations/clients"))
	r := b.post("/integrations/clients", form)
	m := secretRE.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("create client: %d %s", r.Status, r.text())
	}
	if again := b.post("/integrations/clients", form); again.Status != http.StatusSeeOther || strings.Contains(again.Body, m[1]) {
		t.Fatalf("second submit: %d", again.Status)
	}
	list := b.get("/integrations")
	if strings.Contains(list.Body, m[1]) {
		t.Fatal("client secret shown twice")
	}
	id := regexp.MustCompile(`id="client-(cli_[^"]+)"`).FindStringSubmatch(list.Body)[1]
	if r := b.post("/integrations/clients/"+id+"/scopes", b.form("scopes", "read:users write:users", "exchange", "true")); r.Status != http.StatusSeeOther {
		t.Fatalf("scopes: %d", r.Status)
	}
	if !strings.Contains(b.get("/integrations").Body, `value="read:users write:users"`) {
		t.Fatal("scopes not saved")
	}
	conf := b.post("/integrations/clients/"+id+"/disable", b.form())
	if conf.Status != http.StatusOK || !strings.Contains(conf.text(), "“reporting”") {
		t.Fatalf("disable confirmation: %s", conf.text())
	}
	if r := b.post("/integrations/clients/"+id+"/disable", b.form("confirmed", "yes")); r.Status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.Status)
	}
	if !strings.Contains(b.get("/integrations").text(), "Disabled") {
		t.Fatal("client not disabled")
	}

	r = b.post("/integrations/exchange", b.form("audiences", "https://api.example.com\nhttp://plain.example"))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "Entry 2, “http://plain.example”") ||
		!strings.Contains(r.Body, `aria-invalid="true"`) {
		t.Fatalf("bad audience: %d %s", r.Status, r.text())
	}
	if r := b.post("/integrations/exchange", b.form("audiences", "https://api.example.com\nbilling-api")); r.Status != http.StatusSeeOther {
		t.Fatalf("save audiences: %d", r.Status)
	}
	o, _ := f.st.GetOrg(ctx, f.orgA.ID)
	if strings.Join(o.Settings.ExchangeAudiences, " ") != "billing-api https://api.example.com" {
		t.Fatalf("audiences: %v", o.Settings.ExchangeAudiences)
	}
}

// clients is an in-memory admin.ClientManager for these tests: the real
// one (session.Manager, adapted in sso/stack) is not reachable from this
// package; the admin API's checks in front of it are the real ones.
type clients struct {
	mu sync.Mutex
	m  map[string]*admin.APIClient
}

func newClients() *clients { return &clients{m: map[string]*admin.APIClient{}} }

func (c *clients) CreateClient(_ context.Context, orgID string, in admin.ClientInput) (*admin.APIClient, string, error) {
	if in.Name == "" {
		return nil, "", &sso.FieldError{Field: "name", Message: "is required"}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := &admin.APIClient{ID: opaque.NewID("cli_"), OrgID: orgID, Name: in.Name, Scopes: in.Scopes, Exchange: in.Exchange, CreatedAt: time.Now()}
	c.m[cl.ID] = cl
	return cl, opaque.NewToken(24), nil
}

func (c *clients) ListClients(_ context.Context, orgID string) ([]*admin.APIClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*admin.APIClient
	for _, cl := range c.m {
		if cl.OrgID == orgID {
			cp := *cl
			out = append(out, &cp)
		}
	}
	return out, nil
}

func (c *clients) get(orgID, id string) (*admin.APIClient, error) {
	cl, ok := c.m[id]
	if !ok || cl.OrgID != orgID {
		return nil, fmt.Errorf("client %s: %w", id, sso.ErrNotFound)
	}
	return cl, nil
}

func (c *clients) SetClientScopes(_ context.Context, orgID, id string, scopes []string, exchange bool) (*admin.APIClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, err := c.get(orgID, id)
	if err != nil {
		return nil, err
	}
	cl.Scopes, cl.Exchange = scopes, exchange
	return cl, nil
}

func (c *clients) RotateClientSecret(_ context.Context, orgID, id string, overlap time.Duration) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, err := c.get(orgID, id)
	if err != nil {
		return "", err
	}
	cl.PrevSecretExpiresAt = time.Now().Add(overlap)
	return opaque.NewToken(24), nil
}

func (c *clients) DisableClient(_ context.Context, orgID, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, err := c.get(orgID, id)
	if err == nil {
		cl.DisabledAt = time.Now()
	}
	return err
}

func (c *clients) DeleteClient(_ context.Context, orgID, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.get(orgID, id)
	delete(c.m, id)
	return err
}

// TestIntegrationsSIEMStreamForm: a SIEM stream is created with its batch
// size; a batch size or URL the admin API refuses is named next to its
// field and creates nothing.
func TestIntegrationsSIEMStreamForm(t *testing.T) {
	f, d := hookFixture(t)
	b, _ := f.open(f.orgA, portal.SectionIntegrations)
	for _, c := range []struct{ batch, url, field string }{
		{"lots", "https://siem.alpha.example/in", "hook-batch"},
		{"50", "ftp://siem.alpha.example/in", "hook-url"},
	} {
		r := b.post("/integrations/webhooks", b.form("kind", "siem", "url", c.url, "batch_size", c.batch,
			"form", formOf(t, b.get("/integrations").Body, "/integrations/webhooks")))
		if r.Status != http.StatusBadRequest || !regexp.MustCompile(`id="`+c.field+`"[^>]*aria-invalid="true"`).MatchString(r.Body) {
			t.Fatalf("batch %q url %q: %d, %s not marked: %s", c.batch, c.url, r.Status, c.field, r.text())
		}
	}
	if eps, _ := d.Endpoints(ctx, f.orgA.ID); len(eps) != 0 {
		t.Fatalf("a refused form created %d endpoints", len(eps))
	}
	r := b.post("/integrations/webhooks", b.form("kind", "siem", "url", "https://siem.alpha.example/in", "batch_size", "50",
		"form", formOf(t, b.get("/integrations").Body, "/integrations/webhooks")))
	if r.Status != http.StatusCreated || secretRE.FindStringSubmatch(r.Body) == nil || !strings.Contains(r.text(), "SIEM stream") {
		t.Fatalf("create SIEM stream: %d %s", r.Status, r.text())
	}
	eps, _ := d.Endpoints(ctx, f.orgA.ID)
	if len(eps) != 1 || eps[0].Kind != webhook.KindSIEM || eps[0].BatchSize != 50 {
		t.Fatalf("endpoints: %+v", eps)
	}
}

// TestIntegrationsDeliveryLogPaging: the delivery log shows 20 deliveries
// a page, newest first, and "Older deliveries" leads to the rest.
func TestIntegrationsDeliveryLogPaging(t *testing.T) {
	f, d, trail := hookFixtureTrail(t)
	e, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: f.orgA.ID, Kind: webhook.KindWebhook, URL: "https://hooks.alpha.example/in"})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Second)
	for i := range 23 {
		if err := trail.Record(ctx, &sso.Event{OrgID: f.orgA.ID, Type: "domain.added",
			Target: sso.Target{Type: "domain", ID: fmt.Sprintf("d%02d.example", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.FanOut(ctx); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionIntegrations)
	rows := regexp.MustCompile(`<td data-label="Event">`)
	first := b.get("/integrations/webhooks/" + e.ID)
	if n := len(rows.FindAllString(first.Body, -1)); n != 20 {
		t.Fatalf("first page: %d rows, want 20", n)
	}
	m := regexp.MustCompile(`href="/portal(/integrations/webhooks/[^"?]+\?before=[^"]+)">Older deliveries`).FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatalf("no link to older deliveries: %s", first.text())
	}
	older := b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if n := len(rows.FindAllString(older.Body, -1)); n != 3 || strings.Contains(older.Body, "Older deliveries") {
		t.Fatalf("second page: %d rows, want 3", n)
	}
	if r := b.get("/integrations/webhooks/" + e.ID + "?status=delivered"); len(rows.FindAllString(r.Body, -1)) != 0 {
		t.Fatal("the delivered filter shows pending deliveries")
	}
}

// TestRefusedFormMaySendAgain: a form the admin API refused did nothing,
// so the person who goes back, corrects it and sends it again (the same
// form token) gets it done, instead of "already submitted"; once it has
// succeeded, sending it again is a duplicate.
func TestRefusedFormMaySendAgain(t *testing.T) {
	f, d := hookFixture(t)
	b, _ := f.open(f.orgA, portal.AllSections...)
	tok := formOf(t, b.get("/integrations").Body, "/integrations/webhooks")
	bad := b.form("kind", "webhook", "url", "ftp://hooks.example/in", "description", "Ours", "event_types", "domain.added", "form", tok)
	if r := b.post("/integrations/webhooks", bad); r.Status != http.StatusBadRequest {
		t.Fatalf("refused URL: %d %s", r.Status, r.text())
	}
	srv := httptest.NewServer(&receiver{status: http.StatusOK})
	t.Cleanup(srv.Close)
	good := b.form("kind", "webhook", "url", srv.URL+"/hook", "description", "Ours", "event_types", "domain.added", "form", tok)
	if r := b.post("/integrations/webhooks", good); r.Status != http.StatusCreated || secretRE.FindStringSubmatch(r.Body) == nil {
		t.Fatalf("the corrected form, sent again: %d %s", r.Status, r.text())
	}
	if again := b.post("/integrations/webhooks", good); again.Status != http.StatusSeeOther || !strings.Contains(again.Header.Get("Location"), "done=duplicate") {
		t.Fatalf("after it succeeded: %d %s", again.Status, again.Header.Get("Location"))
	}
	if eps, _ := d.Endpoints(ctx, f.orgA.ID); len(eps) != 1 {
		t.Fatalf("%d endpoints, want 1", len(eps))
	}
}
