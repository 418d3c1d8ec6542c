package social_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
)

// TestLinkRefusals runs on every backend: linking an account needs the
// user's own session, from a recent local login, on this origin, coming
// back to the same session, and an account linked to another user stays
// theirs. Nothing is linked by a refused attempt.
func TestLinkRefusals(t *testing.T) {
	r := newRP(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.provider()})
			acme := e.org("acme", false, true)
			ann := e.member("usr_ann", "ann@acme.example", acme, false)
			bob := e.member("usr_bob", "bob@acme.example", acme, false)
			e.link(bob.ID, "github", "2002", bob.Email)
			linkURL := r.srv.URL + "/auth/social/github/link"
			refused := func(t *testing.T, what string, res result, status int, reason string) {
				t.Helper()
				if res.status != status || !strings.Contains(res.body, reason) {
					t.Errorf("%s: %d %s; want %d %s", what, res.status, res.body, status, reason)
				}
				if ids := e.identities(ann.ID); len(ids) != 0 {
					t.Fatalf("%s: linked %+v", what, ids)
				}
			}

			gh.signIn(1001, "ann", email(ann.Email, true, true))
			refused(t, "no session", newBrowser(t).postForm(linkURL, nil), http.StatusUnauthorized, social.ReasonUnauthenticated)

			bw := newBrowser(t)
			e.signInAs(bw, r, ann.ID, acme.ID, sso.AuthPassword)
			req, _ := http.NewRequest("POST", linkURL, nil)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			refused(t, "cross-site POST", bw.do(req), http.StatusForbidden, "cross_origin")

			// A session the organization's IdP made: its admin can make one
			// for any of its users.
			idp := newBrowser(t)
			e.signInAs(idp, r, ann.ID, acme.ID, sso.AuthMethod("saml"))
			refused(t, "IdP-made session", idp.postForm(linkURL, nil), http.StatusUnauthorized, social.ReasonReauthenticationRequired)
			if !e.hasEvent(acme.ID, social.EventLinked, social.ReasonReauthenticationRequired, map[string]string{"provider": "github"}) {
				t.Error("refused link not audited")
			}

			// Bob's GitHub account is Bob's.
			gh.signIn(2002, "bob", email(bob.Email, true, true))
			res := bw.postForm(linkURL, url.Values{"return_to": {"/account/linked"}})
			refused(t, "another user's account", res, http.StatusConflict, social.ReasonIdentityInUse)
			// The page of a refused link leads back to the account page it
			// started from, not to the sign-in page.
			if !strings.Contains(res.body, `<a href="/account/linked">Back to your account</a>`) ||
				!strings.Contains(res.body, "The account was not linked") {
				t.Errorf("refused link's page: %s", res.body)
			}
			if res := bw.get(r.srv.URL + "/auth/social/nope/start"); !strings.Contains(res.body, `<a href="/">Back to the sign-in page</a>`) {
				t.Errorf("refused sign-in's page: %d %s", res.status, res.body)
			}
			if ids := e.identities(bob.ID); len(ids) != 1 || ids[0].Subject != "2002" {
				t.Errorf("bob's identities: %+v", ids)
			}

			// The browser changes hands between start and callback.
			gh.signIn(1001, "ann", email(ann.Email, true, true))
			bw.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if req.URL.Path == "/auth/social/github/callback" {
					return http.ErrUseLastResponse
				}
				return nil
			}
			resp, err := bw.c.PostForm(linkURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			callback := resp.Header.Get("Location")
			bw.c.CheckRedirect = nil
			e.signInAs(bw, r, bob.ID, acme.ID, sso.AuthPassword)
			refused(t, "callback in another session", bw.get(callback), http.StatusForbidden, social.ReasonLinkSessionChanged)
			if ids := e.identities(bob.ID); len(ids) != 1 {
				t.Errorf("bob gained an identity: %+v", ids)
			}

			// An unknown provider.
			refused(t, "unknown provider", bw.postForm(r.srv.URL+"/auth/social/gitlab/link", nil), http.StatusNotFound, social.ReasonUnknownProvider)
		})
	}
}

// TestLinkNeedsRecentLogin: a local login older than Config.RecentLogin
// does not link an account; linking twice is harmless.
func TestLinkNeedsRecentLogin(t *testing.T) {
	r := newRP(t)
	b := backends(t)[0]
	gh := newFakeGitHub(t, r.redirectURI("github"))
	var skew time.Duration
	e := newEnv(t, r, b, []social.Provider{gh.provider()}, func(c *social.Config) {
		c.Now = func() time.Time { return time.Now().Add(skew) }
	})
	acme := e.org("acme", false, true)
	ann := e.member("usr_ann", "ann@acme.example", acme, false)
	gh.signIn(1001, "ann", email(ann.Email, true, true))
	bw := newBrowser(t)
	e.signInAs(bw, r, ann.ID, acme.ID, sso.AuthPasskey)
	linkURL := r.srv.URL + "/auth/social/github/link"

	skew = 11 * time.Minute
	if res := bw.postForm(linkURL, nil); res.status != http.StatusUnauthorized || !strings.Contains(res.body, social.ReasonReauthenticationRequired) {
		t.Errorf("login 11 minutes ago: %d %s; want 401 reauthentication_required", res.status, res.body)
	}
	skew = 0
	for i := range 2 {
		res := bw.postForm(linkURL, url.Values{"return_to": {"/app"}})
		if res.url.Path != "/app" || res.status != http.StatusOK {
			t.Fatalf("link %d: ended at %s (%d %s)", i, res.url, res.status, res.body)
		}
	}
	if ids := e.identities(ann.ID); len(ids) != 1 || ids[0].Subject != "1001" {
		t.Errorf("identities %+v; want github/1001 once", ids)
	}
}

// TestProviderEmailIsNormalised runs on every backend: a provider's
// address is compared and stored in the form every other way in stores
// it (IDNA domain, lower case), so a Unicode spelling of a member's
// address links to the member instead of making a second user, and an
// email that is not an address counts as none.
func TestProviderEmailIsNormalised(t *testing.T) {
	r := newRP(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.trusting()})
			org := e.org("buecher", false, true)
			ann := e.member("usr_ann", "ann@xn--bcher-kva.example", org, false)
			req := httptest.NewRequest("GET", "https://app.acme.example/auth/social/github/callback", nil)
			g, err := e.m.SignIn(httptest.NewRecorder(), req, "github",
				&social.VerifiedAccount{Subject: "g-1", Email: " Ann@Bücher.EXAMPLE ", EmailVerified: true}, "")
			if err != nil || g.UserID != ann.ID {
				t.Fatalf("sign-in with the Unicode spelling: %+v, %v; want ann's session", g, err)
			}
			if ids := e.identities(ann.ID); len(ids) != 1 || ids[0].Email != "ann@xn--bcher-kva.example" {
				t.Errorf("identities %+v; want the stored form of the address", ids)
			}
			_, err = e.m.SignIn(httptest.NewRecorder(), req, "github",
				&social.VerifiedAccount{Subject: "g-2", Email: "ann@@xn--bcher-kva.example", EmailVerified: true}, "")
			if sso.ReasonOf(err) != social.ReasonNoEmail {
				t.Errorf("a malformed address: %v; want %s", err, social.ReasonNoEmail)
			}
		})
	}
}
