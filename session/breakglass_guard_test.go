package session_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// breakGlassLogin issues alice's session in org_a by method as a login
// that read her membership with the break-glass flag on, the flag being
// withdrawn before the session is written. It returns the login's outcome
// and how many sessions it added.
func (g *guardRig) breakGlassLogin(t *testing.T, method sso.AuthMethod) (*httptest.ResponseRecorder, int, error) {
	t.Helper()
	mem := g.member(t, orgA)
	mem.BreakGlass = true
	if err := g.st.UpdateMembership(ctx, mem); err != nil {
		t.Fatal(err)
	}
	mem = g.member(t, orgA)
	g.editBeforeWrite(t, orgA, func(m *sso.Membership) { m.BreakGlass = false })
	before, _ := g.ss.ListUserSessions(ctx, "alice")
	w := httptest.NewRecorder()
	_, err := g.m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil), &sso.SessionGrant{UserID: "alice",
		OrgID: orgA, Method: method, Roles: slices.Clone(mem.Roles), Member: mem})
	after, _ := g.ss.ListUserSessions(ctx, "alice")
	return w, len(after) - len(before), err
}

// setOrg changes org_a's settings with f.
func (g *guardRig) setOrg(t *testing.T, f func(*sso.OrgSettings)) {
	t.Helper()
	org, err := g.st.GetOrg(ctx, orgA)
	if err != nil {
		t.Fatal(err)
	}
	f(&org.Settings)
	if err := g.st.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
}

// TestIssueSeesBreakGlassWithdrawnDuringLogin: a local login lets a
// member into an organization that enforces SSO, or with a password the
// organization turned off, only as a break-glass member. When the flag is
// withdrawn after the login read the membership and before its session is
// written, the login is refused (sso_required, method_disabled) and
// leaves no session or cookie; an SSO login across the same change goes
// on.
func TestIssueSeesBreakGlassWithdrawnDuringLogin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		settings func(*sso.OrgSettings)
		reason   string
		sentinel error
	}{
		{"enforced", func(s *sso.OrgSettings) {
			s.SSOEnforced, s.Features = true, sso.Features{"saml", "enforce_sso"}
		}, "sso_required", sso.ErrSSORequired},
		{"passwords off", func(s *sso.OrgSettings) {
			s.SignInMethods, s.Features = []sso.AuthMethod{sso.AuthPasskey}, sso.Features{"passkey"}
		}, "method_disabled", sso.ErrAccessDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachGuardRig(t, func(t *testing.T, g *guardRig) {
				g.setOrg(t, tc.settings)
				w, added, err := g.breakGlassLogin(t, sso.AuthPassword)
				var ve *sso.ValidationError
				if !errors.As(err, &ve) || ve.Reason != tc.reason || !errors.Is(err, tc.sentinel) {
					t.Fatalf("password login across a withdrawn break-glass flag = %v; want a %s refusal", err, tc.reason)
				}
				if added != 0 || len(w.Result().Cookies()) != 0 {
					t.Fatalf("the refused login left %d sessions or a cookie", added)
				}
				if _, added, err := g.breakGlassLogin(t, sso.AuthMethod("saml")); err != nil || added != 1 {
					t.Fatalf("SSO login across a withdrawn break-glass flag = %v, %d sessions; want one session", err, added)
				}
			})
		})
	}
}
