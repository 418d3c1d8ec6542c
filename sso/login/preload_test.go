package login_test

import (
	"net/http/httptest"
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

// TestPreloadUsedOnlyForItsLogin: records preloaded for one login are
// never used to complete another. A login completed with a context that
// carries alice's preloaded records, for bob's verified profile, signs in
// bob; and the records are used once, so completing alice's own login
// twice with one context reads the second time.
func TestPreloadUsedOnlyForItsLogin(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	org := e.Org("acme", nil)
	e.Verified(org.ID, "acme.com")
	conn := e.Conn(org.ID, oidc.Protocol, sso.ConnectionActive, "https://idp.example")
	iss := &ssoenv.FakeIssuer{}
	c, err := login.New(login.Config{Store: e.St, Sessions: iss, Auditor: e.Aud, Now: e.Clock, WriteWithSession: true})
	if err != nil {
		t.Fatal(err)
	}
	alice := &sso.Login{Connection: conn, Profile: ssoenv.Profile(conn, "sub-alice", "alice@acme.com", true)}
	bob := &sso.Login{Connection: conn, Profile: ssoenv.Profile(conn, "sub-bob", "bob@acme.com", true)}
	complete := func(r *httptest.ResponseRecorder, l *sso.Login, ctxFrom *sso.Login) string {
		t.Helper()
		req := httptest.NewRequest("POST", "https://app.example/sso/oidc/callback", nil)
		req = req.WithContext(c.PreloadLogin(req.Context(), ctxFrom))
		if err := c.Complete(r, req, l); err != nil {
			t.Fatalf("login of %s: %v", l.Profile.Subject, err)
		}
		return iss.Grants[len(iss.Grants)-1].UserID
	}
	aliceID := complete(httptest.NewRecorder(), alice, alice)
	bobID := complete(httptest.NewRecorder(), bob, alice)
	if bobID == aliceID {
		t.Fatalf("bob's login completed with alice's preloaded records: signed in as %s", aliceID)
	}
	u, err := e.St.GetUser(ssoenv.Ctx, bobID)
	if err != nil || u.Email != "bob@acme.com" {
		t.Fatalf("bob's login signed in %+v, %v", u, err)
	}
	if again := complete(httptest.NewRecorder(), alice, alice); again != aliceID {
		t.Fatalf("alice's returning login signed in %s, want %s", again, aliceID)
	}
}
