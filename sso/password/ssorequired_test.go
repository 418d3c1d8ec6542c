package password_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// TestSSORequiredSaysWhereToSignIn: a password sign-in refused because the
// organization enforces SSO tells the person where to sign in instead:
// the refusal carries the URL that starts that organization's SSO
// (Config.SSOLoginPath and its slug) and its message names it, also when
// the sign-in named no organization (the user's only one was picked).
func TestSSORequiredSaysWhereToSignIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path, want string
	}{
		{"default path", "", "/sso/login/corp"},
		{"configured path", "/auth/sso/login/", "/auth/sso/login/corp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *password.Config) { c.SSOLoginPath = tc.path })
			member := e.user("member@corp.example", goodPassword)
			e.org("corp", true, &sso.Membership{UserID: member.ID, Roles: []string{"member"}})
			// Corp is the member's only organization, so a login without
			// one picks it.
			if err := e.ms.DeleteMembership(context.Background(), "org_member-home", member.ID); err != nil {
				t.Fatal(err)
			}
			for _, org := range []string{"corp", ""} {
				res := e.post("/login", map[string]string{"email": member.Email, "password": goodPassword, "org": org}, "198.51.100.16", nil)
				wantRefusal(t, "member of an SSO-enforced organization", res, http.StatusForbidden, password.ReasonSSORequired)
				if res.body["sso_login_url"] != tc.want || !strings.Contains(res.body["message"], tc.want) {
					t.Errorf("org %q: refusal %s; want sso_login_url %q, named in the message", org, res.raw, tc.want)
				}
			}
		})
	}
}
