package emailcode_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
)

// TestCodeSignIn: a code typed into the browser that asked for it signs
// in once, with Method email_code and MFA false, into the user's only
// organization, audited with the method.
func TestCodeSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("jane@acme.example")
	b := e.browser("198.51.100.1")
	if res := b.request("Jane@ACME.example"); res.code != http.StatusAccepted || res.body["status"] != "check_email" {
		t.Fatalf("request: %d %s", res.code, res.raw)
	}
	if _, ok := b.cookies[cookieName]; !ok {
		t.Fatal("the request set no browser cookie")
	}
	code, _ := e.mailTo("jane@acme.example")
	if len(code) != 6 {
		t.Errorf("code %q, want 6 digits", code)
	}
	res := b.post("/code", map[string]string{"code": code})
	if res.code != http.StatusOK || res.body["status"] != "signed_in" || res.body["return_to"] != "/app" {
		t.Fatalf("code: %d %s", res.code, res.raw)
	}
	g := e.issuer.last()
	if g == nil || g.UserID != u.ID || g.OrgID != "org_jane-home" || g.Method != sso.AuthEmailCode || g.MFA {
		t.Errorf("grant: %+v", g)
	}
	if !b.signedIn() {
		t.Error("no session cookie")
	}
	if _, ok := b.cookies[cookieName]; ok {
		t.Error("the browser cookie was not cleared after use")
	}
	evs := e.events("org_jane-home", sso.EventLoginSucceeded)
	if len(evs) != 1 || evs[0].Details["method"] != "email_code" {
		t.Errorf("login.succeeded events: %+v", evs)
	}
}

// TestMagicLinkSameBrowser: the link opened in the browser that asked for
// it shows a sign-in button (the GET uses nothing) whose post signs in
// with Method magic_link and goes to the return path.
func TestMagicLinkSameBrowser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user("jane@acme.example")
	b := e.browser("198.51.100.1")
	b.request("jane@acme.example")
	_, link := e.mailTo("jane@acme.example")
	page := b.get(link)
	if page.code != http.StatusOK || !strings.Contains(page.raw, "Sign in as jane@acme.example") || strings.Contains(page.raw, "different browser") {
		t.Fatalf("link page: %d %s", page.code, page.raw)
	}
	if e.issuer.count() != 0 {
		t.Fatal("opening the link (GET) signed in")
	}
	token := mustToken(t, link)
	res := b.form("/link", url.Values{"token": {token}})
	if res.code != http.StatusSeeOther || res.header.Get("Location") != "/app" {
		t.Fatalf("link post: %d %s", res.code, res.raw)
	}
	if g := e.issuer.last(); g == nil || g.Method != sso.AuthMagicLink || g.MFA {
		t.Errorf("grant: %+v", g)
	}
	evs := e.events("org_jane-home", sso.EventLoginSucceeded)
	if len(evs) != 1 || evs[0].Details["method"] != "magic_link" {
		t.Errorf("login.succeeded events: %+v", evs)
	}
}

func mustToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// TestSignUpByCode: with AllowSignUp, an address without an account gets
// a code; using it creates a user with the address verified. Without an
// organization the sign-in then stops at no_organization (a session
// belongs to an organization).
func TestSignUpByCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *emailcode.Config) {
		c.AllowSignUp = func(_ context.Context, email string) bool { return strings.HasSuffix(email, "@acme.example") }
	})
	b := e.browser("198.51.100.1")
	b.request("new@acme.example")
	b.request("new@elsewhere.example")
	if n := e.mails("new@elsewhere.example"); n != 0 {
		t.Errorf("an address AllowSignUp refuses got %d emails", n)
	}
	b.request("new@acme.example")
	code, _ := e.mailTo("new@acme.example")
	res := b.post("/code", map[string]string{"code": code})
	wantRefusal(t, "sign-up without an organization", res, http.StatusForbidden, emailcode.ReasonNoOrganization)
	u, err := findVerified(e, "new@acme.example")
	if err != nil || !u.EmailVerified {
		t.Fatalf("the signed-up user: %+v, %v", u, err)
	}
	if evs := e.events("", emailcode.EventSignedUp); len(evs) != 1 || evs[0].Target.ID != u.ID {
		t.Errorf("user.signed_up events: %+v", evs)
	}
}

// TestSignUpAutoJoin: with invite's auto-join as the Joiner, a sign-up by
// code of an address in a domain the organization verified joins it and
// signs in; an address in a domain the organization only claimed gets no
// organization.
func TestSignUpAutoJoin(t *testing.T) {
	t.Parallel()
	var im *invite.Manager
	e := newEnv(t, func(c *emailcode.Config) {
		c.AllowSignUp = func(context.Context, string) bool { return true }
		c.Joiner = func(ctx context.Context, u *sso.User) error { _, err := im.AutoJoin(ctx, u); return err }
	})
	ms := e.ms.(*memstore.Store)
	accept, _ := url.Parse("https://app.acme.example/invite/accept")
	var err error
	im, err = invite.New(invite.Config{Store: meminvite.New(ms), Users: ms, Orgs: ms, Members: ms, Domains: ms,
		Auditor: e.trail, Mailer: e.mailer, AcceptURL: accept})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		slug, domain string
		state        sso.DomainState
	}{{"acme", "acme.example", sso.DomainVerified}, {"claim", "claimed.example", sso.DomainPending}} {
		e.org(o.slug, false)
		if err := ms.CreateDomain(t.Context(), &sso.Domain{OrgID: "org_" + o.slug, Name: o.domain, State: o.state}); err != nil {
			t.Fatal(err)
		}
		if _, err := im.SetPolicy(t.Context(), "org_"+o.slug, invite.ModeJoin, "member"); err != nil {
			t.Fatal(err)
		}
	}
	b := e.browser("198.51.100.1")
	b.request("new@acme.example")
	code, _ := e.mailTo("new@acme.example")
	if res := b.post("/code", map[string]string{"code": code}); res.code != http.StatusOK {
		t.Fatalf("sign-up with auto-join: %d %s", res.code, res.raw)
	}
	if g := e.issuer.last(); g == nil || g.OrgID != "org_acme" || g.Method != sso.AuthEmailCode {
		t.Errorf("grant: %+v", g)
	}
	b = e.browser("198.51.100.2")
	b.request("new@claimed.example")
	code, _ = e.mailTo("new@claimed.example")
	wantRefusal(t, "sign-up in a claimed, unverified domain", b.post("/code", map[string]string{"code": code}), http.StatusForbidden, emailcode.ReasonNoOrganization)
}
