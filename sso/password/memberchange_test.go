package password_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// TestLoginAcrossMembershipChange: a password login reads the membership,
// then issues the session. A suspension committed in between refuses the
// login with the flow's access_denied answer and no session; a demotion
// gives the session the member's current roles.
func TestLoginAcrossMembershipChange(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		u := e.user("ada@acme.example", goodPassword)
		home := "org_ada-home"
		edit := func(f func(m *sso.Membership)) func() {
			return func() {
				m, err := e.ms.GetMembership(context.Background(), home, u.ID)
				if err != nil {
					t.Error(err)
					return
				}
				f(m)
				if err := e.ms.UpdateMembership(context.Background(), m); err != nil {
					t.Error(err)
				}
			}
		}
		login := map[string]string{"email": u.Email, "password": goodPassword}

		e.issuer.mu.Lock()
		e.issuer.before = edit(func(m *sso.Membership) { m.Roles = []string{"viewer"} })
		e.issuer.mu.Unlock()
		res := e.post("/login", login, "198.51.100.1", nil)
		if res.code != http.StatusOK || res.sessionCookie() == nil {
			t.Fatalf("login across a demotion: got %d %s", res.code, res.raw)
		}
		ss, err := e.ms.ListUserSessions(context.Background(), u.ID)
		if err != nil || len(ss) != 1 || !slices.Equal(ss[0].Roles, []string{"viewer"}) {
			t.Fatalf("sessions after a demotion during the login = %+v, %v; want one with roles [viewer]", ss, err)
		}

		e.issuer.mu.Lock()
		e.issuer.before = edit(func(m *sso.Membership) { m.Status = sso.MembershipSuspended })
		e.issuer.mu.Unlock()
		res = e.post("/login", login, "198.51.100.2", nil)
		wantRefusal(t, "login across a suspension", res, http.StatusForbidden, password.ReasonAccessDenied)
		if res.sessionCookie() != nil {
			t.Fatal("a login refused for a suspension set a session cookie")
		}
		if after, _ := e.ms.ListUserSessions(context.Background(), u.ID); len(after) != 1 {
			t.Fatalf("the suspended member has %d sessions, want the one from before", len(after))
		}
	})
}
