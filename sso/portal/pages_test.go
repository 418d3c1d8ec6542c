package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
)

// createVia walks the guided setup of guide and returns the new
// connection's page path.
func createVia(t *testing.T, b *browser, guide, name string) string {
	t.Helper()
	r := b.post("/sso/new/"+guide, b.form("display_name", name, "form", opaque.NewToken(16)))
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/portal/connections/conn_") {
		t.Fatalf("create via %s: %d %q %s", guide, r.Status, loc, r.text())
	}
	loc, _, _ = strings.Cut(strings.TrimPrefix(loc, "/portal"), "?")
	return loc
}

// TestGuidedOIDCSetupShowsLoginURL shows, in the generic OIDC guide, the
// redirect URI to register and the login URL an IdP's app tile calls.
func TestGuidedOIDCSetupShowsLoginURL(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.AllSections...)
	page := createVia(t, b, "oidc", "Our OIDC provider")
	id := regexp.MustCompile(`conn_[0-9a-f]+`).FindString(page)
	r := b.get(page + "?guide=oidc")
	for _, v := range []string{"redirect_uri\" value=\"https://app.example/oidc/callback/" + id, "login_url\" value=\"https://app.example/oidc/login/" + id} {
		if !strings.Contains(r.Body, v) {
			t.Errorf("guide lacks %s:\n%s", v, r.text())
		}
	}
	if !strings.Contains(r.text(), "Initiate login URI") {
		t.Errorf("guide does not say where the login URL goes:\n%s", r.text())
	}
}

func TestGuidedSAMLSetup(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.AllSections...)
	page := createVia(t, b, "okta", "Okta production")
	id := regexp.MustCompile(`conn_[0-9a-f]+`).FindString(page)
	r := b.get(page + "?guide=okta&done=created")
	txt := r.text()
	for _, want := range []string{"Connection created", "Needs identity provider details", "Audience URI (SP Entity ID)", "Metadata URL"} {
		if !strings.Contains(txt, want) {
			t.Errorf("detail page lacks %q: %s", want, txt)
		}
	}
	// Our values sit next to the step that needs them, with a copy button.
	acs := "https://app.example/saml/acs/" + id
	if !regexp.MustCompile(`<input id="v-1-acs_url" value="`+regexp.QuoteMeta(acs)+`" readonly>`).MatchString(r.Body) ||
		!strings.Contains(r.Body, `data-copy="v-1-acs_url"`) {
		t.Fatalf("ACS URL with copy button missing from step 2")
	}
	// Test before configuration is explained, not attempted.
	if r := b.post(page+"/test", b.form()); r.Status != http.StatusConflict || !strings.Contains(r.text(), "nothing to test yet") {
		t.Fatalf("test without IdP details: %d %s", r.Status, r.text())
	}
	// Bad paste: the field and the fix are named.
	r = b.post(page+"/idp", b.form("guide", "okta", "metadata_xml", "<html>not metadata</html>"))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "Identity provider settings") || !strings.Contains(r.text(), "metadata is not SAML metadata") {
		t.Fatalf("bad metadata: %d %s", r.Status, r.text())
	}
	// Good paste: the parsed metadata and certificate warnings are shown.
	r = b.post(page+"/idp", b.form("guide", "okta", "metadata_xml", "<EntityDescriptor/>"))
	txt = r.text()
	for _, want := range []string{"What we read from your identity provider", "http://www.okta.com/exk1", "CN=okta-current", "AB:CD:EF",
		"expires in 10 days", "CN=okta-next", "Needs a test sign-in"} {
		if !strings.Contains(txt, want) {
			t.Errorf("after metadata: page lacks %q: %s", want, txt)
		}
	}
	// Activation before a passing test is refused in plain words.
	r = b.post(page+"/activate", b.form("confirmed", "yes"))
	if r.Status != http.StatusConflict || !strings.Contains(r.text(), "has not passed a test sign-in yet") {
		t.Fatalf("activate untested: %d %s", r.Status, r.text())
	}
	// The test sign-in leaves for the IdP and comes back to this page.
	r = b.post(page+"/test", b.form())
	if r.Status != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "https://idp.example/login?conn="+id) ||
		!strings.Contains(r.Header.Get("Location"), url.QueryEscape("/portal/sso/tested")) {
		t.Fatalf("test: %d %q", r.Status, r.Header.Get("Location"))
	}
	if r := b.get("/sso/tested"); r.Header.Get("Location") != "/portal/connections/"+id+"#test" {
		t.Fatalf("return from test: %q", r.Header.Get("Location"))
	}
}

func TestTestResultExplained(t *testing.T) {
	f := newFixture(t)
	c := f.seedConnection(f.orgA, "Okta")
	c.LastTest = &sso.TestResult{At: f.clock.Now(), OK: false, Reason: "email_domain_not_verified",
		Detail: `email_domain_not_verified: want "a verified domain", got "corp.example"`}
	if err := f.st.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	txt := b.get("/connections/" + c.ID).text()
	for _, want := range []string{"Failed", "real sign-ins would be refused", "Verify the email domain on the Domains page",
		"email_domain_not_verified", `got "corp.example"`, "Test failed"} {
		if !strings.Contains(txt, want) {
			t.Errorf("test result lacks %q: %s", want, txt)
		}
	}
	if strings.Contains(txt, "Activate") {
		t.Error("a failed test offers activation")
	}
}

func TestIdPFaultsAreNamed(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	page := createVia(t, b, "saml", "Generic")
	for _, tc := range []struct{ url, status, what, detail string }{
		{"https://down.example/md", "502", "did not answer properly", "upstream answered 503"},
		{"https://garbage.example/md", "502", "document we could not use", "XML syntax error"},
	} {
		r := b.post(page+"/idp", b.form("guide", "saml", "metadata_url", tc.url))
		if r.Status != 502 || !strings.Contains(r.text(), tc.what) || !strings.Contains(r.text(), tc.detail) {
			t.Errorf("%s: %d %s", tc.url, r.Status, r.text())
		}
	}
}

func TestEditInPlaceReturnsToNeedsTest(t *testing.T) {
	f := newFixture(t)
	c := f.seedConnection(f.orgA, "Okta")
	c.Status, c.LastTestOK, c.LastTest = sso.ConnectionActive, f.clock.Now(), &sso.TestResult{At: f.clock.Now(), OK: true}
	if err := f.st.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	page := "/connections/" + c.ID
	// Name, mapping and group roles change without a retest.
	r := b.post(page+"/settings", b.form("display_name", "Okta EU", "map_email", "mail", "group_roles", "Engineering = admin\nSales=member"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("settings: %d %s", r.Status, r.text())
	}
	got, _ := f.st.GetConnection(ctx, c.ID)
	if got.DisplayName != "Okta EU" || got.Mapping.Email != "mail" || len(got.GroupRoles) != 2 || got.GroupRoles[0] != (sso.GroupRole{Group: "Engineering", Role: "admin"}) || got.Status != sso.ConnectionActive {
		t.Fatalf("settings not saved: %+v", got)
	}
	if r := b.post(page+"/settings", b.form("display_name", "x", "group_roles", "Engineering")); r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "line 1 must look like") {
		t.Fatalf("bad group mapping: %d %s", r.Status, r.text())
	}
	// New IdP settings on an active connection ask first, then need a test.
	r = b.post(page+"/idp", b.form("guide", "okta", "metadata_xml", "<EntityDescriptor/>"))
	if !strings.Contains(r.text(), "turns it off until a new test sign-in passes") {
		t.Fatalf("no confirmation before changing an active connection: %s", r.text())
	}
	if got, _ := f.st.GetConnection(ctx, c.ID); got.Status != sso.ConnectionActive {
		t.Fatal("changed before confirmation")
	}
	r = b.post(page+"/idp", b.form("guide", "okta", "metadata_xml", "<EntityDescriptor/>", "confirmed", "yes"))
	got, _ = f.st.GetConnection(ctx, c.ID)
	if got.Status != sso.ConnectionDraft || !got.LastTestOK.IsZero() || !strings.Contains(r.text(), "Needs a test sign-in") {
		t.Fatalf("IdP change did not return to needs-test: %+v", got)
	}
}

func TestDomainMessages(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionDomains)
	if r := b.post("/domains", b.form("name", "gmail.com")); r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "public email provider") {
		t.Fatalf("public domain: %d %s", r.Status, r.text())
	}
	for _, d := range []string{"alpha.example", "dnsdown.example"} {
		if r := b.post("/domains", b.form("name", d)); r.Status != http.StatusSeeOther {
			t.Fatalf("add %s: %d %s", d, r.Status, r.text())
		}
	}
	page := b.get("/domains")
	m := regexp.MustCompile(`id="n-alpha.example" value="([^"]+)"`).FindStringSubmatch(page.Body)
	v := regexp.MustCompile(`id="v-alpha.example" value="([^"]+)"`).FindStringSubmatch(page.Body)
	if m == nil || v == nil || !strings.Contains(page.Body, `data-copy="v-alpha.example"`) {
		t.Fatalf("TXT name/value with copy buttons missing")
	}
	check := func(name, want string) {
		t.Helper()
		r := b.post("/domains/"+name+"/verify", b.form())
		if !strings.Contains(r.text(), want) {
			t.Errorf("verify %s: %d, want %q: %s", name, r.Status, want, r.text())
		}
	}
	check("alpha.example", "could not find the TXT record yet")
	f.dns[m[1]] = []string{"something-else"}
	check("alpha.example", "its value is not the one we asked for")
	check("dnsdown.example", "could not ask DNS about your domain right now")
	// The page keeps the last result of each domain.
	if txt := b.get("/domains").text(); !strings.Contains(txt, "Failed: We found a TXT record with that name, but its value is not the one we asked for.") ||
		!strings.Contains(txt, "Failed: We could not ask DNS about your domain right now.") {
		t.Errorf("last results not shown: %s", txt)
	}
	f.dns[m[1]] = []string{v[1]}
	if r := b.post("/domains/alpha.example/verify", b.form()); r.Status != http.StatusSeeOther {
		t.Fatalf("verify: %d %s", r.Status, r.text())
	}
	if txt := b.get("/domains?done=verified").text(); !strings.Contains(txt, "Domain verified") || !strings.Contains(txt, "Verified") {
		t.Fatalf("verified domain page: %s", txt)
	}
}

func TestDirectorySyncTokens(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionDirectory)
	r := b.post("/directory/tokens", b.form("description", "Okta", "form", opaque.NewToken(16)))
	tok := regexp.MustCompile(`id="new-token" value="(ssokit_scim_[^"]+)"`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || tok == nil || !strings.Contains(r.text(), "we show it only once") {
		t.Fatalf("create: %d %s", r.Status, r.text())
	}
	if !strings.Contains(r.Body, "https://app.example/scim/v2/"+f.orgA.ID) {
		t.Fatal("SCIM base URL missing")
	}
	toks, _ := f.st.ListSCIMTokens(ctx, f.orgA.ID)
	if len(toks) != 1 {
		t.Fatalf("%d tokens", len(toks))
	}
	oldID := toks[0].ID
	r = b.post("/directory/tokens/"+oldID+"/rotate", b.form("overlap", "86400", "form", opaque.NewToken(16)))
	if r.Status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", r.Status, r.text())
	}
	txt := r.text()
	if !strings.Contains(txt, "Current") || !strings.Contains(txt, "Old token: stops working in 24 hours") {
		t.Fatalf("rotation does not tell old from new: %s", txt)
	}
	// The rotation names the new and the old token, with the old one's end.
	oldHint := toks[0].Hint
	rot := regexp.MustCompile(`(?s)<dl class="kv" id="rotation">.*?</dl>`).FindString(r.Body)
	end := f.clock.Now().Add(24 * time.Hour).UTC().Format("2 Jan 2006 15:04 UTC")
	if !strings.Contains(rot, "New token") || !strings.Contains(rot, oldHint+"…") || !strings.Contains(rot, "keeps working until "+end) {
		t.Fatalf("rotation summary %q lacks the old token %s… until %s", rot, oldHint, end)
	}
	// Revoking asks first, naming the token by the stored record (its
	// hint, description and state), whatever the form says.
	r = b.post("/directory/tokens/"+oldID+"/revoke", b.form("hint", "forged"))
	if c := r.text(); r.Status != http.StatusOK || !strings.Contains(c, "Revoke token "+oldHint+"…?") || !strings.Contains(c, "(“Okta”)") ||
		!strings.Contains(c, "old token: stops working") || strings.Contains(c, "forged") {
		t.Fatalf("revoke confirmation: %d %s", r.Status, c)
	}
	if r := b.post("/directory/tokens/scimtok_nope/revoke", b.form()); r.Status != http.StatusNotFound {
		t.Fatalf("revoke of an unknown token: %d", r.Status)
	}
	toks, _ = f.st.ListSCIMTokens(ctx, f.orgA.ID)
	var newID string
	for _, tk := range toks {
		if tk.ID != oldID {
			newID = tk.ID
		}
	}
	// Revoking the old row revokes exactly that row.
	if r := b.post("/directory/tokens/"+oldID+"/revoke", b.form("confirmed", "yes")); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.Status, r.text())
	}
	toks, _ = f.st.ListSCIMTokens(ctx, f.orgA.ID)
	for _, tk := range toks {
		if (tk.ID == oldID) == tk.RevokedAt.IsZero() {
			t.Fatalf("revoke hit the wrong row: %s revoked=%v (old %s, new %s)", tk.ID, tk.RevokedAt, oldID, newID)
		}
	}
	if r := b.post("/directory/tokens/"+newID+"/rotate", b.form("overlap", "31536000", "form", opaque.NewToken(16))); r.Status != http.StatusBadRequest ||
		!strings.Contains(r.text(), "Keep the old token working for") {
		t.Fatalf("bad overlap: %d %s", r.Status, r.text())
	}
}

func TestAuditPage(t *testing.T) {
	f := newFixture(t)
	b, l := f.open(f.orgA, portal.AllSections...)
	b.post("/domains", b.form("name", "alpha.example"))
	f.clock.Add(time.Minute)
	b.post("/domains", b.form("name", "alpha2.example"))
	r := b.get("/audit")
	txt := r.text()
	if !strings.Contains(txt, "The log is intact") || !strings.Contains(txt, "Setup link "+l.ID) {
		t.Fatalf("audit page: %s", txt)
	}
	if i, j := strings.Index(txt, "alpha2.example"), strings.Index(txt, " alpha.example"); i < 0 || j < 0 || i > j {
		t.Fatalf("not newest first: %s", txt)
	}
	if txt := b.get("/audit?type=" + portal.EventSetupLinkUsed).text(); strings.Contains(txt, "alpha2.example") || !strings.Contains(txt, portal.EventSetupLinkUsed) {
		t.Fatalf("type filter: %s", txt)
	}
	if r := b.get("/audit?since=yesterday"); !strings.Contains(r.text(), "must be a date like") {
		t.Fatalf("bad date: %s", r.text())
	}
	r = b.get("/audit/export?format=csv")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(r.Body, "alpha2.example") {
		t.Fatalf("export: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
}

func TestBrandingAndConfig(t *testing.T) {
	f := newFixture(t, func(c *portal.Config) { c.Brand.LogoURL = "https://cdn.acme.example/logo.svg" })
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.get("/sso")
	if !strings.Contains(r.Body, "Acme App") || !strings.Contains(r.Body, `src="https://cdn.acme.example/logo.svg"`) ||
		!strings.Contains(r.Header.Get("Content-Security-Policy"), "img-src 'self' https://cdn.acme.example") {
		t.Fatalf("brand not applied: %q", r.Header.Get("Content-Security-Policy"))
	}
	if css := b.get("/brand.css"); !strings.Contains(css.Body, "--accent:#0b5cad") {
		t.Fatalf("brand.css: %q", css.Body)
	}
	for _, bad := range []func(*portal.Config){
		func(c *portal.Config) { c.Brand.Accent = "#ffff00" },              // unreadable white on yellow
		func(c *portal.Config) { c.Brand.Accent = "red;}body{x:y" },        // not a colour
		func(c *portal.Config) { c.BaseURL = "http://app.example/portal" }, // not https
		func(c *portal.Config) { c.Brand.LogoURL = "javascript:alert(1)" },
	} {
		cfg := portal.Config{Store: portal.NewMemoryStore(), BaseURL: "https://app.example/portal"}
		bad(&cfg)
		if _, err := portal.New(cfg); !errorsIs(err, sso.ErrInvalidConfig) {
			t.Errorf("config accepted: %v", err)
		}
	}
}

func TestWeakeningChangeNeedsConfirmationAndIsAudited(t *testing.T) {
	f := newFixture(t)
	b, l := f.open(f.orgA, portal.SectionSSO)
	page := createVia(t, b, "saml", "Generic")
	id := strings.TrimPrefix(page, "/connections/")
	// A strengthening choice on a draft saves at once.
	if r := b.post(page+"/idp", b.form("guide", "saml", "metadata_xml", "<EntityDescriptor/>", "enforce_certificate_dates", "true")); !strings.Contains(r.text(), "What we read from your identity provider") {
		t.Fatalf("strong choice: %d %s", r.Status, r.text())
	}
	r := b.post(page+"/idp", b.form("guide", "saml", "metadata_xml", "<EntityDescriptor/>", "allow_rsa15_key_transport", "true"))
	if !strings.Contains(r.text(), "This lowers your organization's security") || !strings.Contains(r.text(), "RSA 1.5 key transport") ||
		!strings.Contains(r.Body, `name="allow_rsa15_key_transport" value="true"`) {
		t.Fatalf("weakening without confirmation page: %d %s", r.Status, r.text())
	}
	if evs := f.events(f.orgA, portal.EventSecurityWeakened); len(evs) != 0 {
		t.Fatal("weakening recorded before confirmation")
	}
	if r := b.post(page+"/idp", b.form("guide", "saml", "metadata_xml", "<EntityDescriptor/>", "allow_rsa15_key_transport", "true", "confirmed", "yes")); r.Status != http.StatusOK {
		t.Fatalf("confirmed: %d %s", r.Status, r.text())
	}
	evs := f.events(f.orgA, portal.EventSecurityWeakened)
	if len(evs) != 1 || evs[0].Details["weakened"] != "allow_rsa15_key_transport" || evs[0].Target.ID != id ||
		evs[0].Actor.Type != portal.ActorSetupLink || evs[0].Actor.ID != l.ID {
		t.Fatalf("weakening audit: %+v", evs)
	}
	if r := b.post(page+"/idp", b.form("guide", "saml", "metadata_xml", "<EntityDescriptor/>", "allow_rsa15_key_transport", "maybe")); r.Status != http.StatusBadRequest {
		t.Fatalf("bad switch value: %d", r.Status)
	}
}

func TestRecentSignInAttempts(t *testing.T) {
	f := newFixture(t)
	c := f.seedConnection(f.orgA, "Okta")
	other := f.seedConnection(f.orgA, "Other")
	now := f.clock.Now()
	for i, e := range []*sso.Event{
		{Time: now.Add(-8 * 24 * time.Hour), Type: sso.EventLoginFailed, Reason: "too_old_to_show", Target: sso.Target{Type: "connection", ID: c.ID}},
		{Time: now.Add(-time.Hour), Type: sso.EventLoginFailed, Reason: "email_domain_not_verified", Target: sso.Target{Type: "connection", ID: c.ID}},
		{Time: now.Add(-time.Minute), Type: sso.EventLoginSucceeded, Actor: sso.Actor{Type: sso.ActorUser, ID: "usr_1"}, Target: sso.Target{Type: "connection", ID: c.ID}},
		{Time: now.Add(-time.Minute), Type: sso.EventLoginFailed, Reason: "other_connection", Target: sso.Target{Type: "connection", ID: other.ID}},
	} {
		e.ID, e.OrgID = "evt_"+string(rune('a'+i)), f.orgA.ID
		if e.Outcome == "" {
			e.Outcome = map[bool]string{true: sso.OutcomeSuccess, false: sso.OutcomeFailure}[e.Type == sso.EventLoginSucceeded]
		}
		if err := f.st.AppendEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	txt := b.get("/connections/" + c.ID).text()
	i, j := strings.Index(txt, "User usr_1"), strings.Index(txt, "Refused: email_domain_not_verified")
	if i < 0 || j < 0 || i > j {
		t.Fatalf("recent attempts missing or not newest first: %s", txt)
	}
	if strings.Contains(txt, "too_old_to_show") || strings.Contains(txt, "other_connection") {
		t.Fatalf("attempts of another connection or older than 7 days shown: %s", txt)
	}
}

// A test whose IdP side passed but whose user a real login would refuse
// (email_domain_not_verified) is shown with the reason and the next step;
// activation and enforcement are refused until a test passes, even when an
// earlier test had passed.
func TestPolicyRefusalBlocksActivation(t *testing.T) {
	f := newFixture(t)
	c := f.seedConnection(f.orgA, "Okta")
	earlier := f.clock.Now().Add(-time.Hour)
	c.LastTestOK = earlier
	c.LastTest = &sso.TestResult{At: f.clock.Now(), Reason: "email_domain_not_verified",
		Detail: "IdP response valid for bob@globex.test, but a real login would be refused: email_domain_not_verified"}
	if err := f.st.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	page := "/connections/" + c.ID
	txt := b.get(page).text()
	for _, want := range []string{"Failed", "a real login would be refused", "Verify the email domain on the Domains page"} {
		if !strings.Contains(txt, want) {
			t.Errorf("page lacks %q: %s", want, txt)
		}
	}
	if strings.Contains(txt, `/activate"`) {
		t.Error("a connection whose latest test failed offers activation")
	}
	r := b.post(page+"/activate", b.form("confirmed", "yes"))
	if r.Status != http.StatusConflict || !strings.Contains(r.text(), "verify your email domain") {
		t.Fatalf("activate after a policy refusal: %d %s", r.Status, r.text())
	}
	if got, _ := f.st.GetConnection(ctx, c.ID); got.Status == sso.ConnectionActive {
		t.Fatal("the connection was activated")
	}
	// Even an active connection is not enough to require SSO while its
	// latest test fails.
	c, _ = f.st.GetConnection(ctx, c.ID)
	c.Status = sso.ConnectionActive
	if err := f.st.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if txt := b.get("/sso").text(); strings.Contains(txt, `name="enabled" value="on"`) {
		t.Errorf("the SSO page offers enforcement: %s", txt)
	}
	r = b.post("/sso/enforcement", b.form("enabled", "on", "confirmed", "yes"))
	if got, _ := f.st.GetOrg(ctx, f.orgA.ID); got.Settings.SSOEnforced {
		t.Fatalf("enforcement was switched on: %d %s", r.Status, r.text())
	}
	if !strings.Contains(r.text(), "latest test sign-in passed") {
		t.Errorf("refusal not explained: %d %s", r.Status, r.text())
	}
}

// The directory sync page shows what the admin API's sync status says:
// users and groups synced, the last request, and recent errors with what
// they mean; a status that cannot be read is said so, not a failed page.
func TestDirectorySyncStatus(t *testing.T) {
	var fail atomic.Bool
	last := time.Date(2026, 3, 4, 10, 20, 0, 0, time.UTC)
	f := newFixture(t, func(c *portal.Config) {
		c.Admin.SCIMStatus = func(_ context.Context, orgID string) (any, error) {
			if fail.Load() {
				return nil, fmt.Errorf("status store: %w", sso.ErrUnavailable)
			}
			return map[string]any{"users": 42, "groups": 3, "lastRequestAt": last,
				"failures": []map[string]any{{"at": last, "status": 409, "reason": "uniqueness", "method": "POST", "route": "/Users"}}}, nil
		}
	})
	b, _ := f.open(f.orgA, portal.SectionDirectory)
	txt := b.get("/directory").text()
	for _, want := range []string{"Sync status", "Users synced 42", "Groups synced 3", "4 Mar 2026 10:20 UTC", "POST /Users", "409 uniqueness",
		"already exists"} {
		if !strings.Contains(strings.Join(strings.Fields(txt), " "), want) {
			t.Errorf("directory page lacks %q: %s", want, txt)
		}
	}
	fail.Store(true)
	r := b.get("/directory")
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "could not read the sync status") {
		t.Fatalf("status unavailable: %d %s", r.Status, r.text())
	}
}

// TestOwnerMappingNeedsAnOwner: a group to role mapping that names the
// owner role is refused to someone who is not an owner (here an IT admin
// on a setup link), with a page that says why and what to do, and nothing
// is saved.
func TestOwnerMappingNeedsAnOwner(t *testing.T) {
	f := newFixture(t)
	c := f.seedConnection(f.orgA, "Okta")
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.post("/connections/"+c.ID+"/settings", b.form("display_name", "Okta", "group_roles", "Founders = owner"))
	if r.Status != http.StatusForbidden || !strings.Contains(r.text(), "Only an owner of the organization can give or take the owner role") ||
		!strings.Contains(r.text(), "ask an owner") {
		t.Fatalf("owner mapping from a setup link: %d %s", r.Status, r.text())
	}
	if got, _ := f.st.GetConnection(ctx, c.ID); len(got.GroupRoles) != 0 {
		t.Fatalf("the refused mapping was saved: %+v", got.GroupRoles)
	}
}
