package portal_test

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/html"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
)

func TestCSRFRefused(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionDomains)
	good := b.csrf()
	cases := []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"missing token", url.Values{"name": {"a.example"}}, nil},
		{"wrong token", url.Values{"name": {"a.example"}, "csrf": {opaque.NewToken(24)}}, nil},
		{"other session's token", url.Values{"name": {"a.example"}, "csrf": {func() string { o, _ := f.open(f.orgA, portal.SectionDomains); return o.csrf() }()}}, nil},
		{"cross-site request with the right token", url.Values{"name": {"a.example"}, "csrf": {good}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/portal/domains", strings.NewReader(tc.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		r := b.do(req)
		if r.Status != http.StatusForbidden || !strings.Contains(r.text(), "could not confirm that this form came from this page") {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.text())
		}
	}
	if ds, _ := f.st.ListDomains(ctx, f.orgA.ID); len(ds) != 0 {
		t.Fatalf("a refused form added a domain: %v", ds)
	}
	if r := b.post("/domains", url.Values{"name": {"a.example"}, "csrf": {good}}); r.Status != http.StatusSeeOther {
		t.Fatalf("valid form: %d %s", r.Status, r.text())
	}
}

// seedConnection stores a SAML connection of org directly.
func (f *fixture) seedConnection(org *sso.Organization, name string) *sso.Connection {
	f.t.Helper()
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: org.ID, Protocol: saml.Protocol, Status: sso.ConnectionDraft,
		DisplayName: name, Config: &saml.ConnectionConfig{IdPEntityID: "https://idp." + org.Slug, SSOURL: "https://idp." + org.Slug + "/sso"},
		CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	connB := f.seedConnection(f.orgB, "Beta secret IdP")
	f.seedConnection(f.orgA, "Alpha IdP")
	b, _ := f.open(f.orgA, portal.AllSections...)
	if r := b.get("/sso"); strings.Contains(r.Body, "Beta secret IdP") || !strings.Contains(r.Body, "Alpha IdP") {
		t.Fatalf("org A's list shows org B's connection or misses its own")
	}
	if r := b.get("/connections/" + connB.ID); r.Status != http.StatusNotFound || strings.Contains(r.Body, "Beta secret IdP") {
		t.Fatalf("org B's connection through org A's link: %d", r.Status)
	}
	for _, act := range []string{"delete", "disable", "activate", "settings", "test"} {
		r := b.post("/connections/"+connB.ID+"/"+act, b.form("confirmed", "yes", "display_name", "pwned"))
		if r.Status != http.StatusNotFound {
			t.Errorf("%s org B's connection: %d", act, r.Status)
		}
	}
	got, err := f.st.GetConnection(ctx, connB.ID)
	if err != nil || got.DisplayName != "Beta secret IdP" || got.Status != sso.ConnectionDraft {
		t.Fatalf("org B's connection changed: %+v %v", got, err)
	}
	if len(f.events(f.orgA, sso.EventCrossTenantDenied)) == 0 {
		t.Fatal("cross-tenant attempts not audited")
	}
	// Domains and tokens of org B are out of reach too.
	if err := f.st.CreateDomain(ctx, &sso.Domain{OrgID: f.orgB.ID, Name: "beta.example", Token: "t", State: sso.DomainPending, CreatedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/domains"); strings.Contains(r.Body, "beta.example") {
		t.Fatal("org A sees org B's domain")
	}
	if r := b.post("/domains/beta.example/remove", b.form("confirmed", "yes")); r.Status != http.StatusNotFound {
		t.Fatalf("remove org B's domain: %d", r.Status)
	}
	if _, err := f.st.GetDomain(ctx, f.orgB.ID, "beta.example"); err != nil {
		t.Fatalf("org B's domain removed: %v", err)
	}
	if evs := f.events(f.orgB, ""); len(evs) != 0 {
		t.Fatalf("org A's session wrote to org B's audit trail: %+v", evs[0])
	}
}

func TestDoubleSubmitCreatesOneConnection(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	form := b.form("display_name", "Okta", "form", opaque.NewToken(16))
	var wg sync.WaitGroup
	locs := make([]string, 4)
	for i := range locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/portal/sso/new/okta", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := b.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			locs[i] = res.Header.Get("Location")
		}()
	}
	wg.Wait()
	conns, _ := f.st.ListConnections(ctx, f.orgA.ID)
	if len(conns) != 1 {
		t.Fatalf("%d connections from one form, want 1", len(conns))
	}
	// A later repeat (after the first finished) leads to that connection.
	r := b.post("/sso/new/okta", form)
	if loc := r.Header.Get("Location"); r.Status != http.StatusSeeOther || !strings.Contains(loc, conns[0].ID) || !strings.Contains(loc, "done=duplicate") {
		t.Fatalf("repeat: %d %q", r.Status, loc)
	}
	// A new form (new token) creates a second connection.
	if r := b.post("/sso/new/okta", b.form("display_name", "Okta 2", "form", opaque.NewToken(16))); r.Status != http.StatusSeeOther {
		t.Fatalf("second form: %d", r.Status)
	}
	if conns, _ := f.st.ListConnections(ctx, f.orgA.ID); len(conns) != 2 {
		t.Fatalf("%d connections, want 2", len(conns))
	}
}

func TestDestructiveActionsNeedConfirmation(t *testing.T) {
	f := newFixture(t)
	c := f.seedConnection(f.orgA, "Okta")
	b, _ := f.open(f.orgA, portal.AllSections...)
	r := b.post("/connections/"+c.ID+"/delete", b.form())
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "deleted for good") {
		t.Fatalf("delete without confirmation: %d %s", r.Status, r.text())
	}
	if _, err := f.st.GetConnection(ctx, c.ID); err != nil {
		t.Fatalf("deleted without confirmation: %v", err)
	}
	// The confirmation page posts back to the same action with confirmed=yes.
	if !regexp.MustCompile(`action="/portal/connections/`+c.ID+`/delete"`).MatchString(r.Body) || !strings.Contains(r.Body, `name="confirmed" value="yes"`) {
		t.Fatalf("confirmation form missing: %s", r.Body)
	}
	if r := b.post("/connections/"+c.ID+"/delete", b.form("confirmed", "yes")); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed delete: %d %s", r.Status, r.text())
	}
	if _, err := f.st.GetConnection(ctx, c.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("confirmed delete left the connection: %v", err)
	}
	// Stopping SSO enforcement, revoking a token and removing a domain ask too.
	b.post("/directory/tokens", b.form("form", opaque.NewToken(16)))
	toks, _ := f.st.ListSCIMTokens(ctx, f.orgA.ID)
	if len(toks) != 1 {
		t.Fatalf("%d tokens", len(toks))
	}
	for _, path := range []string{"/sso/enforcement", "/domains/a.example/remove", "/directory/tokens/" + toks[0].ID + "/revoke"} {
		r := b.post(path, b.form("enabled", "off"))
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="confirmed" value="yes"`) {
			t.Errorf("%s: %d, want a confirmation page", path, r.Status)
		}
	}
}

func TestHostAuthorization(t *testing.T) {
	var who struct {
		sync.Mutex
		org, id string
	}
	f := newFixture(t, func(c *portal.Config) {
		c.Authorize = func(r *http.Request) (string, sso.Actor, error) {
			who.Lock()
			defer who.Unlock()
			if who.org == "" {
				return "", sso.Actor{}, errors.New("not signed in")
			}
			return who.org, sso.Actor{Type: sso.ActorAdmin, ID: who.id}, nil
		}
	})
	f.seedConnection(f.orgA, "Alpha IdP")
	f.seedConnection(f.orgB, "Beta IdP")
	b := f.browser()
	if r := b.get("/sso"); r.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", r.Status)
	}
	who.org, who.id = f.orgA.ID, "usr_alice"
	r := b.get("/sso")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Alpha IdP") || strings.Contains(r.Body, "Beta IdP") {
		t.Fatalf("admin of A: %d", r.Status)
	}
	tokA := b.csrf()
	// The host now says this browser administers B: the A session (and its
	// form token) is gone.
	who.org, who.id = f.orgB.ID, "usr_bob"
	if r := b.get("/sso"); !strings.Contains(r.Body, "Beta IdP") || strings.Contains(r.Body, "Alpha IdP") {
		t.Fatal("session did not follow the host's authorization")
	}
	if r := b.post("/domains", url.Values{"csrf": {tokA}, "name": {"x.example"}}); r.Status != http.StatusForbidden {
		t.Fatalf("form token of the previous session accepted: %d", r.Status)
	}
	if r := b.post("/domains", b.form("name", "beta.example")); r.Status != http.StatusSeeOther {
		t.Fatalf("add domain: %d %s", r.Status, r.text())
	}
	evs := f.events(f.orgB, "")
	if len(evs) == 0 || evs[len(evs)-1].Actor != (sso.Actor{Type: sso.ActorAdmin, ID: "usr_bob"}) {
		t.Fatalf("host admin's change not attributed: %+v", evs)
	}
	who.org = ""
	if r := b.get("/sso"); r.Status != http.StatusUnauthorized {
		t.Fatalf("after host sign-out: %d", r.Status)
	}
}

// TestPagesAreStrictCSPClean walks every page and checks the headers and
// markup a strict Content-Security-Policy and assistive technology need.
func TestPagesAreStrictCSPClean(t *testing.T) {
	f := newFixture(t)
	c := f.seedConnection(f.orgA, "Okta")
	b, _ := f.open(f.orgA, portal.AllSections...)
	b.post("/domains", b.form("name", "alpha.example"))
	for _, path := range []string{"/", "/sso", "/sso/new/okta", "/sso/new/oidc", "/connections/" + c.ID, "/domains", "/directory", "/audit"} {
		r := b.get(path)
		if r.Status != http.StatusOK {
			t.Errorf("%s: %d", path, r.Status)
			continue
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if r.Header.Get("X-Frame-Options") != "DENY" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: framing or caching headers missing", path)
		}
		checkMarkup(t, path, r.Doc)
	}
}

func checkMarkup(t *testing.T, path string, doc *html.Node) {
	t.Helper()
	labels := map[string]bool{}
	var inputs []*html.Node
	ids := map[string]int{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
				if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
					t.Errorf("%s: <%s %s> breaks the CSP", path, n.Data, a.Key)
				}
			}
			if id, ok := attrs["id"]; ok {
				ids[id]++
			}
			switch n.Data {
			case "style":
				t.Errorf("%s: inline <style>", path)
			case "script":
				if attrs["src"] == "" {
					t.Errorf("%s: inline <script>", path)
				}
			case "label":
				labels[attrs["for"]] = true
			case "input", "select", "textarea":
				if attrs["type"] != "hidden" {
					inputs = append(inputs, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, in := range inputs {
		id, aria := "", ""
		for _, a := range in.Attr {
			switch a.Key {
			case "id":
				id = a.Val
			case "aria-label":
				aria = a.Val
			}
		}
		if aria == "" && (id == "" || !labels[id]) {
			t.Errorf("%s: <%s id=%q> has no label", path, in.Data, id)
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s: id %q used %d times", path, id, n)
		}
	}
}

// TestHostPolicyAppliesInThePortal checks that the host's admin policy
// (admin.Config.RequireAdmin, e.g. MFA) guards the portal's changes too.
func TestHostPolicyAppliesInThePortal(t *testing.T) {
	var f0 *fixture
	f := newFixture(t, func(c *portal.Config) {
		c.Authorize = func(*http.Request) (string, sso.Actor, error) {
			return f0.orgA.ID, sso.Actor{Type: sso.ActorAdmin, ID: "usr_alice"}, nil // set below, before any request
		}
		c.Admin.RequireAdmin = []func(http.Handler) http.Handler{func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					next.ServeHTTP(w, r)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"error":"mfa_verification_required","message":"verify"}`))
			})
		}}
	})
	f0 = f
	b := f.browser()
	r := b.post("/domains", b.form("name", "alpha.example"))
	if r.Status != http.StatusForbidden || !strings.Contains(r.text(), "This change needs your second factor first") {
		t.Fatalf("policy refusal: %d %s", r.Status, r.text())
	}
	if ds, _ := f.st.ListDomains(ctx, f.orgA.ID); len(ds) != 0 {
		t.Fatal("the host's policy was bypassed")
	}
}

// TestMemberPolicyInThePortal: the admin API's member policy
// (admin.Config.RequireAdmin: the host's MFA and recent-login checks)
// guards the portal's pages for an admin the host signed in, whatever
// actor type the host gives them, and not for a setup link's holder, who
// has no member session to satisfy it.
func TestMemberPolicyInThePortal(t *testing.T) {
	var refused atomic.Int32
	var hostOrg atomic.Value // the organization the host signs its admin in to; "" for none
	hostOrg.Store("")
	f := newFixture(t, func(c *portal.Config) {
		c.Admin.RequireAdmin = []func(http.Handler) http.Handler{func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				refused.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"error":"mfa_verification_required","message":"Verify your second factor first."}`))
			})
		}}
		c.Authorize = func(r *http.Request) (string, sso.Actor, error) {
			org := hostOrg.Load().(string)
			if org == "" {
				return "", sso.Actor{}, errors.New("not signed in")
			}
			return org, sso.Actor{Type: sso.ActorUser, ID: "usr_alice"}, nil
		}
	})
	f.seedConnection(f.orgA, "Alpha IdP")
	link, _ := f.open(f.orgA, portal.AllSections...)
	if r := link.get("/sso"); r.Status != http.StatusOK || !strings.Contains(r.Body, "Alpha IdP") || refused.Load() != 0 {
		t.Fatalf("setup link: %d, policy ran %d times; want the page without the member policy", r.Status, refused.Load())
	}
	hostOrg.Store(f.orgA.ID)
	if r := f.browser().get("/sso"); r.Status != http.StatusForbidden || strings.Contains(r.Body, "Alpha IdP") || refused.Load() == 0 {
		t.Fatalf("host admin without the policy met: %d, policy ran %d times; want 403", r.Status, refused.Load())
	}
}
