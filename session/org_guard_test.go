package session_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// saveOrgBeforeWrite makes the next login write find org_a saved by f
// since the login read it, as an administrator's save does (a new
// UpdatedAt).
func (g *guardRig) saveOrgBeforeWrite(t *testing.T, f func(*sso.OrgSettings)) {
	g.hook.Before(func() {
		org, err := g.st.GetOrg(ctx, orgA)
		if err != nil {
			t.Error(err)
			return
		}
		f(&org.Settings)
		org.UpdatedAt = sso.NextUpdatedAt(org.UpdatedAt, org.UpdatedAt)
		if err := g.st.UpdateOrg(ctx, org); err != nil {
			t.Error(err)
		}
	})
}

// loginAs issues alice's session in org_a by method, the grant carrying
// the organization and membership as the login read them.
func (g *guardRig) loginAs(t *testing.T, method sso.AuthMethod) (int, error) {
	t.Helper()
	org, err := g.st.GetOrg(ctx, orgA)
	if err != nil {
		t.Fatal(err)
	}
	mem := g.member(t, orgA)
	before, _ := g.ss.ListUserSessions(ctx, "alice")
	_, err = g.m.Issue(httptest.NewRecorder(), httptest.NewRequest("POST", "https://app.test/login", nil), &sso.SessionGrant{
		UserID: "alice", OrgID: orgA, Method: method, Roles: slices.Clone(mem.Roles), Member: mem, Org: org})
	after, _ := g.ss.ListUserSessions(ctx, "alice")
	return len(after) - len(before), err
}

// TestIssueSeesOrgSavedDuringLogin: SSO enforcement switched on, or a
// sign-in method or address range turned off, after a login passed its
// checks and before its session is written (a password login spends a
// tenth of a second hashing) is seen by that login: it is refused with the
// reason the checks give now, and writes no session. A save that changes
// nothing the login depends on (a new name), or enforcement for an SSO
// login or a break-glass member, lets it through.
func TestIssueSeesOrgSavedDuringLogin(t *testing.T) {
	t.Parallel()
	enforce := func(s *sso.OrgSettings) {
		s.SSOEnforced, s.Features = true, sso.Features{"saml", "enforce_sso", "passkey"}
	}
	for _, tc := range []struct {
		name       string
		method     sso.AuthMethod
		breakGlass bool
		save       func(*sso.OrgSettings)
		reason     string
		sentinel   error
	}{
		{"enforcement, password", sso.AuthPassword, false, enforce, "sso_required", sso.ErrSSORequired},
		{"enforcement, passkey", sso.AuthPasskey, false, enforce, "sso_required", sso.ErrSSORequired},
		{"enforcement, saml", sso.AuthMethod("saml"), false, enforce, "", nil},
		{"enforcement, break-glass password", sso.AuthPassword, true, enforce, "", nil},
		{"passwords off", sso.AuthPassword, false, func(s *sso.OrgSettings) {
			s.SignInMethods, s.Features = []sso.AuthMethod{sso.AuthPasskey}, sso.Features{"passkey"}
		}, "method_disabled", sso.ErrAccessDenied},
		{"allowlist", sso.AuthMethod("saml"), false, func(s *sso.OrgSettings) {
			s.Features = sso.Features{sso.FeatureIPAllowlist}
			s.Network.AllowedCIDRs = []string{"198.51.100.0/24"}
		}, session.ReasonNetwork, sso.ErrAccessDenied},
		{"another setting", sso.AuthPassword, false, func(s *sso.OrgSettings) { s.AllowJIT = !s.AllowJIT }, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachGuardRig(t, func(t *testing.T, g *guardRig) {
				g.setOrg(t, func(s *sso.OrgSettings) { s.Features = sso.Features{"saml", "enforce_sso", "passkey"} })
				if tc.breakGlass {
					mem := g.member(t, orgA)
					mem.BreakGlass = true
					if err := g.st.UpdateMembership(ctx, mem); err != nil {
						t.Fatal(err)
					}
				}
				g.saveOrgBeforeWrite(t, tc.save)
				added, err := g.loginAs(t, tc.method)
				if tc.reason == "" {
					if err != nil || added != 1 {
						t.Fatalf("login across the save = %v, %d sessions; want one session", err, added)
					}
					return
				}
				var ve *sso.ValidationError
				if !errors.As(err, &ve) || ve.Reason != tc.reason || !errors.Is(err, tc.sentinel) {
					t.Fatalf("login across the save = %v; want a %s refusal", err, tc.reason)
				}
				if added != 0 {
					t.Fatalf("the refused login left %d sessions", added)
				}
			})
		})
	}
}

// TestSwitchOrgSeesEnforcementDuringSwitch: an organization switch checks
// the target's SSO enforcement; enforcement switched on before the new
// session is written refuses the switch.
func TestSwitchOrgSeesEnforcementDuringSwitch(t *testing.T) {
	t.Parallel()
	eachGuardRig(t, func(t *testing.T, g *guardRig) {
		g.setOrg(t, func(s *sso.OrgSettings) { s.Features = sso.Features{"saml", "enforce_sso"} })
		_, w, err := g.login(t, orgB)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "https://app.test/switch", nil)
		for _, c := range w.Result().Cookies() {
			r.AddCookie(c)
		}
		g.saveOrgBeforeWrite(t, func(s *sso.OrgSettings) { s.SSOEnforced = true })
		_, err = g.m.SwitchOrg(httptest.NewRecorder(), r, orgA)
		if !errors.Is(err, sso.ErrSSORequired) {
			t.Fatalf("switch across enforcement = %v; want ErrSSORequired", err)
		}
		if ss, _ := g.ss.ListUserSessions(ctx, "alice"); slices.ContainsFunc(ss, func(s *session.Session) bool { return s.OrgID == orgA }) {
			t.Fatal("the refused switch left a session in org_a")
		}
	})
}
