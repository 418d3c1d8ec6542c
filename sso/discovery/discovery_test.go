package discovery_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/discovery"
)

var ctx = ssoenv.Ctx

func TestDiscoveryRoutesVerifiedDomainToStarter(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	_, de := e.Discovery(t, nil)

	res := de.PostForm(t, " Alice@ACME.com ", "/reports?q=1")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "https://idp.example/") {
		t.Fatalf("got %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	call := de.Starter.Last(t)
	if call.Conn != c.ID || call.Opts.ReturnTo != "/reports?q=1" || call.Opts.LoginHint != "Alice@ACME.com" || call.Opts.Test {
		t.Fatalf("got %+v", call)
	}
	// JSON client: the redirect becomes a document, cookies are kept.
	jres, m := de.PostJSON(t, `{"email":"bob@acme.com","return_to":"/x"}`)
	if jres.StatusCode != 200 || !strings.HasPrefix(m["redirect_url"].(string), "https://idp.example/") {
		t.Fatalf("got %d %v", jres.StatusCode, m)
	}
	if len(jres.Cookies()) == 0 || jres.Cookies()[0].Name != "sso_state" {
		t.Fatalf("starter cookie lost: %v", jres.Cookies())
	}
	// GET with ?email= works too.
	if res := de.Get(t, "/sso/login?email=carol@acme.com"); res.StatusCode != http.StatusFound {
		t.Fatalf("GET: %d", res.StatusCode)
	}
}

func TestDiscoveryChooserAndSlug(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	c1 := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	c2 := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://login.microsoftonline.example/t/v2.0")
	e.Conn(a.ID, oidc.Protocol, sso.ConnectionDraft, "https://draft.example")
	_, de := e.Discovery(t, nil)

	res, m := de.PostJSON(t, `{"email":"alice@acme.com","return_to":"/r"}`)
	if res.StatusCode != 200 {
		t.Fatalf("got %d", res.StatusCode)
	}
	conns := m["connections"].([]any)
	if len(conns) != 2 {
		t.Fatalf("got %d choices, want 2 (draft hidden): %v", len(conns), m)
	}
	var u string
	for _, ch := range conns {
		if ch.(map[string]any)["id"] == c1.ID {
			u = ch.(map[string]any)["url"].(string)
		}
	}
	if !strings.HasPrefix(u, "https://app.example/sso/login/acme/"+c1.ID+"?") || !strings.Contains(u, "return_to=%2Fr") {
		t.Fatalf("got chooser URL %s", u)
	}
	// Following a choice starts that connection.
	res2 := de.Get(t, "/sso/login/acme/"+c2.ID+"?return_to=/r&login_hint=alice@acme.com")
	if res2.StatusCode != http.StatusFound || de.Starter.Last(t).Conn != c2.ID || de.Starter.Last(t).Opts.ReturnTo != "/r" {
		t.Fatalf("got %d %+v", res2.StatusCode, de.Starter.Last(t))
	}
	// A template hook replaces the JSON.
	_, de2 := e.Discovery(t, func(c *discovery.Config) {
		c.Chooser = func(w http.ResponseWriter, r *http.Request, org *sso.Organization, ch []discovery.ConnectionChoice) {
			fmt.Fprintf(w, "choose for %s: %d", org.Slug, len(ch))
		}
	})
	res3, err := de2.Client.PostForm(de2.Srv.URL+"/sso/login", url.Values{"email": {"a@acme.com"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res3.Body)
	res3.Body.Close()
	if string(b) != "choose for acme: 2" {
		t.Fatalf("got %q", b)
	}
	// Connection of another org through this org's slug: fallback.
	b2 := e.Org("beta", nil)
	cb := e.Conn(b2.ID, saml.Protocol, sso.ConnectionActive, "https://idp.beta")
	res4 := de.Get(t, "/sso/login/acme/"+cb.ID)
	if res4.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res4.Header.Get("Location"), "/password-login") {
		t.Fatalf("cross-org connection: %d %s", res4.StatusCode, res4.Header.Get("Location"))
	}
}

func TestDiscoveryResolverHook(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	c := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://idp.acme")
	_, de := e.Discovery(t, func(cfg *discovery.Config) {
		cfg.ResolveOrg = func(r *http.Request) (string, bool) {
			sub, _, ok := strings.Cut(r.Header.Get("X-Test-Host"), ".")
			return sub, ok
		}
	})
	req, _ := http.NewRequest("POST", de.Srv.URL+"/sso/login", strings.NewReader("email="))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Host", "acme.app.example")
	res, err := de.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || de.Starter.Last(t).Conn != c.ID {
		t.Fatalf("got %d", res.StatusCode)
	}
}

// TestTM7_TenantEnumeration: unknown, unverified and public-mail domains,
// organizations without SSO (none, draft, disabled, plan-gated), unknown
// slugs: all get the same status and response shape, differing only in the
// echoed login_hint.
func TestTM7_TenantEnumeration(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	pw := e.Org("pwonly", nil)
	e.Verified(pw.ID, "pwonly.com")
	draft := e.Org("drafty", nil)
	e.Verified(draft.ID, "drafty.com")
	e.Conn(draft.ID, saml.Protocol, sso.ConnectionDraft, "https://d")
	dis := e.Org("disabled", nil)
	e.Verified(dis.ID, "disabled.com")
	e.Conn(dis.ID, saml.Protocol, sso.ConnectionDisabled, "https://x")
	gated := e.Org("gated", func(s *sso.OrgSettings) { s.Features = s.Features.Without("saml") })
	e.Verified(gated.ID, "gated.com")
	e.Conn(gated.ID, saml.Protocol, sso.ConnectionActive, "https://g")
	pend := e.Org("pending", nil)
	if err := e.St.CreateDomain(ctx, &sso.Domain{OrgID: pend.ID, Name: "pending.com", Token: "t", State: sso.DomainPending}); err != nil {
		t.Fatal(err)
	}
	e.Conn(pend.ID, saml.Protocol, sso.ConnectionActive, "https://p")
	_, de := e.Discovery(t, nil)

	cases := []string{"x@unknown-domain.com", "x@pending.com", "x@gmail.com", "x@pwonly.com", "x@drafty.com",
		"x@disabled.com", "x@gated.com", "not-an-email", "", "x@1.2.3.4", strings.Repeat("a", 300) + "@x.com"}
	for _, email := range cases {
		res := de.PostForm(t, email, "/after")
		loc := res.Header.Get("Location")
		hint := email
		if len(email) > normalize.MaxEmailLength {
			hint = ""
		}
		want := "/password-login?" + url.Values{"login_hint": {hint}, "return_to": {"/after"}}.Encode()
		if hint == "" {
			want = "/password-login?return_to=%2Fafter"
		}
		if res.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("%q: got %d %q, want 303 %q", email, res.StatusCode, loc, want)
		}
		jres, m := de.PostJSON(t, fmt.Sprintf(`{"email":%q,"return_to":"/after"}`, email))
		if jres.StatusCode != 200 || len(m) != 1 || m["redirect_url"] != want {
			t.Errorf("%q JSON: got %d %v", email, jres.StatusCode, m)
		}
	}
	if n := de.Starter.Calls(); n != 0 {
		t.Fatalf("starter called %d times", n)
	}
	// Slugs: unknown and password-only look the same.
	for _, slug := range []string{"pwonly", "nosuchorg", "gated", "BAD_slug"} {
		res := de.Get(t, "/sso/login/"+slug+"?return_to=/after")
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/password-login?return_to=%2Fafter" {
			t.Errorf("slug %s: got %d %s", slug, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

func TestTM7_DiscoveryRateLimited(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	_, de := e.Discovery(t, func(c *discovery.Config) { c.RateLimit = 0.001; c.Burst = 3 })
	codes := []int{}
	for i := 0; i < 5; i++ {
		codes = append(codes, de.PostForm(t, "x@unknown.com", "/").StatusCode)
	}
	want := []int{303, 303, 303, 429, 429}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", codes, want)
	}
	// Another client is not affected.
	d2, _ := e.Discovery(t, func(c *discovery.Config) {
		c.RateLimit = 0.001
		c.Burst = 1
		c.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Client") }
	})
	for i, ip := range []string{"a", "b", "a"} {
		r := httptest.NewRequest("POST", "/login", strings.NewReader("email=x@y.com"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Client", ip)
		w := httptest.NewRecorder()
		d2.ServeHTTP(w, r)
		if wantCode := []int{303, 303, 429}[i]; w.Code != wantCode {
			t.Fatalf("request %d from %s: got %d, want %d", i, ip, w.Code, wantCode)
		}
		if w.Code == 429 {
			var m map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m["error"] != "rate_limited" {
				t.Fatalf("got %s", w.Body)
			}
		}
	}
}

// TestTS19_ReturnToPayloads: every open-redirect payload falls back to the
// default path, in discovery (starter options and local-login URL).
func TestTS19_ReturnToPayloads(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	_, de := e.Discovery(t, nil)
	for _, p := range ssoenv.ReturnToPayloads {
		de.PostForm(t, "a@acme.com", p)
		if got := de.Starter.Last(t).Opts.ReturnTo; got != "/home" {
			t.Errorf("payload %q reached the starter as %q", p, got)
		}
		res := de.PostForm(t, "a@unknown.com", p)
		if loc := res.Header.Get("Location"); loc != "/password-login?login_hint=a%40unknown.com&return_to=%2Fhome" {
			t.Errorf("payload %q: local login %q", p, loc)
		}
	}
}

func TestDiscoveryBadInput(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	_, de := e.Discovery(t, nil)
	for _, body := range []string{`{`, `{"email":"a@b.com","extra":1}`, `{"email":` + strings.Repeat(`"a`, 10000) + `"}`, `[]`} {
		res, m := de.PostJSON(t, body)
		if res.StatusCode != http.StatusBadRequest || m["error"] != "invalid_input" {
			t.Errorf("%.40s: got %d %v", body, res.StatusCode, m)
		}
	}
	// Starter failure: 503 without internals.
	e2 := ssoenv.New(t)
	a := e2.Org("acme", nil)
	e2.Verified(a.ID, "acme.com")
	e2.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://i")
	_, de2 := e2.Discovery(t, nil)
	de2.Starter.Err = errors.New("secret internal detail")
	res, err := de2.Client.PostForm(de2.Srv.URL+"/sso/login", url.Values{"email": {"a@acme.com"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(b), "secret") {
		t.Fatalf("got %d %s", res.StatusCode, b)
	}
}

func TestNewDiscoveryConfig(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	base, _ := url.Parse("https://app.example/sso/")
	st := map[sso.Protocol]sso.Starter{saml.Protocol: &ssoenv.FakeStarter{}}
	for i, cfg := range []discovery.Config{
		{},
		{Store: e.St, BaseURL: base, LocalLoginURL: "/l"},
		{Store: e.St, Starters: st, LocalLoginURL: "/l"},
		{Store: e.St, Starters: st, BaseURL: &url.URL{Path: "/rel"}, LocalLoginURL: "/l"},
		{Store: e.St, Starters: st, BaseURL: base},
		{Store: e.St, Starters: st, BaseURL: base, LocalLoginURL: "/l", DefaultReturnTo: "https://evil"},
	} {
		if _, err := discovery.New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("config %d: got %v", i, err)
		}
	}
}

func BenchmarkDiscoveryUnknownDomain(b *testing.B) {
	e := ssoenv.New(b)
	d, err := discovery.New(discovery.Config{Store: e.St, Starters: map[sso.Protocol]sso.Starter{saml.Protocol: &ssoenv.FakeStarter{}},
		BaseURL: &url.URL{Scheme: "https", Host: "app.example"}, LocalLoginURL: "/l", RateLimit: 1e9, Burst: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "/login?email=x@unknown.example", nil)
		w := httptest.NewRecorder()
		d.ServeHTTP(w, r)
	}
}
