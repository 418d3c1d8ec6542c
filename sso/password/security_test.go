package password_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// TestPasswordSprayingThrottled: one address tries one common password
// against many accounts. After the address's free failures it is refused
// (rate_limited, with Retry-After) without any password being checked,
// also for an account whose password the guess would match.
func TestPasswordSprayingThrottled(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, func(c *password.Config) { c.Throttle.IPFree = 20 })
		victim := e.user("victim@acme.example", goodPassword)
		const attacker = "203.0.113.66"
		for i := range 20 {
			res := e.post("/login", map[string]string{"email": fmt.Sprintf("user%d@acme.example", i), "password": "Summer2024!"}, attacker, nil)
			wantRefusal(t, "spray attempt", res, http.StatusUnauthorized, password.ReasonInvalidCredentials)
		}
		res := e.post("/login", map[string]string{"email": victim.Email, "password": goodPassword}, attacker, nil)
		wantRefusal(t, "spray after the address's free failures", res, http.StatusTooManyRequests, password.ReasonRateLimited)
		if res.header.Get("Retry-After") == "" || res.sessionCookie() != nil {
			t.Errorf("throttled answer: Retry-After %q, cookie %v", res.header.Get("Retry-After"), res.sessionCookie())
		}
		// The victim, from their own address, is not affected.
		if res := e.post("/login", map[string]string{"email": victim.Email, "password": goodPassword}, "198.51.100.7", nil); res.code != http.StatusOK {
			t.Errorf("the victim's own login: %d %s", res.code, res.raw)
		}
	})
}

// TestCredentialStuffingThrottled: many addresses guess one account's
// password. After the account's free failures every guess is refused
// (rate_limited) without checking the password, even the right one, and
// the delay grows; but it is capped, so the owner is never locked out for
// longer than AccountMaxDelay by failures from elsewhere.
func TestCredentialStuffingThrottled(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, func(c *password.Config) {
			c.Throttle = password.Throttle{AccountFree: 5, AccountMaxDelay: time.Minute, BaseDelay: time.Second}
		})
		u := e.user("target@acme.example", goodPassword)
		guess := func(i int, pw string) response {
			return e.post("/login", map[string]string{"email": u.Email, "password": pw}, fmt.Sprintf("203.0.113.%d", i%250+1), nil)
		}
		for i := range 5 {
			wantRefusal(t, "stuffing guess", guess(i, fmt.Sprintf("leaked-%d-password", i)), http.StatusUnauthorized, password.ReasonInvalidCredentials)
		}
		wantRefusal(t, "the right password from a new address while throttled", guess(99, goodPassword), http.StatusTooManyRequests, password.ReasonRateLimited)
		// The attacker keeps going after each delay: 20 more rounds.
		for i := range 20 {
			e.clock.Advance(2 * time.Minute)
			guess(100+i, "yet another leaked one")
		}
		// The owner's login right after the attacker's last failure waits at
		// most the cap, whatever the attacker did.
		owner := func() response {
			return e.post("/login", map[string]string{"email": u.Email, "password": goodPassword}, "198.51.100.8", nil)
		}
		wantRefusal(t, "owner inside the delay", owner(), http.StatusTooManyRequests, password.ReasonRateLimited)
		e.clock.Advance(time.Minute)
		if res := owner(); res.code != http.StatusOK {
			t.Errorf("owner after AccountMaxDelay: got %d %s, want 200 (the lock is capped)", res.code, res.raw)
		}
	})
}

// TestThrottleAppliesToUnknownAccounts: the throttle counts failures on
// unregistered addresses the same way, so its answers tell nothing.
func TestThrottleAppliesToUnknownAccounts(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, func(c *password.Config) { c.Throttle.PairFree = 3 })
		e.user("known@acme.example", goodPassword)
		for _, email := range []string{"known@acme.example", "ghost@acme.example"} {
			var codes []int
			for range 4 {
				codes = append(codes, e.post("/login", map[string]string{"email": email, "password": "wrong wrong wrong"}, "203.0.113.7", nil).code)
			}
			if fmt.Sprint(codes) != "[401 401 401 429]" {
				t.Errorf("%s: statuses %v, want [401 401 401 429]", email, codes)
			}
		}
	})
}

// TestEnumerationByBodyAndStatus: sign-up, reset request and login answer
// a registered and an unregistered address with the same status and body.
func TestEnumerationByBodyAndStatus(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		e.user("known@acme.example", goodPassword)
		for _, tc := range []struct {
			path string
			body func(email string) map[string]string
		}{
			{"/signup", func(email string) map[string]string {
				return map[string]string{"email": email, "password": "a fresh passphrase"}
			}},
			{"/reset/request", func(email string) map[string]string { return map[string]string{"email": email} }},
			{"/verify/resend", func(email string) map[string]string { return map[string]string{"email": email} }},
			{"/login", func(email string) map[string]string {
				return map[string]string{"email": email, "password": "wrong guess here"}
			}},
		} {
			known := e.post(tc.path, tc.body("known@acme.example"), "198.51.100.10", nil)
			unknown := e.post(tc.path, tc.body("nobody@acme.example"), "198.51.100.11", nil)
			if known.code != unknown.code || known.raw != unknown.raw {
				t.Errorf("%s: registered %d %s, unregistered %d %s; want the same", tc.path, known.code, known.raw, unknown.code, unknown.raw)
			}
		}
		// Both addresses got one email from each of the sign-up, the reset
		// request and the resend: the answer's cost does not depend on the
		// account either.
		for _, addr := range []string{"known@acme.example", "nobody@acme.example"} {
			n := 0
			for _, m := range e.mailer.Messages() {
				if m.To == addr {
					n++
				}
			}
			if n != 3 {
				t.Errorf("%s got %d emails, want one per sign-up, reset request and resend", addr, n)
			}
		}
	})
}

// TestResetTokenReuse: a reset link works once; the second use is refused
// (token_invalid) and the password stays the one set by the first.
func TestResetTokenReuse(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		u := e.user("reuse@acme.example", goodPassword)
		e.post("/reset/request", map[string]string{"email": u.Email}, "198.51.100.12", nil)
		token := e.lastToken(u.Email)
		if res := e.post("/reset", map[string]string{"token": token, "password": "first new passphrase"}, "198.51.100.12", nil); res.code != http.StatusOK {
			t.Fatalf("first use: %d %s", res.code, res.raw)
		}
		res := e.post("/reset", map[string]string{"token": token, "password": "attacker passphrase"}, "203.0.113.12", nil)
		wantRefusal(t, "second use of a reset link", res, http.StatusBadRequest, password.ReasonTokenInvalid)
		if _, err := e.m.Authenticate(context.Background(), u.Email, "first new passphrase", "198.51.100.12"); err != nil {
			t.Errorf("the first reset's password no longer works: %v", err)
		}
	})
}

// TestResetTokenExpired: a reset link past ResetTTL is refused
// (token_expired).
func TestResetTokenExpired(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		u := e.user("late@acme.example", goodPassword)
		e.post("/reset/request", map[string]string{"email": u.Email}, "198.51.100.13", nil)
		token := e.lastToken(u.Email)
		e.clock.Advance(30*time.Minute + time.Second)
		res := e.post("/reset", map[string]string{"token": token, "password": "too late passphrase"}, "198.51.100.13", nil)
		wantRefusal(t, "expired reset link", res, http.StatusBadRequest, password.ReasonTokenExpired)
		if res.body["field"] != "token" {
			t.Errorf("expired link names field %q, want token", res.body["field"])
		}
	})
}

// TestResetTokenAfterPasswordChange: a reset link issued before the
// password changed is refused, whether the change deleted it
// (token_invalid) or a store kept it (token_stale, by the version stamp).
func TestResetTokenAfterPasswordChange(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		u := e.user("changed@acme.example", goodPassword)
		e.post("/reset/request", map[string]string{"email": u.Email}, "198.51.100.14", nil)
		token := e.lastToken(u.Email)
		if err := e.m.ChangePassword(context.Background(), u.ID, goodPassword, "a brand new passphrase", "198.51.100.14"); err != nil {
			t.Fatal(err)
		}
		res := e.post("/reset", map[string]string{"token": token, "password": "attacker passphrase"}, "203.0.113.14", nil)
		wantRefusal(t, "reset link after a change", res, http.StatusBadRequest, password.ReasonTokenInvalid)

		// A store whose DeleteTokens lost the token: the version stamp refuses it.
		keep := newEnv(t, func(c *password.Config) { c.Store = keepTokens{c.Store} })
		v := keep.user("stamped@acme.example", goodPassword)
		keep.post("/reset/request", map[string]string{"email": v.Email}, "198.51.100.15", nil)
		stale := keep.lastToken(v.Email)
		if err := keep.m.ChangePassword(context.Background(), v.ID, goodPassword, "a brand new passphrase", "198.51.100.15"); err != nil {
			t.Fatal(err)
		}
		res = keep.post("/reset", map[string]string{"token": stale, "password": "attacker passphrase"}, "203.0.113.15", nil)
		wantRefusal(t, "reset link kept across a change", res, http.StatusBadRequest, password.ReasonTokenStale)
	})
}

// keepTokens is a store whose DeleteTokens does nothing.
type keepTokens struct{ password.Store }

func (keepTokens) DeleteTokens(context.Context, string, password.TokenKind) error { return nil }

// TestSSOEnforcedOrgRefusesPassword: a password login into an organization
// that enforces SSO is refused (sso_required) and audited, except for an
// active break-glass member, whose session still has MFA false.
func TestSSOEnforcedOrgRefusesPassword(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		member := e.user("member@corp.example", goodPassword)
		admin := e.user("admin@corp.example", "break glass in emergency")
		e.org("corp", true, &sso.Membership{UserID: member.ID, Roles: []string{"member"}},
			&sso.Membership{UserID: admin.ID, Roles: []string{"admin"}, BreakGlass: true})
		res := e.post("/login", map[string]string{"email": member.Email, "password": goodPassword, "org": "corp"}, "198.51.100.16", nil)
		wantRefusal(t, "member of an SSO-enforced organization", res, http.StatusForbidden, password.ReasonSSORequired)
		if res.sessionCookie() != nil {
			t.Error("a refused login set a session cookie")
		}
		evs, _ := e.ms.ListEvents(context.Background(), sso.EventQuery{OrgID: "org_corp", Type: sso.EventLoginFailed})
		if len(evs) != 1 || evs[0].Reason != password.ReasonSSORequired {
			t.Errorf("audit of the refusal: %+v", evs)
		}
		res = e.post("/login", map[string]string{"email": admin.Email, "password": "break glass in emergency", "org": "corp"}, "198.51.100.16", nil)
		if res.code != http.StatusOK {
			t.Fatalf("break-glass admin: %d %s", res.code, res.raw)
		}
		if g := e.issuer.last(); g.OrgID != "org_corp" || g.MFA || g.Method != password.Method {
			t.Errorf("break-glass grant %+v: want org_corp, method password, MFA false", g)
		}
		// A suspended break-glass member is refused too.
		m, _ := e.ms.GetMembership(context.Background(), "org_corp", admin.ID)
		m.Status = sso.MembershipSuspended
		_ = e.ms.UpdateMembership(context.Background(), m)
		res = e.post("/login", map[string]string{"email": admin.Email, "password": "break glass in emergency", "org": "corp"}, "198.51.100.16", nil)
		wantRefusal(t, "suspended break-glass member", res, http.StatusForbidden, password.ReasonAccessDenied)
	})
}

// TestBreachedPasswordRefused: a password on the bundled breach list is
// refused at sign-up, reset and change, case-insensitively.
func TestBreachedPasswordRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("safe@acme.example", goodPassword)
	cookie := e.post("/login", map[string]string{"email": u.Email, "password": goodPassword}, "198.51.100.17", nil).sessionCookie()
	for _, pw := range []string{"password1", "Baseball1", "qwertyuiop", "iloveyou2", "trustno1"} {
		res := e.post("/signup", map[string]string{"email": "new@acme.example", "password": pw}, "198.51.100.17", nil)
		wantRefusal(t, "sign-up with "+pw, res, http.StatusBadRequest, password.ReasonPasswordBreached)
		res = e.post("/change", map[string]string{"current_password": goodPassword, "new_password": pw}, "198.51.100.17", cookie)
		wantRefusal(t, "change to "+pw, res, http.StatusBadRequest, password.ReasonPasswordBreached)
		if res.body["field"] != "new_password" {
			t.Errorf("change refusal names field %q, want new_password", res.body["field"])
		}
	}
	e.post("/reset/request", map[string]string{"email": u.Email}, "198.51.100.17", nil)
	token := e.lastToken(u.Email)
	res := e.post("/reset", map[string]string{"token": token, "password": "football1"}, "198.51.100.17", nil)
	wantRefusal(t, "reset to a breached password", res, http.StatusBadRequest, password.ReasonPasswordBreached)
	// A refused password does not use up the link, and the context check
	// (which needs the token's account) does not either.
	res = e.post("/reset", map[string]string{"token": token, "password": "my safe@acme.example pass"}, "198.51.100.17", nil)
	wantRefusal(t, "reset to a password with the email", res, http.StatusBadRequest, password.ReasonPasswordContext)
	if res := e.post("/reset", map[string]string{"token": token, "password": "a good new passphrase"}, "198.51.100.17", nil); res.code != http.StatusOK {
		t.Errorf("reset after refusals: %d %s", res.code, res.raw)
	}
}

// TestCrossOriginPostRefused: a cross-site POST (login CSRF, or a forged
// change) is refused before anything is read.
func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("csrf@acme.example", goodPassword)
	for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}} {
		r := httptest.NewRequest("POST", "https://app.acme.example/login",
			strings.NewReader("email="+u.Email+"&password="+strings.ReplaceAll(goodPassword, " ", "+")))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), password.ReasonCrossOrigin) || w.Header().Get("Set-Cookie") != "" {
			t.Errorf("cross-origin login %v: got %d %s", hdr, w.Code, w.Body.String())
		}
	}
}

// TestPerAddressRateLimit: the routes refuse a client address beyond its
// request budget (rate_limited), whatever the route.
func TestPerAddressRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *password.Config) { c.RateLimit, c.Burst = 0.001, 3 })
	for i := range 3 {
		if res := e.post("/reset/request", map[string]string{"email": "x@acme.example"}, "203.0.113.20", nil); res.code != http.StatusAccepted {
			t.Fatalf("request %d: %d", i, res.code)
		}
	}
	wantRefusal(t, "beyond the budget", e.post("/signup", map[string]string{"email": "x@acme.example", "password": goodPassword}, "203.0.113.20", nil),
		http.StatusTooManyRequests, password.ReasonRateLimited)
}

// TestMailFloodCapped: reset requests for one address send at most
// MailsPerHour emails; the answer does not change.
func TestMailFloodCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *password.Config) { c.MailsPerHour = 2 })
	for range 5 {
		if res := e.post("/reset/request", map[string]string{"email": "flood@acme.example"}, "203.0.113.21", nil); res.code != http.StatusAccepted {
			t.Fatalf("reset request: %d", res.code)
		}
	}
	if n := len(e.mailer.Messages()); n != 2 {
		t.Errorf("sent %d emails, want 2", n)
	}
}

// TestMailerFailureIsUnavailable: a failing mailer is reported as 503 for
// a registered and an unregistered address alike.
func TestMailerFailureIsUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *password.Config) {
		c.Mailer = failMailer{}
		c.Logger = slog.New(slog.DiscardHandler)
	})
	e.user("known@acme.example", goodPassword)
	for _, addr := range []string{"known@acme.example", "nobody@acme.example"} {
		wantRefusal(t, "reset request for "+addr, e.post("/reset/request", map[string]string{"email": addr}, "198.51.100.18", nil),
			http.StatusServiceUnavailable, "unavailable")
	}
}

type failMailer struct{}

func (failMailer) Send(context.Context, password.Message) error { return errors.New("smtp down") }
