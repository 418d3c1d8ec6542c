package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
)

func TestSetupLinkStartsScopedSession(t *testing.T) {
	f := newFixture(t)
	u, l := f.link(f.orgA, portal.SectionDomains)
	if !strings.HasPrefix(u, "https://app.example/portal/start/") || len(token(u)) < 40 {
		t.Fatalf("link URL %q", u)
	}
	b := f.browser()
	// Opening the link (as a mail scanner would) does not spend it.
	for range 2 {
		if r := b.get("/start/" + token(u)); r.Status != http.StatusOK || !strings.Contains(r.text(), "Start setup") {
			t.Fatalf("start page: %d %s", r.Status, r.text())
		}
	}
	r := b.post("/start", url.Values{"token": {token(u)}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/portal/" {
		t.Fatalf("start: %d %q", r.Status, r.Header.Get("Location"))
	}
	ck := r.Header.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/portal/"} {
		if !strings.Contains(ck, attr) {
			t.Errorf("session cookie %q lacks %s", ck, attr)
		}
	}
	if r := b.get("/domains"); r.Status != http.StatusOK {
		t.Fatalf("domains: %d", r.Status)
	}
	// The link covers domains only: SSO, directory sync and audit refuse.
	for _, p := range []string{"/sso", "/sso/new/okta", "/directory", "/audit"} {
		r := b.get(p)
		if r.Status != http.StatusForbidden || !strings.Contains(r.text(), "does not include this section") {
			t.Errorf("%s: %d, want 403 naming the scope: %s", p, r.Status, r.text())
		}
	}
	if r := b.post("/sso/new/okta", b.form("display_name", "Okta", "form", "0123456789abcdefXYZ")); r.Status != http.StatusForbidden {
		t.Errorf("create connection outside scope: %d", r.Status)
	}
	if conns, _ := f.st.ListConnections(ctx, f.orgA.ID); len(conns) != 0 {
		t.Fatalf("a link for domains created a connection")
	}
	// The navigation offers only the link's sections.
	if nav := r.text(); strings.Contains(nav, "Single sign-on Domains") {
		t.Errorf("navigation shows sections outside the scope: %s", nav)
	}
	used := f.events(f.orgA, portal.EventSetupLinkUsed)
	if len(used) != 1 || used[0].Actor.Type != portal.ActorSetupLink || used[0].Actor.ID != l.ID {
		t.Fatalf("setup link use not audited as the link: %+v", used)
	}
}

func TestSetupLinkActionsAreAuditedAsTheLink(t *testing.T) {
	f := newFixture(t)
	b, l := f.open(f.orgA, portal.SectionDomains)
	if r := b.post("/domains", b.form("name", "alpha.example")); r.Status != http.StatusSeeOther {
		t.Fatalf("add domain: %d %s", r.Status, r.text())
	}
	evs := f.events(f.orgA, "")
	found := false
	for _, e := range evs {
		if strings.HasPrefix(e.Type, "domain.") && e.Actor.Type == portal.ActorSetupLink && e.Actor.ID == l.ID {
			found = true
		}
	}
	if !found {
		t.Fatalf("domain change not attributed to setup link %s: %+v", l.ID, evs)
	}
}

func TestSetupLinkIsSingleUse(t *testing.T) {
	f := newFixture(t)
	u, _ := f.link(f.orgA, portal.SectionSSO)
	if r := f.browser().post("/start", url.Values{"token": {token(u)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("first use: %d", r.Status)
	}
	r := f.browser().post("/start", url.Values{"token": {token(u)}})
	if r.Status != http.StatusGone || !strings.Contains(r.text(), "already used") || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("second use: %d %q %s", r.Status, r.Header.Get("Set-Cookie"), r.text())
	}
}

func TestSetupLinkExpires(t *testing.T) {
	f := newFixture(t)
	u, _, err := f.p.CreateLink(ctx, portal.LinkRequest{OrgID: f.orgA.ID, Sections: []portal.Section{portal.SectionSSO}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Hour)
	r := f.browser().post("/start", url.Values{"token": {token(u)}})
	if r.Status != http.StatusGone || !strings.Contains(r.text(), "expired") {
		t.Fatalf("expired link: %d %s", r.Status, r.text())
	}
}

func TestSetupLinkUnknownToken(t *testing.T) {
	f := newFixture(t)
	f.link(f.orgA, portal.SectionSSO)
	r := f.browser().post("/start", url.Values{"token": {strings.Repeat("A", 43)}})
	if r.Status != http.StatusNotFound || !strings.Contains(r.text(), "not valid") {
		t.Fatalf("forged token: %d %s", r.Status, r.text())
	}
}

func TestRevokingLinkEndsItsSessions(t *testing.T) {
	f := newFixture(t)
	b, l := f.open(f.orgA, portal.SectionSSO)
	if r := b.get("/sso"); r.Status != http.StatusOK {
		t.Fatalf("before revocation: %d", r.Status)
	}
	if err := f.p.RevokeLink(ctx, f.orgB.ID, l.ID, sso.Actor{Type: sso.ActorOperator, ID: "x"}); err == nil {
		t.Fatal("org B revoked org A's link")
	}
	if err := f.p.RevokeLink(ctx, f.orgA.ID, l.ID, sso.Actor{Type: sso.ActorOperator, ID: "staff-1"}); err != nil {
		t.Fatal(err)
	}
	r := b.get("/sso")
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.text(), "Your access was withdrawn") {
		t.Fatalf("after revocation: %d %s", r.Status, r.text())
	}
	if len(f.events(f.orgA, portal.EventSetupLinkRevoked)) != 1 {
		t.Fatal("revocation not audited")
	}
}

func TestSessionIdleAndAbsoluteLifetime(t *testing.T) {
	f := newFixture(t, func(c *portal.Config) { c.IdleTimeout = 10 * time.Minute; c.MaxLifetime = time.Hour })
	b, _ := f.open(f.orgA, portal.SectionSSO)
	f.clock.Add(9 * time.Minute)
	if r := b.get("/sso"); r.Status != http.StatusOK {
		t.Fatalf("active session refused: %d", r.Status)
	}
	f.clock.Add(10 * time.Minute)
	if r := b.get("/sso"); r.Status != http.StatusUnauthorized || !strings.Contains(r.text(), "session has ended") {
		t.Fatalf("idle session: %d %s", r.Status, r.text())
	}
	b2, _ := f.open(f.orgA, portal.SectionSSO)
	for range 6 {
		f.clock.Add(9 * time.Minute)
		if r := b2.get("/sso"); r.Status != http.StatusOK {
			t.Fatalf("active session refused early: %d", r.Status)
		}
	}
	f.clock.Add(9 * time.Minute) // 63 minutes after the start
	if r := b2.get("/sso"); r.Status != http.StatusUnauthorized {
		t.Fatalf("session outlived its absolute lifetime: %d", r.Status)
	}
}

func TestCreateLinkValidates(t *testing.T) {
	f := newFixture(t)
	for _, req := range []portal.LinkRequest{
		{OrgID: f.orgA.ID},
		{OrgID: f.orgA.ID, Sections: []portal.Section{"billing"}},
		{OrgID: f.orgA.ID, Sections: []portal.Section{portal.SectionSSO}, TTL: 30 * 24 * time.Hour},
	} {
		_, _, err := f.p.CreateLink(ctx, req)
		var fe *portal.FieldError
		if !errorsAs(err, &fe) || fe.Field == "" {
			t.Errorf("%+v: %v, want a FieldError", req, err)
		}
	}
	if _, _, err := f.p.CreateLink(ctx, portal.LinkRequest{OrgID: "org_missing", Sections: []portal.Section{portal.SectionSSO}}); !errorsIs(err, sso.ErrNotFound) {
		t.Errorf("unknown org: %v", err)
	}
}

func TestSetupLinkCannotBeStartedCrossSite(t *testing.T) {
	f := newFixture(t)
	u, _ := f.link(f.orgA, portal.SectionSSO)
	for name, hdr := range map[string][2]string{
		"cross-site fetch": {"Sec-Fetch-Site", "cross-site"},
		"foreign origin":   {"Origin", "https://evil.example"},
	} {
		b := f.browser()
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/portal/start", strings.NewReader(url.Values{"token": {token(u)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(hdr[0], hdr[1])
		r := b.do(req)
		if r.Status != http.StatusForbidden || r.Header.Get("Set-Cookie") != "" || !strings.Contains(r.text(), "must be opened directly") {
			t.Errorf("%s: %d %s", name, r.Status, r.text())
		}
	}
	// The refused attempts did not spend the link.
	b := f.browser()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/portal/start", strings.NewReader(url.Values{"token": {token(u)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := b.do(req); r.Status != http.StatusSeeOther {
		t.Fatalf("same-origin start: %d %s", r.Status, r.text())
	}
	if txt := b.get("/sso").text(); !strings.Contains(txt, "Organization: alpha") {
		t.Fatalf("the organization being set up is not named: %s", txt)
	}
}

// TestSetupLinkStartsWithDefaultPortBaseURL: a BaseURL written with the
// scheme's default port or capital letters names the same origin the
// browser sends (which carries neither), so a setup link opened directly
// still starts its session, and another port is still refused.
func TestSetupLinkStartsWithDefaultPortBaseURL(t *testing.T) {
	f := newFixture(t, func(c *portal.Config) { c.BaseURL = "https://App.Example:443/portal" })
	start := func(origin string) *response {
		u, _ := f.link(f.orgA, portal.SectionSSO)
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/portal/start", strings.NewReader(url.Values{"token": {token(u)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		return f.browser().do(req)
	}
	if r := start("https://app.example"); r.Status != http.StatusSeeOther {
		t.Fatalf("same-origin start: %d %s", r.Status, r.text())
	}
	if r := start("https://app.example:8443"); r.Status != http.StatusForbidden || !strings.Contains(r.text(), "must be opened directly") {
		t.Fatalf("start from another port: %d %s", r.Status, r.text())
	}
}

// TestStartPageStatesTheIdleTimeout: the start page tells the person the
// idle timeout this portal was configured with, not a fixed one.
func TestStartPageStatesTheIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		idle time.Duration
		want string
	}{{0, "after 30 minutes without activity"}, {2 * time.Hour, "after 2 hours without activity"}, {90 * time.Minute, "after 90 minutes without activity"}} {
		f := newFixture(t, func(c *portal.Config) { c.IdleTimeout = tc.idle })
		u, _ := f.link(f.orgA, portal.SectionSSO)
		if r := f.browser().get("/start/" + token(u)); r.Status != http.StatusOK || !strings.Contains(r.text(), tc.want) {
			t.Errorf("idle timeout %v: %d %s, want %q", tc.idle, r.Status, r.text(), tc.want)
		}
	}
}

// TestSetupLinkURLWithTrailingSlashBaseURL: a BaseURL written with a
// trailing slash gives setup links without an empty path segment, which
// routers that do not clean paths would not route to the portal.
func TestSetupLinkURLWithTrailingSlashBaseURL(t *testing.T) {
	f := newFixture(t, func(c *portal.Config) { c.BaseURL = "https://app.example/portal/" })
	u, _ := f.link(f.orgA, portal.SectionSSO)
	if want := "https://app.example/portal/start/" + token(u); u != want {
		t.Fatalf("setup link %q, want %q", u, want)
	}
	if r := f.browser().get("/start/" + token(u)); r.Status != http.StatusOK || !strings.Contains(r.text(), "Start setup") {
		t.Fatalf("start page: %d %s", r.Status, r.text())
	}
}
