package emailcode_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
)

// TestEnumerationByResponse: a request for an address with a verified
// account, one without any account and one whose account is unverified
// get the same status, body and cookie; only the verified account gets an
// email.
func TestEnumerationByResponse(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		e.user("known@acme.example")
		unverified := &sso.User{ID: "usr_unverified", Email: "pending@acme.example"}
		if err := e.ms.CreateUser(t.Context(), unverified); err != nil {
			t.Fatal(err)
		}
		var answers []string
		for _, addr := range []string{"known@acme.example", "ghost@acme.example", "pending@acme.example"} {
			b := e.browser("198.51.100.1")
			res := b.request(addr)
			c := b.cookies[cookieName]
			if c == nil {
				t.Fatalf("%s: no browser cookie", addr)
			}
			answers = append(answers, fmt.Sprintf("%d %s %s %v %v %d", res.code, res.raw, c.Name, c.HttpOnly, c.Secure, c.MaxAge))
		}
		if answers[0] != answers[1] || answers[0] != answers[2] {
			t.Errorf("answers differ:\n%s", strings.Join(answers, "\n"))
		}
		if e.mails("known@acme.example") != 1 || e.mails("ghost@acme.example") != 0 || e.mails("pending@acme.example") != 0 {
			t.Errorf("emails: known %d, ghost %d, pending %d; want 1, 0, 0",
				e.mails("known@acme.example"), e.mails("ghost@acme.example"), e.mails("pending@acme.example"))
		}
		// The code step tells nothing either: a guess is code_invalid for all.
		for _, addr := range []string{"known@acme.example", "ghost@acme.example"} {
			b := e.browser("198.51.100.2")
			b.request(addr)
			wantRefusal(t, "a guessed code for "+addr, b.post("/code", map[string]string{"code": "000000"}), http.StatusBadRequest, emailcode.ReasonCodeInvalid)
		}
	})
}

// TestMagicLinkReplay: a link works once; the replay, the code of the same
// email and a concurrent second use are refused.
func TestMagicLinkReplay(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		e.user("jane@acme.example")
		b := e.browser("198.51.100.1")
		b.request("jane@acme.example")
		_, link := e.mailTo("jane@acme.example")
		token := mustToken(t, link)
		if res := b.form("/link", url.Values{"token": {token}}); res.code != http.StatusSeeOther {
			t.Fatalf("first use: %d %s", res.code, res.raw)
		}
		replay := e.browser("198.51.100.1")
		res := replay.form("/link", url.Values{"token": {token}, "confirm": {"yes"}})
		if res.code != http.StatusBadRequest || !strings.Contains(res.raw, "invalid or was already used") || replay.signedIn() {
			t.Errorf("replayed link: %d %s", res.code, res.raw)
		}
		if page := replay.get(link); page.code != http.StatusBadRequest || strings.Contains(page.raw, `name="token"`) {
			t.Errorf("replayed link page: %d %s", page.code, page.raw)
		}
		if e.issuer.count() != 1 {
			t.Errorf("%d sessions issued, want 1", e.issuer.count())
		}
		if evs := e.events("", sso.EventLoginFailed); len(evs) == 0 || evs[len(evs)-1].Reason != emailcode.ReasonLinkInvalid ||
			evs[len(evs)-1].Details["method"] != "magic_link" {
			t.Errorf("the replay's audit event: %+v", evs)
		}
	})
}

// TestCodeAndLinkUsedOnce: the code and the link of one email, used at the
// same time, sign in exactly once; the used code voids the link.
func TestCodeAndLinkUsedOnce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		e.user("jane@acme.example")
		b := e.browser("198.51.100.1")
		b.request("jane@acme.example")
		code, link := e.mailTo("jane@acme.example")
		other := e.browser("198.51.100.9")
		var wg sync.WaitGroup
		var codeRes, linkRes response
		wg.Add(2)
		go func() { defer wg.Done(); codeRes = b.post("/code", map[string]string{"code": code}) }()
		go func() {
			defer wg.Done()
			linkRes = other.form("/link", url.Values{"token": {mustToken(t, link)}, "confirm": {"yes"}})
		}()
		wg.Wait()
		if ok := (codeRes.code == http.StatusOK) != (linkRes.code == http.StatusSeeOther); !ok || e.issuer.count() != 1 {
			t.Errorf("code %d, link %d, %d sessions; want exactly one sign-in", codeRes.code, linkRes.code, e.issuer.count())
		}
	})
}

// TestMagicLinkCrossBrowser: a link opened in another browser asks
// "continue here?" and signs in only after the confirming post, still
// once; a post without confirmation from that browser signs in nothing.
func TestMagicLinkCrossBrowser(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		e.user("jane@acme.example")
		asker := e.browser("198.51.100.1")
		asker.request("jane@acme.example")
		_, link := e.mailTo("jane@acme.example")
		token := mustToken(t, link)
		phone := e.browser("203.0.113.5")
		page := phone.get(link)
		if page.code != http.StatusOK || !strings.Contains(page.raw, "different browser") || !strings.Contains(page.raw, `name="confirm" value="yes"`) {
			t.Fatalf("cross-browser page: %d %s", page.code, page.raw)
		}
		res := phone.form("/link", url.Values{"token": {token}})
		if res.code != http.StatusOK || !strings.Contains(res.raw, "different browser") || phone.signedIn() || e.issuer.count() != 0 {
			t.Fatalf("unconfirmed cross-browser post: %d %s, sessions %d", res.code, res.raw, e.issuer.count())
		}
		// A browser bound to another challenge is "another browser" too.
		mallory := e.browser("203.0.113.6")
		e.user("mallory@acme.example")
		mallory.request("mallory@acme.example")
		if res := mallory.form("/link", url.Values{"token": {token}}); mallory.signedIn() || !strings.Contains(res.raw, "different browser") {
			t.Fatalf("a browser bound to another challenge used the link: %d %s", res.code, res.raw)
		}
		res = phone.form("/link", url.Values{"token": {token}, "confirm": {"yes"}})
		if res.code != http.StatusSeeOther || !phone.signedIn() {
			t.Fatalf("confirmed cross-browser post: %d %s", res.code, res.raw)
		}
		if g := e.issuer.last(); g.Method != sso.AuthMagicLink || g.UserID != "usr_jane" {
			t.Errorf("grant: %+v", g)
		}
		if res := asker.form("/link", url.Values{"token": {token}}); res.code != http.StatusBadRequest || asker.signedIn() {
			t.Errorf("the link after its confirmed use: %d %s", res.code, res.raw)
		}
	})
}

// TestCodeBoundToBrowser: a code is useless in a browser other than the
// one that asked: without the cookie (no_challenge) and with another
// challenge's cookie (code_invalid).
func TestCodeBoundToBrowser(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		e.user("victim@acme.example")
		e.user("mallory@acme.example")
		victim := e.browser("198.51.100.1")
		victim.request("victim@acme.example")
		code, _ := e.mailTo("victim@acme.example")
		stranger := e.browser("203.0.113.5")
		wantRefusal(t, "code without the cookie", stranger.post("/code", map[string]string{"code": code}), http.StatusBadRequest, emailcode.ReasonNoChallenge)
		mallory := e.browser("203.0.113.6")
		mallory.request("mallory@acme.example")
		wantRefusal(t, "victim's code in another challenge's browser", mallory.post("/code", map[string]string{"code": code}), http.StatusBadRequest, emailcode.ReasonCodeInvalid)
		// A forged cookie naming the victim's challenge (its ID leaked) with
		// another nonce.
		id, _, _ := strings.Cut(victim.cookies[cookieName].Value, ".")
		forged := e.browser("203.0.113.7")
		forged.cookies[cookieName] = &http.Cookie{Name: cookieName, Value: id + ".forged-nonce"}
		wantRefusal(t, "code with a forged nonce", forged.post("/code", map[string]string{"code": code}), http.StatusBadRequest, emailcode.ReasonNoChallenge)
		if res := victim.post("/code", map[string]string{"code": code}); res.code != http.StatusOK {
			t.Errorf("the victim's own code after the attacks: %d %s", res.code, res.raw)
		}
		if g := e.issuer.last(); e.issuer.count() != 1 || g.UserID != "usr_victim" {
			t.Errorf("%d sessions issued (last %+v), want only the victim's", e.issuer.count(), g)
		}
	})
}

// TestCodeBruteForce: MaxAttempts wrong codes void the challenge; the
// right code then fails too (too_many_attempts, then no_challenge).
func TestCodeBruteForce(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, func(c *emailcode.Config) { c.MaxAttempts = 3 })
		e.user("jane@acme.example")
		b := e.browser("198.51.100.1")
		b.request("jane@acme.example")
		code, _ := e.mailTo("jane@acme.example")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for range 2 {
			wantRefusal(t, "wrong code", b.post("/code", map[string]string{"code": wrong}), http.StatusBadRequest, emailcode.ReasonCodeInvalid)
		}
		wantRefusal(t, "last wrong code", b.post("/code", map[string]string{"code": wrong}), http.StatusTooManyRequests, emailcode.ReasonTooManyAttempts)
		wantRefusal(t, "right code after the attempts", b.post("/code", map[string]string{"code": code}), http.StatusBadRequest, emailcode.ReasonNoChallenge)
		if e.issuer.count() != 0 {
			t.Errorf("%d sessions issued, want 0", e.issuer.count())
		}
	})
}

// TestRequestThrottled: requests per address are limited for every
// address alike (so the limit tells nothing), and per client address.
func TestRequestThrottled(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, func(c *emailcode.Config) { c.RequestsPerHour, c.IPRequestsPerHour = 3, 10 })
		e.user("known@acme.example")
		for _, addr := range []string{"known@acme.example", "ghost@acme.example"} {
			for i := range 3 {
				if res := e.browser(fmt.Sprintf("198.51.100.%d", i+1)).request(addr); res.code != http.StatusAccepted {
					t.Fatalf("request %d for %s: %d %s", i, addr, res.code, res.raw)
				}
			}
			res := e.browser("198.51.100.99").request(addr)
			wantRefusal(t, "4th request for "+addr, res, http.StatusTooManyRequests, emailcode.ReasonRateLimited)
			if res.header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		}
		if n := e.mails("known@acme.example"); n != 3 {
			t.Errorf("%d emails to the known address, want 3", n)
		}
		e.clock.Advance(61 * time.Minute)
		if res := e.browser("198.51.100.1").request("known@acme.example"); res.code != http.StatusAccepted {
			t.Errorf("request after an hour: %d %s", res.code, res.raw)
		}
		spray := e.browser("203.0.113.7")
		for i := range 10 {
			spray.request(fmt.Sprintf("user%d@acme.example", i))
		}
		wantRefusal(t, "11th request from one client address", spray.request("user99@acme.example"), http.StatusTooManyRequests, emailcode.ReasonRateLimited)
	})
}

// TestExpiry: codes and links stop working after TTL.
func TestExpiry(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		e.user("jane@acme.example")
		b := e.browser("198.51.100.1")
		b.request("jane@acme.example")
		code, link := e.mailTo("jane@acme.example")
		e.clock.Advance(10*time.Minute + time.Second)
		wantRefusal(t, "expired code", b.post("/code", map[string]string{"code": code}), http.StatusGone, emailcode.ReasonCodeExpired)
		if res := b.form("/link", url.Values{"token": {mustToken(t, link)}}); res.code != http.StatusGone || !strings.Contains(res.raw, "expired") {
			t.Errorf("expired link: %d %s", res.code, res.raw)
		}
	})
}

// TestNewRequestVoidsOld: a second request voids the first email's code
// and link.
func TestNewRequestVoidsOld(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.user("jane@acme.example")
	b := e.browser("198.51.100.1")
	b.request("jane@acme.example")
	_, oldLink := e.mailTo("jane@acme.example")
	e.browser("198.51.100.2").request("jane@acme.example")
	if res := b.form("/link", url.Values{"token": {mustToken(t, oldLink)}}); res.code != http.StatusBadRequest {
		t.Errorf("superseded link: %d %s", res.code, res.raw)
	}
}

// TestSSOEnforcement: an organization that enforces SSO refuses email
// sign-in of its members (sso_required, audited with the method) and
// admits its break-glass members.
func TestSSOEnforcement(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		e := newEnv(t, nil)
		for _, u := range []string{"member", "admin"} {
			if err := e.ms.CreateUser(t.Context(), &sso.User{ID: "usr_" + u, Email: u + "@corp.example", EmailVerified: true}); err != nil {
				t.Fatal(err)
			}
		}
		e.org("corp", true, &sso.Membership{UserID: "usr_member", Roles: []string{"member"}},
			&sso.Membership{UserID: "usr_admin", Roles: []string{"admin"}, BreakGlass: true})
		m := e.browser("198.51.100.1")
		m.request("member@corp.example")
		code, link := e.mailTo("member@corp.example")
		res := m.post("/code", map[string]string{"code": code})
		wantRefusal(t, "member by code", res, http.StatusForbidden, emailcode.ReasonSSORequired)
		// The refusal says where to sign in instead.
		if res.body["sso_login_url"] != "/sso/login/corp" || !strings.Contains(res.body["message"], "/sso/login/corp") {
			t.Errorf("member by code: refusal %s names no SSO login URL", res.raw)
		}
		m.request("member@corp.example")
		_, link = e.mailTo("member@corp.example")
		if res := m.form("/link", url.Values{"token": {mustToken(t, link)}}); res.code != http.StatusForbidden ||
			!strings.Contains(res.raw, `id="sso-login" href="/sso/login/corp"`) {
			t.Errorf("member by link: %d %s; want a page linking to /sso/login/corp", res.code, res.raw)
		}
		evs := e.events("org_corp", sso.EventLoginFailed)
		methods := []string{}
		for _, ev := range evs {
			if ev.Reason == emailcode.ReasonSSORequired {
				methods = append(methods, ev.Details["method"])
			}
		}
		if !slices.Equal(methods, []string{"email_code", "magic_link"}) {
			t.Errorf("sso_required refusals audited with methods %v", methods)
		}
		a := e.browser("198.51.100.2")
		a.request("admin@corp.example")
		code, _ = e.mailTo("admin@corp.example")
		if res := a.post("/code", map[string]string{"code": code}); res.code != http.StatusOK {
			t.Errorf("break-glass admin: %d %s", res.code, res.raw)
		}
		if g := e.issuer.last(); g == nil || g.OrgID != "org_corp" || g.Method != sso.AuthEmailCode {
			t.Errorf("break-glass grant: %+v", g)
		}
	})
}

// TestCrossOriginRefused: a cross-site POST (login CSRF) is refused.
func TestCrossOriginRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser("198.51.100.1")
	r := httptestRequest("POST", "/request", `{"email":"jane@acme.example"}`)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	wantRefusal(t, "cross-site request", b.do(r), http.StatusForbidden, emailcode.ReasonCrossOrigin)
}

// TestMalformed: bad bodies get a JSON refusal naming the problem.
func TestMalformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	b := e.browser("198.51.100.1")
	wantRefusal(t, "unknown field", b.post("/request", map[string]string{"email": "a@acme.example", "password": "x"}), http.StatusBadRequest, emailcode.ReasonMalformed)
	res := b.post("/request", map[string]string{"email": "not-an-address"})
	wantRefusal(t, "bad email", res, http.StatusBadRequest, emailcode.ReasonEmailInvalid)
	if res.body["field"] != "email" {
		t.Errorf("field %q, want email", res.body["field"])
	}
}
