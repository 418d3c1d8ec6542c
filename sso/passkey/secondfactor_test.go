package passkey_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
)

// TestSecondFactorGuardsPasskeys: a passkey login counts as MFA, so a
// passkey is a second factor. While a user has one (a passkey, or a TOTP
// or WebAuthn factor that Config.SecondFactor reports), a session that
// has only the password must not add a passkey (it would sign in with
// MFA, passing the organization's MFA policy and step-ups without the
// user's second factor) nor delete one (to then add its own as the
// first): both need a second factor verified here within
// Config.RecentLogin. The first passkey needs only the recent login.
func TestSecondFactorGuardsPasskeys(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			var totp atomic.Bool
			var skew atomic.Int64
			e := newEnv(t, b, func(c *passkey.Config) {
				c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
				c.SecondFactor = func(_ context.Context, userID string) (bool, error) {
					return userID == "vic" && totp.Load(), nil
				}
			})
			u := e.member("jane", "acme", false, false)
			pw := e.signIn(u, "org_acme")
			first := e.register(pw, "Laptop")

			begin := e.call("POST", "/register/begin", map[string]string{}, pw)
			if begin.code == http.StatusOK {
				// The bypass as it would go on: add a key, sign in with MFA.
				cred, id := e.auth.create(begin.body["options"])
				e.call("POST", "/register/finish", map[string]any{"ceremony": begin.str("ceremony"), "credential": cred, "name": "Mallory's"}, pw)
				res := e.login(id, nil, -1)
				s, err := e.sess.Current(withCookie(res.cookie))
				t.Fatalf("a password-only session added a passkey; its login: %d, session MFA %v (%v)", res.code, s != nil && s.MFA, err)
			}
			if begin.code != http.StatusForbidden || begin.str("error") != passkey.ReasonReverificationRequired || begin.str("message") == "" {
				t.Fatalf("register/begin by a password-only session of a user with a passkey: %d %v; want 403 %s with a message",
					begin.code, begin.body, passkey.ReasonReverificationRequired)
			}
			del := e.call("DELETE", "/credentials/"+b64.EncodeToString(first), nil, pw)
			if del.code != http.StatusForbidden || del.str("error") != passkey.ReasonReverificationRequired {
				t.Errorf("delete by a password-only session: %d %v; want 403 %s", del.code, del.body, passkey.ReasonReverificationRequired)
			}
			if n := e.passkeyCount(pw); n != 1 {
				t.Fatalf("%d passkeys after the refusals, want 1", n)
			}

			// The passkey's own login verified a second factor; so did a
			// password session elevated by a TOTP code.
			pk := e.login(first, nil, -1)
			if pk.code != http.StatusOK {
				t.Fatalf("passkey login: %d %v", pk.code, pk.body)
			}
			second := e.register(pk.cookie, "Phone")
			elevated := e.signInWith(&sso.SessionGrant{UserID: u.ID, OrgID: "org_acme", Method: sso.AuthPassword,
				Roles: []string{"member"}, MFA: true, MFAAt: time.Now()})
			skew.Store(int64(11 * time.Minute))
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(second), nil, elevated); res.code != http.StatusForbidden ||
				res.str("error") != passkey.ReasonReverificationRequired {
				t.Errorf("delete 11 minutes after the second factor: %d %v; want 403 %s", res.code, res.body, passkey.ReasonReverificationRequired)
			}
			skew.Store(0)
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(second), nil, elevated); res.code != http.StatusOK {
				t.Errorf("delete after a fresh second factor: %d %v", res.code, res.body)
			}

			// A TOTP factor guards a user without passkeys the same way.
			v := e.member("vic", "vorg", false, false)
			totp.Store(true)
			vpw := e.signIn(v, "org_vorg")
			if res := e.call("POST", "/register/begin", map[string]string{}, vpw); res.code != http.StatusForbidden ||
				res.str("error") != passkey.ReasonReverificationRequired {
				t.Errorf("register/begin by a password-only session of a TOTP user: %d %v; want 403 %s", res.code, res.body, passkey.ReasonReverificationRequired)
			}
			totp.Store(false)
			e.register(vpw, "First key")
		})
	}
}

// withCookie returns a request carrying c.
func withCookie(c *http.Cookie) *http.Request {
	r, _ := http.NewRequest("GET", origin+"/", nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}
