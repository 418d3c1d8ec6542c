package admin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
)

// TestCrossTenantEveryRoute: org B, given org A's connection, SCIM
// token and session IDs, gets the 404 a missing ID gets on every route
// that takes an ID, nothing of A changes, and each attempt on a
// connection or token is audited in B.
func TestCrossTenantEveryRoute(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.orgA, f.orgB
	_, m := f.json(a, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://idp.alpha","client_id":"c"}}`)
	conn := m["id"].(string)
	_, m = f.json(b, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://idp.beta","client_id":"c"}}`)
	bConn := m["id"].(string)
	code, m := f.json(a, "POST", "/scim-tokens", `{"description":"okta"}`)
	if code != 201 {
		t.Fatalf("create token: %d %v", code, m)
	}
	tok, plain := m["id"].(string), m["token"].(string)
	f.sessions.sessions = append(f.sessions.sessions, sso.SessionInfo{ID: "sess_a1", OrgID: a.ID, UserID: "usr_a"})

	routes := []struct{ method, path, body string }{
		{"GET", "/connections/" + conn + "/health", ""},
		{"POST", "/connections/" + conn + "/remap-identities", `{"from_connection_id":"` + bConn + `","subject":"same"}`},
		{"POST", "/connections/" + bConn + "/remap-identities", `{"from_connection_id":"` + conn + `","subject":"same"}`},
		{"POST", "/scim-tokens/" + tok + "/rotate", `{"overlap_seconds":0}`},
		{"DELETE", "/scim-tokens/" + tok, ""},
		{"DELETE", "/sessions/sess_a1", ""},
	}
	before := len(evs(f, b.ID))
	for _, rt := range routes {
		code, m := f.json(b, rt.method, rt.path, rt.body)
		if code != http.StatusNotFound || m["error"] != "not_found" {
			t.Errorf("%s %s: %d %v, want 404 not_found", rt.method, rt.path, code, m)
		}
	}
	// The fixture has no HealthReader (health answers 404 before any
	// lookup); the two remaps and two token routes are audited.
	if got := len(evs(f, b.ID)) - before; got != 4 {
		t.Errorf("%d cross-tenant events for 4 attempts on connections and tokens", got)
	}
	// A's token still authenticates, A's session is alive.
	if _, err := scimtoken.Authenticate(ctx, f.st, plain, time.Now()); err != nil {
		t.Fatalf("A's token after B's attempts: %v", err)
	}
	if ss, _ := f.sessions.ListSessions(ctx, a.ID, ""); len(ss) != 1 {
		t.Fatalf("A's session revoked by B")
	}
	// B's token list never shows A's token.
	_, m = f.json(b, "GET", "/scim-tokens", "")
	if toks, _ := m["tokens"].([]any); len(toks) != 0 {
		t.Fatalf("B sees tokens %v", toks)
	}
}

func evs(f *fixture, orgID string) []*sso.Event {
	e, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: orgID, Type: sso.EventCrossTenantDenied, Limit: 1000})
	return e
}

// TestJSONEdgeCases: duplicate fields (also in another case, which
// encoding/json would silently merge), a null or non-object body, huge or
// fractional numbers, null fields, wrong types and NUL characters are all
// 400 invalid_input and change nothing.
func TestJSONEdgeCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	_, m := f.json(a, "POST", "/scim-tokens", `{"description":"x"}`)
	tok := m["id"].(string)
	cases := []struct{ method, path, body string }{
		{"PUT", "/enforcement", `{"enabled":false,"enabled":true}`},
		{"PUT", "/enforcement", `{"enabled":false,"ENABLED":true}`},
		{"PUT", "/enforcement", `null`},
		{"PUT", "/enforcement", `[]`},
		{"PUT", "/enforcement", `"x"`},
		{"PUT", "/enforcement", `{"enabled":null}`},
		{"PUT", "/enforcement", `{"enabled":1}`},
		{"PUT", "/enforcement", ` `},
		{"POST", "/domains", `{"name":"a.example","name":"b.example"}`},
		{"POST", "/domains", `{"name":"a\u0000.example"}`},
		{"POST", "/domains", `{"name":null}`},
		{"POST", "/domains", `{"name":["a.example"]}`},
		{"POST", "/scim-tokens", `{"description":"a\u0000b"}`},
		{"POST", "/scim-tokens/" + tok + "/rotate", `{"overlap_seconds":1e400}`},
		{"POST", "/scim-tokens/" + tok + "/rotate", `{"overlap_seconds":99999999999999999999999}`},
		{"POST", "/scim-tokens/" + tok + "/rotate", `{"overlap_seconds":1.5}`},
		{"POST", "/scim-tokens/" + tok + "/rotate", `{"overlap_seconds":-1}`},
		{"POST", "/scim-tokens/" + tok + "/rotate", `{"overlap_seconds":"60"}`},
		{"POST", "/connections", `{"protocol":"oidc","protocol":"saml","config":{"issuer":"https://i","client_id":"c"}}`},
		{"POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://i","client_id":"c","CLIENT_ID":"d"}}`},
		{"GET", "/audit?type=a%00b", ""},
		{"GET", "/connections/a%00b", ""},
	}
	for _, c := range cases {
		code, m := f.json(a, c.method, c.path, c.body)
		want := http.StatusBadRequest
		if strings.HasPrefix(c.path, "/connections/") {
			want = http.StatusNotFound
		}
		if code != want || (want == 400 && m["error"] != "invalid_input") {
			t.Errorf("%s %s %q: %d %v, want %d", c.method, c.path, c.body, code, m, want)
		}
		if msg, _ := m["message"].(string); strings.Contains(msg, "\x00") {
			t.Errorf("message echoes NUL: %q", msg)
		}
	}
	_, m = f.json(a, "GET", "/domains", "")
	if ds, _ := m["domains"].([]any); len(ds) != 0 {
		t.Errorf("domains written by refused requests: %v", ds)
	}
	_, m = f.json(a, "GET", "/scim-tokens", "")
	if toks, _ := m["tokens"].([]any); len(toks) != 1 {
		t.Errorf("%d tokens after refused requests, want 1", len(toks))
	}
	org, _ := f.st.GetOrg(ctx, a.ID)
	if org.EnforcesSSO() {
		t.Error("enforcement switched on by a refused request")
	}
}

// TestEnforcementNeedsTestedConnection: an active connection that
// was never tested successfully, a tested but disabled one, and a tested
// draft do not allow enforcement; a tested active one does.
func TestEnforcementNeedsTestedConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	mk := func(st sso.ConnectionStatus, tested bool) *sso.Connection {
		c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: a.ID, Protocol: oidc.Protocol, Status: st,
			Config: &oidc.ConnectionConfig{Issuer: "https://i", ClientID: "c"}}
		if tested {
			c.LastTestOK = time.Now()
		}
		if err := f.st.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	mk(sso.ConnectionActive, false)
	mk(sso.ConnectionDisabled, true)
	mk(sso.ConnectionDraft, true)
	code, m := f.json(a, "PUT", "/enforcement", `{"enabled":true}`)
	if code != 400 || m["error"] != "no_tested_connection" {
		t.Fatalf("enforce without a tested active connection: %d %v", code, m)
	}
	// Another org's tested active connection does not count.
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: f.orgB.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
		Config: &oidc.ConnectionConfig{Issuer: "https://i", ClientID: "c"}, LastTestOK: time.Now()}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if code, m := f.json(a, "PUT", "/enforcement", `{"enabled":true}`); code != 400 || m["error"] != "no_tested_connection" {
		t.Fatalf("A enforced on B's connection: %d %v", code, m)
	}
	mk(sso.ConnectionActive, true)
	if code, m := f.json(a, "PUT", "/enforcement", `{"enabled":true}`); code != 200 || m["enforced"] != true {
		t.Fatalf("enforce with a tested active connection: %d %v", code, m)
	}
}

// TestCrossTenantVerifiedDomain: org B reaching for a domain org A
// has verified gets the 404 of a missing domain, A's domain stays, and
// each attempt is audited in B.
func TestCrossTenantVerifiedDomain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.orgA, f.orgB
	if err := f.st.CreateDomain(ctx, &sso.Domain{OrgID: a.ID, Name: "alpha.example", Token: "t", State: sso.DomainVerified,
		VerifiedAt: time.Now(), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	before := len(evs(f, b.ID))
	for _, rt := range [][2]string{{"GET", "/domains/alpha.example"}, {"POST", "/domains/ALPHA.example./verify"}, {"DELETE", "/domains/alpha.example"}} {
		code, m := f.json(b, rt[0], rt[1], "")
		code2, m2 := f.json(b, rt[0], strings.Replace(strings.ToLower(rt[1]), "alpha.example", "nothere.example", 1), "")
		if code != 404 || code2 != 404 || m["message"] != m2["message"] {
			t.Errorf("%s %s: %d %v, missing domain %d %v", rt[0], rt[1], code, m, code2, m2)
		}
	}
	if got := len(evs(f, b.ID)) - before; got != 3 {
		t.Errorf("%d cross-tenant events, want 3", got)
	}
	if d, err := f.st.FindVerifiedDomain(ctx, "alpha.example"); err != nil || d.OrgID != a.ID {
		t.Fatalf("A's domain after B's attempts: %v %v", d, err)
	}
}
