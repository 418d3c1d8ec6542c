package oidc

import (
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// TestEmailVerifiedFollowsMappedClaim maps the profile's email to another
// claim (preferred_username, as admins do for Keycloak, Okta or Entra): the
// IdP's email_verified vouches only for its email claim, so the mapped
// address counts as verified only when it is that address. Otherwise a
// self-registered IdP user who picks a colleague's address as username and
// verifies their own mailbox would arrive as the colleague, verified, and
// be linked to the colleague's account.
func TestEmailVerifiedFollowsMappedClaim(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		username string
		userinfo bool // the ID token carries no email: userinfo supplies the claims
		want     bool
	}{
		{name: "username-is-another-address", username: "victim@corp.example", want: false},
		{name: "username-is-the-verified-email", username: "ALICE@example.com", want: true},
		{name: "userinfo-username-is-another-address", username: "victim@corp.example", userinfo: true, want: false},
		{name: "userinfo-username-is-the-verified-email", username: "alice@example.com", userinfo: true, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			op := newMockOP(t, clk)
			h := newHarness(t, clk, nil)
			h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) {
				c.Mapping = sso.AttributeMapping{Email: "preferred_username"}
			})
			op.set(func(op *mockOP) {
				if tc.userinfo {
					op.omitProfileClaims = true
					op.userinfo = func(c map[string]any) { c["preferred_username"] = tc.username }
					return
				}
				op.claims = func(c map[string]any) { c["preferred_username"] = tc.username }
			})
			p := h.wantOK(h.login(newBrowser(t), "conn_a")).Profile
			if p.Email == "" {
				t.Fatalf("mapped email missing from the profile: %+v", p)
			}
			if p.EmailVerified != tc.want {
				t.Fatalf("EmailVerified = %v for %q (IdP verified alice@example.com), want %v", p.EmailVerified, p.Email, tc.want)
			}
		})
	}
}
