package password_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// TestOrgTurnedPasswordOff: an organization whose administrators allow
// only passkeys refuses a member's password login, even with the right
// password sent straight to the login route (method_disabled, 403, no
// session), and audits the refusal naming the method; its break-glass
// member keeps the password. An organization that lists password signs
// the same member in.
func TestOrgTurnedPasswordOff(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		ctx := context.Background()
		member := e.user("member@keys.example", goodPassword)
		admin := e.user("admin@keys.example", "break glass in emergency")
		o := e.org("keys", false, &sso.Membership{UserID: member.ID, Roles: []string{"member"}},
			&sso.Membership{UserID: admin.ID, Roles: []string{"admin"}, BreakGlass: true})
		o.Settings.Features = sso.Features{"passkey"}
		o.Settings.SignInMethods = []sso.AuthMethod{sso.AuthPasskey}
		if err := e.ms.UpdateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
		res := e.post("/login", map[string]string{"email": member.Email, "password": goodPassword, "org": "keys"}, "198.51.100.30", nil)
		wantRefusal(t, "password into an organization that turned it off", res, http.StatusForbidden, password.ReasonMethodDisabled)
		if res.sessionCookie() != nil || res.body["message"] == "" {
			t.Errorf("refusal set a cookie (%v) or has no message: %s", res.sessionCookie(), res.raw)
		}
		evs, _ := e.ms.ListEvents(ctx, sso.EventQuery{OrgID: o.ID, Type: sso.EventLoginFailed})
		if len(evs) != 1 || evs[0].Reason != password.ReasonMethodDisabled || evs[0].Details["method"] != string(password.Method) {
			t.Errorf("audit of the refusal: %+v, want one login failure with reason method_disabled and method password", evs)
		}
		if res := e.post("/login", map[string]string{"email": admin.Email, "password": "break glass in emergency", "org": "keys"}, "198.51.100.30", nil); res.code != http.StatusOK {
			t.Errorf("break-glass member: %d %s, want 200", res.code, res.raw)
		}
		o.Settings.SignInMethods = []sso.AuthMethod{sso.AuthPasskey, sso.AuthPassword}
		if err := e.ms.UpdateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
		if res := e.post("/login", map[string]string{"email": member.Email, "password": goodPassword, "org": "keys"}, "198.51.100.30", nil); res.code != http.StatusOK {
			t.Errorf("member once password is listed again: %d %s, want 200", res.code, res.raw)
		}
	})
}
