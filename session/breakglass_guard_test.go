package session_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/sso"
)

// TestIssueSeesBreakGlassWithdrawnDuringLogin: in an organization that
// enforces SSO, a password login lets a member in only as a break-glass
// member. When the flag is withdrawn after the login read the membership
// and before its session is written, the login is refused (sso_required)
// and leaves no session; an SSO login across the same change goes on.
func TestIssueSeesBreakGlassWithdrawnDuringLogin(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		g := newGuardRig(t, backend)
		org, err := g.st.GetOrg(ctx, orgA)
		if err != nil {
			t.Fatal(err)
		}
		org.Settings.SSOEnforced, org.Settings.Features = true, sso.Features{"saml", "enforce_sso"}
		if err := g.st.UpdateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		for _, method := range []sso.AuthMethod{sso.AuthPassword, sso.AuthMethod("saml")} {
			mem := g.member(t, orgA)
			mem.BreakGlass = true
			if err := g.st.UpdateMembership(ctx, mem); err != nil {
				t.Fatal(err)
			}
			mem = g.member(t, orgA)
			g.editBeforeWrite(t, orgA, func(m *sso.Membership) { m.BreakGlass = false })
			before, _ := g.st.ListUserSessions(ctx, "alice")
			w := httptest.NewRecorder()
			s, err := g.m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil), &sso.SessionGrant{UserID: "alice",
				OrgID: orgA, Method: method, Roles: slices.Clone(mem.Roles), Member: mem})
			after, _ := g.st.ListUserSessions(ctx, "alice")
			if method == sso.AuthPassword {
				var ve *sso.ValidationError
				if !errors.As(err, &ve) || ve.Reason != "sso_required" || !errors.Is(err, sso.ErrSSORequired) {
					t.Fatalf("password login across a withdrawn break-glass flag = %v; want an sso_required refusal", err)
				}
				if len(after) != len(before) || len(w.Result().Cookies()) != 0 {
					t.Fatalf("the refused login left a session (%d, had %d) or a cookie", len(after), len(before))
				}
				continue
			}
			if err != nil || s == nil || len(after) != len(before)+1 {
				t.Fatalf("SSO login across a withdrawn break-glass flag = %v; want a session", err)
			}
		}
	})
}

// TestIssueSeesBreakGlassWithdrawnWithPasswordsOff: an organization that
// turned passwords off keeps them for break-glass members only; a flag
// withdrawn during a password login refuses it (method_disabled).
func TestIssueSeesBreakGlassWithdrawnWithPasswordsOff(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		g := newGuardRig(t, backend)
		org, err := g.st.GetOrg(ctx, orgA)
		if err != nil {
			t.Fatal(err)
		}
		org.Settings.SignInMethods = []sso.AuthMethod{sso.AuthPasskey}
		org.Settings.Features = sso.Features{"passkey"}
		if err := g.st.UpdateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		mem := g.member(t, orgA)
		mem.BreakGlass = true
		if err := g.st.UpdateMembership(ctx, mem); err != nil {
			t.Fatal(err)
		}
		mem = g.member(t, orgA)
		g.editBeforeWrite(t, orgA, func(m *sso.Membership) { m.BreakGlass = false })
		_, err = g.m.Issue(httptest.NewRecorder(), httptest.NewRequest("POST", "https://app.test/login", nil), &sso.SessionGrant{
			UserID: "alice", OrgID: orgA, Method: sso.AuthPassword, Roles: slices.Clone(mem.Roles), Member: mem})
		var ve *sso.ValidationError
		if !errors.As(err, &ve) || ve.Reason != "method_disabled" || !errors.Is(err, sso.ErrAccessDenied) {
			t.Fatalf("password login across a withdrawn break-glass flag, passwords off = %v; want method_disabled", err)
		}
	})
}
