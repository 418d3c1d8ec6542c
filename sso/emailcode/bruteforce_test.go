package emailcode_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso/emailcode"
)

// TestCodeBruteForceAcrossChallenges: MaxAttempts bounds the guesses at
// one challenge, but an attacker asks for challenge after challenge for
// the victim's address, from client address after client address. The
// code attempts of one address are bounded per day across all of them
// (NIST SP 800-63B §5.2.2 asks for a per-account bound): beyond
// CodeAttemptsPerDay codes for the address are refused, even the right
// one of a new challenge, while its link still signs in; a day later
// codes work again.
func TestCodeBruteForceAcrossChallenges(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, func(c *emailcode.Config) { c.CodeAttemptsPerDay = 12 })
		e.user("victim@acme.example")
		guesses, refused := 0, false
		for i := 0; i < 40 && !refused; i++ {
			// A new challenge from a new client address, and four
			// wrong guesses at it (one short of MaxAttempts).
			b := e.browser(fmt.Sprintf("203.0.113.%d", i+1))
			b.request("victim@acme.example")
			code, _ := e.mailTo("victim@acme.example")
			wrong := "000000"
			if code == wrong {
				wrong = "111111"
			}
			for range 4 {
				res := b.post("/code", map[string]string{"code": wrong})
				if res.code == http.StatusTooManyRequests && res.body["error"] == emailcode.ReasonRateLimited {
					refused = true
					break
				}
				wantRefusal(t, "a wrong guess", res, http.StatusBadRequest, emailcode.ReasonCodeInvalid)
				guesses++
			}
		}
		if !refused || guesses > 12 {
			t.Fatalf("%d wrong codes for one address across challenges and client addresses, refused %v; want at most 12, then refused", guesses, refused)
		}
		owner := e.browser("198.51.100.1")
		owner.request("victim@acme.example")
		code, link := e.mailTo("victim@acme.example")
		res := owner.post("/code", map[string]string{"code": code})
		wantRefusal(t, "the owner's right code once the day's attempts are spent", res, http.StatusTooManyRequests, emailcode.ReasonRateLimited)
		if res.body["fix"] == "" || res.body["field"] != "code" {
			t.Errorf("refusal names no field and fix: %s", res.raw)
		}
		if ra := res.header.Get("Retry-After"); ra != "86400" {
			t.Errorf("Retry-After %q for the day's codes, want 86400 (a client waiting a minute would be refused again)", ra)
		}
		if res := owner.form("/link", url.Values{"token": {mustToken(t, link)}}); res.code != http.StatusSeeOther || !owner.signedIn() {
			t.Fatalf("the owner's link once the day's code attempts are spent: %d %s", res.code, res.raw)
		}
		e.clock.Advance(24*time.Hour + time.Minute)
		later := e.browser("198.51.100.2")
		later.request("victim@acme.example")
		code, _ = e.mailTo("victim@acme.example")
		if res := later.post("/code", map[string]string{"code": code}); res.code != http.StatusOK {
			t.Errorf("a code a day later: %d %s", res.code, res.raw)
		}
	})
}
