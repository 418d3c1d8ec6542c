package admin_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
)

var ctx = context.Background()

// fakeConfigurer stands in for saml/oidc (built in parallel): it "parses"
// metadata that contains an EntityDescriptor and discovers an issuer that
// starts with https://.
type fakeConfigurer struct{ proto sso.Protocol }

func (f *fakeConfigurer) ConfigureConnection(_ context.Context, c *sso.Connection, raw json.RawMessage) (*sso.IdPDetails, error) {
	switch f.proto {
	case saml.Protocol:
		var in saml.ConnectionInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
		}
		switch {
		case strings.Contains(in.MetadataXML, "<EntityDescriptor"):
			c.Config = &saml.ConnectionConfig{IdPEntityID: "http://www.okta.com/exk1", SSOURL: "https://acme.okta.example/sso",
				SSOBinding: "redirect", Certificates: []string{"PEM"}, MetadataXML: in.MetadataXML}
		case strings.HasPrefix(in.MetadataURL, "https://"):
			c.Config = &saml.ConnectionConfig{IdPEntityID: in.MetadataURL, SSOURL: in.MetadataURL + "/sso", MetadataURL: in.MetadataURL,
				Certificates: []string{"PEM"}}
		case in.MetadataURL != "":
			return nil, fmt.Errorf("%w: metadata URL must be https", sso.ErrInvalidInput)
		default:
			return nil, fmt.Errorf("%w: metadata is not SAML metadata", sso.ErrInvalidInput)
		}
		return &sso.IdPDetails{EntityID: saml.ConfigOf(c).IdPEntityID, Endpoints: map[string]string{"sso": saml.ConfigOf(c).SSOURL},
			Certificates: []sso.CertificateInfo{{Subject: "CN=okta", NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}}, nil
	default:
		var in oidc.ConnectionInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
		}
		if !strings.HasPrefix(in.Issuer, "https://") || in.ClientID == "" {
			return nil, fmt.Errorf("%w: issuer and client_id required", sso.ErrInvalidInput)
		}
		c.Config = &oidc.ConnectionConfig{Issuer: in.Issuer, ClientID: in.ClientID, AuthURL: in.AuthURL,
			ClientSecretSealed: "v1.k." + strings.Repeat("x", len(in.ClientSecret))}
		return &sso.IdPDetails{Issuer: in.Issuer, Endpoints: map[string]string{"authorization_endpoint": in.Issuer + "/authorize"}}, nil
	}
}

func (f *fakeConfigurer) ConfigView(c *sso.Connection) any {
	if cfg := saml.ConfigOf(c); cfg != nil {
		return &saml.ConfigView{IdPEntityID: cfg.IdPEntityID, SSOURL: cfg.SSOURL, Certificates: len(cfg.Certificates), MetadataURL: cfg.MetadataURL}
	}
	if cfg := oidc.ConfigOf(c); cfg != nil {
		return &oidc.ConfigView{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecretSet: cfg.ClientSecretSealed != ""}
	}
	return nil
}

func (f *fakeConfigurer) SPDetails(c *sso.Connection) *sso.SPDetails {
	if f.proto == saml.Protocol {
		return &sso.SPDetails{EntityID: "https://app.example/sso/saml/" + c.ID, ACSURL: "https://app.example/sso/saml/acs/" + c.ID,
			MetadataURL: "https://app.example/sso/saml/metadata/" + c.ID}
	}
	return &sso.SPDetails{RedirectURI: "https://app.example/sso/oidc/callback/" + c.ID}
}

type fakeStarter struct {
	mu    sync.Mutex
	calls []sso.StartOptions
}

func (f *fakeStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	f.mu.Lock()
	f.calls = append(f.calls, opts)
	f.mu.Unlock()
	http.Redirect(w, r, "https://idp.example/login?conn="+c.ID, http.StatusFound)
	return nil
}

// fakeSessions stands in for session.Manager (built in parallel).
type fakeSessions struct {
	mu       sync.Mutex
	sessions []sso.SessionInfo
	revoked  map[string]bool
}

func (f *fakeSessions) ListSessions(_ context.Context, orgID, userID string) ([]sso.SessionInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sso.SessionInfo
	for _, s := range f.sessions {
		if s.OrgID == orgID && (userID == "" || s.UserID == userID) && !f.revoked[s.ID] {
			out = append(out, s)
		}
	}
	return out, nil
}

func (f *fakeSessions) RevokeSession(_ context.Context, orgID, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sessions {
		if s.ID == id && s.OrgID == orgID {
			if f.revoked == nil {
				f.revoked = map[string]bool{}
			}
			f.revoked[id] = true
			return nil
		}
	}
	return fmt.Errorf("fake: %w", sso.ErrNotFound)
}

type txt map[string][]string

func (t txt) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := t[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{IsNotFound: true, Err: "no such host"}
}

type fixture struct {
	t        testing.TB
	st       sso.Store
	srv      *httptest.Server
	starter  *fakeStarter
	sessions *fakeSessions
	revoker  *session.Manager
	dns      txt
	aud      *audit.Trail
	comp     *login.Completer
	orgA     *sso.Organization
	orgB     *sso.Organization
}

func newFixture(t testing.TB, mutate ...func(*admin.Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, memstore.New(), mutate...)
}

// newFixtureOn is newFixture on the store st.
func newFixtureOn(t testing.TB, st sso.Store, mutate ...func(*admin.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, st: st, starter: &fakeStarter{}, sessions: &fakeSessions{}, revoker: realSessions(t, st), dns: txt{}}
	for _, slug := range []string{"alpha", "beta"} {
		o := &sso.Organization{ID: opaque.NewID("org_"), Slug: slug, Name: slug}
		o.Settings.Features = sso.Features{"saml", "oidc", "scim", "enforce_sso"}
		o.Settings.AllowJIT = true
		if err := f.st.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
		if slug == "alpha" {
			f.orgA = o
		} else {
			f.orgB = o
		}
	}
	aud, _ := audit.New(audit.Config{Store: f.st})
	f.aud = aud
	doms, err := domains.New(domains.Config{Store: f.st, Auditor: aud, Resolver: f.dns})
	if err != nil {
		t.Fatal(err)
	}
	en, _ := policy.New(policy.Config{Store: f.st, Auditor: aud, Revoker: f.revoker})
	f.comp, _ = login.New(login.Config{Store: f.st, Sessions: noSessions{}, Auditor: aud})
	cfg := admin.Config{
		Store: f.st,
		Authorize: func(r *http.Request) (string, sso.Actor, error) {
			switch r.Header.Get("X-Test-Auth") {
			case "":
				return "", sso.Actor{}, errors.New("no credentials")
			case "forbidden":
				return "", sso.Actor{}, sso.ErrForbidden
			case "operator":
				return r.Header.Get("X-Test-Org"), sso.Actor{Type: sso.ActorOperator, ID: "staff-1"}, nil
			case "user":
				// A host that attributes its admins to ActorUser.
				return r.Header.Get("X-Test-Org"), sso.Actor{Type: sso.ActorUser, ID: "usr_admin"}, nil
			}
			return r.Header.Get("X-Test-Org"), sso.Actor{Type: sso.ActorAdmin, ID: r.Header.Get("X-Test-Auth")}, nil
		},
		Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: &fakeConfigurer{saml.Protocol}, oidc.Protocol: &fakeConfigurer{oidc.Protocol}},
		Starters:    map[sso.Protocol]sso.Starter{saml.Protocol: f.starter, oidc.Protocol: f.starter},
		Domains:     doms, Enforcer: en, Auditor: aud, Sessions: f.sessions,
		MaxBodyBytes: 64 << 10, TestReturnTo: "/admin/sso/result",
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := admin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/sso/", http.StripPrefix("/admin/sso", h))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

type noSessions struct{}

func (noSessions) IssueSession(http.ResponseWriter, *http.Request, *sso.SessionGrant) error {
	return nil
}

// do sends a request as an admin of org and decodes a JSON response.
func (f *fixture) do(org *sso.Organization, method, path, ctype, body string) (int, map[string]any, http.Header) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+"/admin/sso"+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if org != nil {
		req.Header.Set("X-Test-Auth", "usr_admin_"+org.Slug)
		req.Header.Set("X-Test-Org", org.ID)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(b) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &m); err != nil {
			f.t.Fatalf("%s %s: body %q: %v", method, path, b, err)
		}
	} else {
		m = map[string]any{"_raw": string(b)}
	}
	return res.StatusCode, m, res.Header
}

func (f *fixture) json(org *sso.Organization, method, path, body string) (int, map[string]any) {
	code, m, _ := f.do(org, method, path, "application/json", body)
	return code, m
}

func TestOnboardingFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA

	// Domain first.
	code, dom := f.json(a, "POST", "/domains", `{"name":"Alpha.example"}`)
	if code != 201 || dom["state"] != "pending" {
		t.Fatalf("add domain: %d %v", code, dom)
	}
	rec := dom["record"].(map[string]any)
	if rec["type"] != "TXT" || rec["name"] != "_ssokit-challenge.alpha.example" || !strings.HasPrefix(rec["value"].(string), "ssokit-verify=") {
		t.Fatalf("got record %v", rec)
	}
	code, m := f.json(a, "POST", "/domains/alpha.example/verify", "")
	if code != 400 || m["error"] != "record_not_found" {
		t.Fatalf("verify without record: %d %v", code, m)
	}
	f.dns[rec["name"].(string)] = []string{rec["value"].(string)}
	code, m = f.json(a, "POST", "/domains/alpha.example/verify", "")
	if code != 200 || m["state"] != "verified" {
		t.Fatalf("verify: %d %v", code, m)
	}
	code, m = f.json(a, "GET", "/domains", "")
	if code != 200 || len(m["domains"].([]any)) != 1 {
		t.Fatalf("list domains: %d %v", code, m)
	}

	// SAML connection from a metadata upload.
	code, m, _ = f.do(a, "POST", "/connections?display_name=Okta", "application/samlmetadata+xml",
		`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exk1"/>`)
	if code != 201 || m["status"] != "draft" || m["display_name"] != "Okta" {
		t.Fatalf("create: %d %v", code, m)
	}
	id := m["id"].(string)
	if m["idp"].(map[string]any)["entity_id"] != "http://www.okta.com/exk1" || m["sp"].(map[string]any)["acs_url"] == nil {
		t.Fatalf("details missing: %v", m)
	}
	if m["saml"].(map[string]any)["certificates"].(float64) != 1 {
		t.Fatalf("got %v", m["saml"])
	}
	// Mapping and group roles.
	code, m = f.json(a, "PATCH", "/connections/"+id, `{"attribute_mapping":{"email":"mail","groups":"memberOf"},"group_roles":[{"group":"Admins","role":"admin"}]}`)
	if code != 200 || m["attribute_mapping"].(map[string]any)["email"] != "mail" || len(m["group_roles"].([]any)) != 1 {
		t.Fatalf("patch: %d %v", code, m)
	}
	// Activation before a successful test is refused.
	code, m = f.json(a, "POST", "/connections/"+id+"/activate", "")
	if code != 409 || m["error"] != "not_tested" {
		t.Fatalf("activate untested: %d %v", code, m)
	}
	// Test login: the starter runs in test mode.
	code, _, hdr := f.do(a, "POST", "/connections/"+id+"/test", "", "")
	if code != 302 || !strings.HasPrefix(hdr.Get("Location"), "https://idp.example/") {
		t.Fatalf("test: %d %v", code, hdr)
	}
	if opts := f.starter.calls[len(f.starter.calls)-1]; !opts.Test || opts.ReturnTo != "/admin/sso/result" {
		t.Fatalf("got %+v", opts)
	}
	// The IdP answers; the protocol package hands the profile to the completer.
	conn, _ := f.st.GetConnection(ctx, id)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/acs", nil)
	if err := f.comp.Complete(w, r, &sso.Login{Connection: conn, Test: true, Profile: &sso.Profile{Protocol: saml.Protocol,
		OrgID: a.ID, ConnectionID: id, Issuer: "http://www.okta.com/exk1", Subject: "admin", Email: "admin@alpha.example", EmailVerified: true}}); err != nil {
		t.Fatal(err)
	}
	code, m = f.json(a, "GET", "/connections/"+id, "")
	lt := m["last_test"].(map[string]any)
	if code != 200 || lt["ok"] != true || !strings.Contains(lt["detail"].(string), "admin@alpha.example") {
		t.Fatalf("last test: %d %v", code, m)
	}
	code, m = f.json(a, "POST", "/connections/"+id+"/activate", "")
	if code != 200 || m["status"] != "active" {
		t.Fatalf("activate: %d %v", code, m)
	}

	// OIDC from an issuer.
	code, m = f.json(a, "POST", "/connections", `{"protocol":"oidc","display_name":"Entra","config":{"issuer":"https://login.example/t/v2.0","client_id":"cid","client_secret":"s3cret"}}`)
	if code != 201 || m["oidc"].(map[string]any)["client_secret_set"] != true || m["sp"].(map[string]any)["redirect_uri"] == nil {
		t.Fatalf("oidc: %d %v", code, m)
	}
	raw, _ := json.Marshal(m)
	if strings.Contains(string(raw), "v1.k.") || strings.Contains(string(raw), "s3cret") {
		t.Fatalf("secret leaked: %s", raw)
	}
	oidcID := m["id"].(string)
	code, m = f.json(a, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"http://insecure","client_id":"x"}}`)
	if code != 400 || m["error"] != "invalid_input" {
		t.Fatalf("bad issuer: %d %v", code, m)
	}
	code, m = f.json(a, "GET", "/connections", "")
	if code != 200 || len(m["connections"].([]any)) != 2 {
		t.Fatalf("list: %d %v", code, m)
	}

	// Enforcement.
	code, m = f.json(a, "GET", "/enforcement", "")
	if code != 200 || m["enforced"] != false || m["ready"] != true {
		t.Fatalf("get enforcement: %d %v", code, m)
	}
	code, m = f.json(a, "PUT", "/enforcement", `{"enabled":true,"revoke_sessions":true}`)
	if code != 200 || m["enforced"] != true {
		t.Fatalf("enforce: %d %v", code, m)
	}
	// The last enforced connection cannot be disabled, deleted or
	// reconfigured (which would return it to draft).
	for _, rq := range [][3]string{{"POST", "/connections/" + id + "/disable", ""}, {"DELETE", "/connections/" + id, ""},
		{"PATCH", "/connections/" + id, `{"config":{"metadata_url":"https://idp.alpha.example/md"}}`}} {
		code, m = f.json(a, rq[0], rq[1], rq[2])
		if code != 409 || m["error"] != "last_enforced_connection" {
			t.Fatalf("%s %s while enforced: %d %v", rq[0], rq[1], code, m)
		}
	}
	code, _ = f.json(a, "PUT", "/enforcement", `{"enabled":false}`)
	if code != 200 {
		t.Fatalf("unenforce: %d", code)
	}
	code, m = f.json(a, "POST", "/connections/"+id+"/disable", "")
	if code != 200 || m["status"] != "disabled" {
		t.Fatalf("disable: %d %v", code, m)
	}
	// Reconfiguring returns to draft and clears the test.
	code, m = f.json(a, "PATCH", "/connections/"+id, `{"config":{"metadata_url":"https://idp.alpha.example/md"}}`)
	if code != 200 || m["last_test_ok"] != nil || m["last_test"] != nil {
		t.Fatalf("reconfigure: %d %v", code, m)
	}
	code, _, _ = f.do(a, "DELETE", "/connections/"+oidcID, "", "")
	if code != 204 {
		t.Fatalf("delete: %d", code)
	}
	code, _ = f.json(a, "GET", "/connections/"+oidcID, "")
	if code != 404 {
		t.Fatalf("deleted still there: %d", code)
	}
	code, _, _ = f.do(a, "DELETE", "/domains/alpha.example", "", "")
	if code != 204 {
		t.Fatalf("remove domain: %d", code)
	}

	// The whole flow is in the audit trail, by the admin, with a valid chain.
	code, m = f.json(a, "GET", "/audit?limit=1000", "")
	if code != 200 {
		t.Fatal(code)
	}
	types := map[string]bool{}
	for _, e := range m["events"].([]any) {
		ev := e.(map[string]any)
		types[ev["type"].(string)] = true
		if ev["type"] == admin.EventConnectionCreated && (ev["actor_type"] != "admin" || ev["actor_id"] != "usr_admin_alpha") {
			t.Fatalf("got %v", ev)
		}
	}
	for _, typ := range []string{domains.EventAdded, domains.EventVerified, admin.EventConnectionCreated, admin.EventConnectionUpdated,
		login.EventConnectionTested, admin.EventConnectionActivated, policy.EventEnforcementChanged, admin.EventConnectionDisabled,
		admin.EventConnectionDeleted, domains.EventRemoved} {
		if !types[typ] {
			t.Errorf("no %s event", typ)
		}
	}
	code, m = f.json(a, "GET", "/audit/verify", "")
	if code != 200 || m["ok"] != true {
		t.Fatalf("verify: %d %v", code, m)
	}
}

func TestSCIMTokensAndSessions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.orgA, f.orgB
	code, m := f.json(a, "POST", "/scim-tokens", `{"description":"Okta provisioning"}`)
	tok, _ := m["token"].(string)
	if code != 201 || !strings.HasPrefix(tok, scimtoken.Prefix) {
		t.Fatalf("create: %d %v", code, m)
	}
	id := m["id"].(string)
	if got, err := scimtoken.Authenticate(ctx, f.st, tok, time.Now()); err != nil || got.OrgID != a.ID {
		t.Fatalf("token does not authenticate: %v", err)
	}
	code, m = f.json(a, "GET", "/scim-tokens", "")
	raw, _ := json.Marshal(m)
	if code != 200 || strings.Contains(string(raw), tok) || strings.Contains(string(raw), `"token"`) {
		t.Fatalf("list shows the token: %s", raw)
	}
	// Org B cannot rotate or revoke A's token.
	for _, req := range [][2]string{{"POST", "/scim-tokens/" + id + "/rotate"}, {"DELETE", "/scim-tokens/" + id}} {
		if code, _ := f.json(b, req[0], req[1], `{}`); code != 404 {
			t.Fatalf("B %s %s: %d", req[0], req[1], code)
		}
	}
	code, m = f.json(a, "POST", "/scim-tokens/"+id+"/rotate", `{"overlap_seconds":3600}`)
	if code != 201 || m["token"] == tok {
		t.Fatalf("rotate: %d %v", code, m)
	}
	code, _ = f.json(a, "POST", "/scim-tokens/"+id+"/rotate", `{"overlap_seconds":-1}`)
	if code != 400 {
		t.Fatalf("negative overlap: %d", code)
	}
	code, _, _ = f.do(a, "DELETE", "/scim-tokens/"+id, "", "")
	if code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	if _, err := scimtoken.Authenticate(ctx, f.st, tok, time.Now()); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("revoked token works: %v", err)
	}
	// SCIM off in the plan.
	b.Settings.Features = b.Settings.Features.Without("scim")
	_ = f.st.UpdateOrg(ctx, b)
	code, m = f.json(b, "POST", "/scim-tokens", `{}`)
	if code != 403 || m["error"] != "feature_disabled" {
		t.Fatalf("feature gate: %d %v", code, m)
	}

	// Sessions.
	f.sessions.sessions = []sso.SessionInfo{{ID: "sess_a1", UserID: "usr_1", OrgID: a.ID}, {ID: "sess_b1", UserID: "usr_2", OrgID: b.ID}}
	code, m = f.json(a, "GET", "/sessions", "")
	if code != 200 || len(m["sessions"].([]any)) != 1 {
		t.Fatalf("sessions: %d %v", code, m)
	}
	code, _ = f.json(a, "DELETE", "/sessions/sess_b1", "")
	if code != 404 {
		t.Fatalf("revoke other org's session: %d", code)
	}
	code, _, _ = f.do(a, "DELETE", "/sessions/sess_a1", "", "")
	if code != 204 || !f.sessions.revoked["sess_a1"] {
		t.Fatalf("revoke: %d", code)
	}
}

// TestTM7_AdminCrossTenant: an admin of B reaching A's records by ID gets
// 404, identical to a nonexistent ID, and the attempt is audited in B.
func TestTM7_AdminCrossTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.orgA, f.orgB
	_, m := f.json(a, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://idp.alpha","client_id":"c"}}`)
	id := m["id"].(string)
	f.dns = txt{}
	f.json(a, "POST", "/domains", `{"name":"alpha.example"}`)
	routes := [][3]string{
		{"GET", "/connections/" + id, ""},
		{"PATCH", "/connections/" + id, `{"display_name":"pwned"}`},
		{"DELETE", "/connections/" + id, ""},
		{"POST", "/connections/" + id + "/test", ""},
		{"POST", "/connections/" + id + "/activate", ""},
		{"POST", "/connections/" + id + "/disable", ""},
		{"GET", "/domains/alpha.example", ""},
		{"POST", "/domains/alpha.example/verify", ""},
		{"DELETE", "/domains/alpha.example", ""},
	}
	for _, rt := range routes {
		code, m := f.json(b, rt[0], rt[1], rt[2])
		missing := strings.Replace(rt[1], id, "conn_doesnotexist", 1)
		missing = strings.Replace(missing, "alpha.example", "nothere.example", 1)
		code2, m2 := f.json(b, rt[0], missing, rt[2])
		if code != 404 || code2 != 404 || fmt.Sprint(m) != fmt.Sprint(m2) {
			t.Errorf("%s %s: got %d %v vs missing %d %v", rt[0], rt[1], code, m, code2, m2)
		}
	}
	if got, _ := f.st.GetConnection(ctx, id); got.DisplayName == "pwned" {
		t.Fatal("cross-tenant write")
	}
	if len(f.starter.calls) != 0 {
		t.Fatal("cross-tenant test login started")
	}
	evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: b.ID, Type: sso.EventCrossTenantDenied})
	if len(evs) != 6 {
		t.Fatalf("got %d cross-tenant events, want 6", len(evs))
	}
	// B's audit never shows A's events.
	_, m = f.json(b, "GET", "/audit?type="+admin.EventConnectionCreated, "")
	if len(m["events"].([]any)) != 0 {
		t.Fatal("A's events visible to B")
	}
	// The org comes only from Authorize: a query parameter cannot switch it.
	_, m = f.json(b, "GET", "/connections?org_id="+a.ID, "")
	if len(m["connections"].([]any)) != 0 {
		t.Fatal("org switched by query")
	}
}

func TestAdminBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	big := `{"name":"` + strings.Repeat("a", 70<<10) + `"}`
	tests := []struct {
		name, method, path, ctype, body string
		code                            int
		reason                          string
	}{
		{"Malformed", "POST", "/domains", "application/json", `{"name":`, 400, "invalid_input"},
		{"UnknownField", "POST", "/domains", "application/json", `{"name":"x.example","org_id":"other"}`, 400, "invalid_input"},
		{"Trailing", "POST", "/domains", "application/json", `{"name":"x.example"}{"name":"y.example"}`, 400, "invalid_input"},
		{"WrongType", "PUT", "/enforcement", "application/json", `{"enabled":"yes"}`, 400, "invalid_input"},
		{"MissingEnabled", "PUT", "/enforcement", "application/json", `{}`, 400, "invalid_input"},
		{"Oversized", "POST", "/domains", "application/json", big, 400, "invalid_input"},
		{"OversizedXML", "POST", "/connections", "application/xml", "<EntityDescriptor " + strings.Repeat("a", 70<<10), 400, "invalid_input"},
		{"WrongContentType", "POST", "/domains", "text/plain", `{"name":"x.example"}`, 400, "invalid_input"},
		{"UnknownProtocol", "POST", "/connections", "application/json", `{"protocol":"ldap"}`, 400, "invalid_input"},
		{"BadMetadata", "POST", "/connections", "application/xml", `<html/>`, 400, "invalid_input"},
		{"PublicDomain", "POST", "/domains", "application/json", `{"name":"gmail.com"}`, 400, "public_mail_domain"},
		{"BadAuditTime", "GET", "/audit?since=yesterday", "", "", 400, "invalid_input"},
		{"BadAuditLimit", "GET", "/audit?limit=100000", "", "", 400, "invalid_input"},
		{"BadExportFormat", "GET", "/audit/export?format=xlsx", "", "", 400, "invalid_input"},
		{"EmptyGroupRole", "PATCH", "/connections/x", "application/json", `{}`, 404, "not_found"},
		{"NoRoute", "GET", "/nope", "", "", 404, "not_found"},
		{"EnforceWithoutConnection", "PUT", "/enforcement", "application/json", `{"enabled":true}`, 400, "no_tested_connection"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, m, hdr := f.do(a, tc.method, tc.path, tc.ctype, tc.body)
			if code != tc.code || m["error"] != tc.reason || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("got %d %v, want %d %s", code, m, tc.code, tc.reason)
			}
			if msg, _ := m["message"].(string); strings.Contains(msg, "aaaa") || strings.Contains(msg, "memstore") {
				t.Fatalf("message leaks input or internals: %q", msg)
			}
		})
	}
	// Authentication and authorization.
	code, m, _ := f.do(nil, "GET", "/connections", "", "")
	if code != 401 || m["error"] != "unauthorized" {
		t.Fatalf("anonymous: %d %v", code, m)
	}
	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/sso/connections", nil)
	req.Header.Set("X-Test-Auth", "forbidden")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("forbidden: %d", res.StatusCode)
	}
	// An org that does not exist.
	code, _, _ = f.do(&sso.Organization{ID: "org_gone", Slug: "gone"}, "GET", "/connections", "", "")
	if code != 404 {
		t.Fatalf("missing org: %d", code)
	}
}

func TestAuditEndpoints(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	for i := 0; i < 7; i++ {
		f.json(a, "POST", "/domains", fmt.Sprintf(`{"name":"d%d.example"}`, i))
	}
	// An operator acting for the tenant is recorded as such.
	req, _ := http.NewRequest("POST", f.srv.URL+"/admin/sso/domains", strings.NewReader(`{"name":"=cmd.example"}`))
	req.Header.Set("X-Test-Auth", "operator")
	req.Header.Set("X-Test-Org", a.ID)
	res, _ := http.DefaultClient.Do(req)
	res.Body.Close()
	req, _ = http.NewRequest("POST", f.srv.URL+"/admin/sso/domains", strings.NewReader(`{"name":"op.example"}`))
	req.Header.Set("X-Test-Auth", "operator")
	req.Header.Set("X-Test-Org", a.ID)
	req.Header.Set("User-Agent", "=HYPERLINK(\"x\")")
	res, _ = http.DefaultClient.Do(req)
	res.Body.Close()

	code, m := f.json(a, "GET", "/audit?type=domain.added&limit=3", "")
	if code != 200 || len(m["events"].([]any)) != 3 || m["next_after"] == nil {
		t.Fatalf("page: %d %v", code, m)
	}
	next := int(m["next_after"].(float64))
	_, m = f.json(a, "GET", fmt.Sprintf("/audit?type=domain.added&limit=3&after=%d", next), "")
	if len(m["events"].([]any)) != 3 {
		t.Fatalf("page 2: %v", m)
	}
	_, m = f.json(a, "GET", "/audit?actor=staff-1", "")
	evs := m["events"].([]any)
	if len(evs) != 1 || evs[0].(map[string]any)["actor_type"] != "operator" {
		t.Fatalf("operator events: %v", evs)
	}
	code, m, hdr := f.do(a, "GET", "/audit/export?format=csv", "", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %v", code, hdr)
	}
	rows, err := csv.NewReader(strings.NewReader(m["_raw"].(string))).ReadAll()
	if err != nil || len(rows) != 9 {
		t.Fatalf("csv rows %d: %v", len(rows), err)
	}
	for _, row := range rows {
		for _, cell := range row {
			if strings.HasPrefix(cell, "=") {
				t.Fatalf("formula cell %q", cell)
			}
		}
	}
	code, m, _ = f.do(a, "GET", "/audit/export", "", "")
	lines := bytes.Count([]byte(m["_raw"].(string)), []byte("\n"))
	if code != 200 || lines != 8 {
		t.Fatalf("jsonl: %d, %d lines", code, lines)
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	if _, err := admin.New(admin.Config{}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}

// FuzzAdminJSON sends arbitrary bodies to the JSON endpoints: never a 5xx,
// always a JSON answer.
func FuzzAdminJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"name":"a.example"}`, `{"protocol":"saml","config":{"metadata_xml":"<EntityDescriptor/>"}}`,
		`{"enabled":true}`, `{"description":"x"}`, `{"overlap_seconds":1e99}`, `[`, `null`, `"x"`, `{"group_roles":[{}]}`,
		`{"protocol":"oidc","config":{"issuer":"https://x","client_id":"c"},"group_roles":[{"group":"g","role":"r"}]}`} {
		f.Add(s)
	}
	fx := newFixture(f)

	paths := [][2]string{{"POST", "/connections"}, {"POST", "/domains"}, {"PUT", "/enforcement"}, {"POST", "/scim-tokens"}}
	f.Fuzz(func(t *testing.T, body string) {
		fx.t = t
		for _, p := range paths {
			code, _, hdr := fx.do(fx.orgB, p[0], p[1], "application/json", body)
			if code >= 500 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Fatalf("%s %s %q: %d", p[0], p[1], body, code)
			}
		}
	})
}

func TestRemapIdentitiesEndpoint(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.orgA, f.orgB
	_, m, _ := f.do(a, "POST", "/connections", "application/xml", `<EntityDescriptor entityID="x"/>`)
	okta := m["id"].(string)
	_, m = f.json(a, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://login.example/tid/v2.0","client_id":"c"}}`)
	entra := m["id"].(string)
	_, m = f.json(b, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://idp.beta","client_id":"c"}}`)
	betaConn := m["id"].(string)
	u := &sso.User{ID: "usr_ann", Email: "ann@alpha.example", EmailVerified: true}
	if err := f.st.Provision(ctx, u, &sso.Membership{OrgID: a.ID, UserID: u.ID, Status: sso.MembershipActive, Roles: []string{"member"}},
		&sso.Identity{ID: "idn_1", OrgID: a.ID, ConnectionID: okta, Issuer: "http://www.okta.com/exk1", Subject: "00u1", UserID: u.ID}); err != nil {
		t.Fatal(err)
	}
	code, m := f.json(a, "POST", "/connections/"+entra+"/remap-identities", `{"from_connection_id":"`+okta+`","subject":"email"}`)
	if code != 200 || m["remapped"] != float64(1) {
		t.Fatalf("remap: %d %v", code, m)
	}
	if id, err := f.st.GetIdentity(ctx, a.ID, "https://login.example/tid/v2.0", "ann@alpha.example"); err != nil || id.UserID != u.ID {
		t.Fatalf("identity: %v %v", id, err)
	}
	for _, tc := range []struct {
		org  *sso.Organization
		path string
		body string
		code int
	}{
		{a, "/connections/" + entra + "/remap-identities", `{"from_connection_id":"` + betaConn + `","subject":"same"}`, 404},
		{b, "/connections/" + betaConn + "/remap-identities", `{"from_connection_id":"` + okta + `","subject":"same"}`, 404},
		{a, "/connections/" + entra + "/remap-identities", `{"from_connection_id":"` + okta + `","subject":"guess"}`, 400},
		{a, "/connections/" + entra + "/remap-identities", `{"from_connection_id":"` + entra + `","subject":"same"}`, 400},
	} {
		if code, m := f.json(tc.org, "POST", tc.path, tc.body); code != tc.code {
			t.Errorf("%s %s: got %d %v, want %d", tc.org.Slug, tc.body, code, m, tc.code)
		}
	}
}
