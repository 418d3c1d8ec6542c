package login_test

import (
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
)

// The login's logout hint (an OIDC ID token) reaches the session grant, so
// the session can keep it for the id_token_hint of an RP-initiated logout.
func TestCompletePassesLogoutHint(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", func(s *sso.OrgSettings) { s.DefaultRole = "member" })
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://op.example")
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	p := ssoenv.Profile(c, "sub-1", "alice@acme.com", true)
	p.SessionIndex = "sid-1"
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: p, LogoutHint: "raw.id.token"}); err != nil {
		t.Fatal(err)
	}
	if g := iss.Grants[0]; g.IdPLogoutHint != "raw.id.token" || g.IdPSessionIndex != "sid-1" || g.IdPSubject != "sub-1" {
		t.Fatalf("grant hint %q sid %q sub %q; want the login's", g.IdPLogoutHint, g.IdPSessionIndex, g.IdPSubject)
	}
}
