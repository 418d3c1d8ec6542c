package emailcode_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
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
