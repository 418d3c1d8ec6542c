package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// T-X.1: a session ID planted before login (cookie tossing) never survives
// login, MFA step-up or an organization switch.
func TestTX1_FixationNewIDOnLoginStepUpAndSwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// The attacker obtains a valid session of their own and tosses its
	// cookie into the victim's browser.
	attacker := e.browser()
	e.login(attacker, "mallory", orgB)
	planted := e.cookie(attacker)
	victim := e.withCookie(planted)

	e.login(victim, "alice", orgA)
	after := e.cookie(victim)
	if after == "" || after == planted {
		t.Fatalf("post-login cookie %q equals the planted one", after)
	}
	if st, _ := e.me(e.withCookie(planted)); st != http.StatusUnauthorized {
		t.Fatalf("planted session after victim login: status %d, want 401 (old session must be dead)", st)
	}
	if st, p := e.me(victim); st != http.StatusOK || p.UserID != "alice" {
		t.Fatalf("victim after login: %d %+v", st, p)
	}
	// A tossed cookie without the __Host- prefix (all a sibling subdomain
	// can set) is not the session cookie and authenticates nothing.
	tossed := e.browser()
	u, _ := url.Parse(e.srv.URL)
	tossed.Jar.SetCookies(u, []*http.Cookie{{Name: "ssokit_session", Value: after, Path: "/"}})
	if st, _ := e.me(tossed); st != http.StatusUnauthorized {
		t.Fatalf("unprefixed tossed cookie: %d, want 401", st)
	}

	// MFA step-up rotates.
	if resp := e.do(victim, "POST", "/elevate"); resp.StatusCode != http.StatusOK {
		t.Fatalf("elevate: %d", resp.StatusCode)
	}
	stepped := e.cookie(victim)
	if stepped == after {
		t.Fatal("MFA step-up kept the session token")
	}
	if st, _ := e.me(e.withCookie(after)); st != http.StatusUnauthorized {
		t.Fatalf("pre-step-up token: %d, want 401", st)
	}
	if _, p := e.me(victim); !p.MFA {
		t.Fatal("elevated session lacks MFA")
	}

	// Tenant switch rotates.
	if resp := e.do(victim, "POST", "/switch?org="+orgB); resp.StatusCode != http.StatusOK {
		t.Fatalf("switch: %d", resp.StatusCode)
	}
	switched := e.cookie(victim)
	if switched == stepped {
		t.Fatal("org switch kept the session token")
	}
	if st, _ := e.me(e.withCookie(stepped)); st != http.StatusUnauthorized {
		t.Fatalf("pre-switch token: %d, want 401", st)
	}
	if _, p := e.me(victim); p.OrgID != orgB || p.MFA || len(p.Roles) != 1 || p.Roles[0] != "viewer" {
		t.Fatalf("switched principal = %+v, want org_b viewer without MFA", p)
	}
	// Switching to an organization the user is not a member of is refused.
	bob := e.browser()
	e.login(bob, "bob", orgA)
	if resp := e.do(bob, "POST", "/switch?org="+orgB); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("switch to foreign org: %d, want 403", resp.StatusCode)
	}
}

// T-X.2: the session cookie's attributes, read from the raw Set-Cookie.
func TestTX2_CookieFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp := e.do(e.browser(), "POST", "/login?user=alice&org="+orgA)
	raw := resp.Header.Values("Set-Cookie")
	if len(raw) != 1 {
		t.Fatalf("Set-Cookie headers = %q, want 1", raw)
	}
	h := raw[0]
	if !strings.HasPrefix(h, "__Host-ssokit_session=") {
		t.Errorf("cookie %q lacks the __Host- prefix", h)
	}
	attrs := map[string]string{}
	for _, part := range strings.Split(h, ";")[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		attrs[strings.ToLower(k)] = v
	}
	for _, want := range []string{"secure", "httponly"} {
		if _, ok := attrs[want]; !ok {
			t.Errorf("cookie %q lacks %s", h, want)
		}
	}
	if attrs["path"] != "/" {
		t.Errorf("Path = %q, want /", attrs["path"])
	}
	if _, ok := attrs["domain"]; ok {
		t.Errorf("cookie %q has a Domain", h)
	}
	if attrs["samesite"] != "Lax" {
		t.Errorf("SameSite = %q, want Lax", attrs["samesite"])
	}

	// The development switch drops Secure and the prefix, nothing else.
	dev := newEnv(t, func(c *session.Config) { c.AllowInsecureCookie = true })
	h = dev.do(dev.browser(), "POST", "/login?user=alice&org="+orgA).Header.Get("Set-Cookie")
	if !strings.HasPrefix(h, "ssokit_session=") || strings.Contains(h, "Secure") || !strings.Contains(h, "HttpOnly") ||
		!strings.Contains(h, "SameSite=Lax") {
		t.Errorf("insecure-mode cookie = %q", h)
	}
	if _, err := session.New(session.Config{Store: e.st, Events: e.st, CookieName: "bad name;"}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Errorf("bad cookie name: %v, want ErrInvalidConfig", err)
	}
}

// T-X.3: the IdP's POST to the ACS is cross-site, so the Lax session
// cookie is not sent with it; the session must be created by the ACS
// response itself (never read from the cross-site POST), with a Lax (never
// None) cookie, followed by a 303 to the app.
func TestTX3_SessionIssuedAfterCrossSiteACSPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.browser()
	// A cross-site POST carries no Lax cookie: it is not authenticated.
	if st, _ := e.me(c); st != http.StatusUnauthorized {
		t.Fatalf("no cookie: %d, want 401", st)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/login?user=alice&org="+orgA, strings.NewReader("SAMLResponse=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://idp.example.net")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ACS status %d, want 303", resp.StatusCode)
	}
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "SameSite=None") {
		t.Fatalf("session cookie %q must be SameSite=Lax", sc)
	}
	if st, p := e.me(c); st != http.StatusOK || p.UserID != "alice" {
		t.Fatalf("after 303: %d %+v", st, p)
	}
}

// T-X.4: session and refresh tokens carry 256 bits from the CSPRNG and
// only their SHA-256 reaches the store.
func TestTX4_TokenEntropyAndHashedStorage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		w := httptest.NewRecorder()
		s, err := e.m.Issue(w, httptest.NewRequest("POST", "/", nil), &sso.SessionGrant{UserID: "alice", OrgID: orgA})
		if err != nil {
			t.Fatal(err)
		}
		v := w.Result().Cookies()[0].Value
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(raw) < 32 {
			t.Fatalf("cookie %q: %d bytes, %v; want >= 32 bytes", v, len(raw), err)
		}
		if seen[v] {
			t.Fatal("duplicate session token")
		}
		seen[v] = true
		sum := sha256.Sum256([]byte(v))
		if s.TokenHash != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored hash %q is not SHA-256 of the cookie", s.TokenHash)
		}
		stored, err := e.st.GetSession(context.Background(), s.ID)
		if err != nil || stored.TokenHash != s.TokenHash || strings.Contains(stored.ID, v) {
			t.Fatalf("stored session %+v, %v", stored, err)
		}
		if _, err := e.st.FindSession(context.Background(), v); !errors.Is(err, sso.ErrNotFound) {
			t.Fatal("the raw cookie value finds a session: tokens stored in clear")
		}
	}
	s := e.sessionFor("alice", orgA)
	pair, err := e.m.IssueTokens(context.Background(), s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(pair.RefreshToken)
	if err != nil || len(raw) < 32 {
		t.Fatalf("refresh token has %d bytes, want >= 32", len(raw))
	}
	if _, err := e.st.GetRefreshToken(context.Background(), pair.RefreshToken); !errors.Is(err, sso.ErrNotFound) {
		t.Fatal("refresh token stored in clear")
	}
	if _, err := e.st.GetRefreshToken(context.Background(), opaque.Hash(pair.RefreshToken)); err != nil {
		t.Fatalf("refresh token hash not stored: %v", err)
	}
}

// T-X.5: RT1 -> (AT2, RT2); reusing RT1 fails, revokes RT2 (the family)
// and records token.refresh_reused.
func TestTX5_RefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.sessionFor("alice", orgA)
	p1, err := e.m.IssueTokens(ctx, s, session.TokenOptions{ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := e.m.Refresh(ctx, p1.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if p2.RefreshToken == p1.RefreshToken || p2.AccessToken == p1.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	_, err = e.m.Refresh(ctx, p1.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	wantReason(t, err, session.ReasonRefreshReused)
	_, err = e.m.Refresh(ctx, p2.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	wantReason(t, err, session.ReasonRevoked)
	evs := e.events(orgA, session.EventRefreshReused)
	if len(evs) != 1 || evs[0].Actor.ID != "alice" || evs[0].Outcome != sso.OutcomeFailure {
		t.Fatalf("reuse events = %+v, want one for alice", evs)
	}

	// The same through the token endpoint: 400 invalid_grant, no detail.
	p3, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {p3.RefreshToken}}
	c := e.srv.Client()
	resp, err := c.PostForm(e.srv.URL+"/token", form)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first refresh: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	resp, _ = c.PostForm(e.srv.URL+"/token", form)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(body, `{"error":"invalid_grant","error_description":"the refresh token is invalid, expired or used"}`) {
		t.Fatalf("reuse via endpoint: %d %s", resp.StatusCode, body)
	}
}

// T-X.6: 20 parallel refreshes with one token: exactly one new family
// member. Default policy (strict): the losers are reuse and the family dies.
// Grace policy: the losers get concurrent_refresh and the winner lives.
func TestTX6_ConcurrentRefreshRace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		grace      time.Duration
		losers     []string
		winnerLive bool
	}{
		// A loser that reads the token after another loser revoked the
		// family sees "revoked"; the first one sees reuse.
		{"strict", 0, []string{session.ReasonRefreshReused, session.ReasonRevoked}, false},
		{"grace", 2 * time.Second, []string{session.ReasonConcurrentRefresh}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *session.Config) { c.ConcurrentRefreshGrace = tc.grace })
			ctx := context.Background()
			p, err := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			const n = 20
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				pairs = make([]*session.TokenPair, n)
				errs  = make([]error, n)
			)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					pairs[i], errs[i] = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
				}()
			}
			close(start)
			wg.Wait()
			var winner *session.TokenPair
			for i := range n {
				if errs[i] == nil {
					if winner != nil {
						t.Fatal("two refreshes won")
					}
					winner = pairs[i]
					continue
				}
				if r := sso.ReasonOf(errs[i]); !slices.Contains(tc.losers, r) {
					t.Fatalf("loser reason %q (%v), want one of %q", r, errs[i], tc.losers)
				}
			}
			if reused := len(e.events(orgA, session.EventRefreshReused)); tc.winnerLive != (reused == 0) {
				t.Fatalf("%d reuse events under the %s policy", reused, tc.name)
			}
			if winner == nil {
				t.Fatal("no refresh won")
			}
			_, err = e.m.Refresh(ctx, winner.RefreshToken, session.RefreshOptions{})
			if tc.winnerLive && err != nil {
				t.Fatalf("winner's token after grace-policy race: %v", err)
			}
			if !tc.winnerLive {
				wantReason(t, err, session.ReasonRevoked)
			}
		})
	}
}

// T-X.7: binding to client and tenant, absolute and idle expiry, and
// revocation on logout and on user deactivation.
func TestTX7_BindingAndLifetime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("OtherClient", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		p, _ := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{ClientID: "web"})
		_, err := e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{ClientID: "cli"})
		wantReason(t, err, session.ReasonClientMismatch)
		_, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
		wantReason(t, err, session.ReasonClientMismatch)
	})
	t.Run("OtherTenant", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		p, _ := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{})
		_, err := e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{OrgID: orgB})
		wantReason(t, err, session.ReasonOrgMismatch)
		if _, err := e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{OrgID: orgA}); err != nil {
			t.Fatalf("own tenant: %v", err)
		}
	})
	t.Run("AbsoluteExpiryDespiteActivity", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *session.Config) { c.AbsoluteTimeout = 2 * time.Hour })
		c := e.browser()
		e.login(c, "alice", orgA)
		for i := 0; i < 11; i++ { // 110 minutes of activity every 10 minutes
			e.clock.Advance(10 * time.Minute)
			if st, _ := e.me(c); st != http.StatusOK {
				t.Fatalf("active session died at %d min", (i+1)*10)
			}
		}
		e.clock.Advance(10 * time.Minute)
		if st, _ := e.me(c); st != http.StatusUnauthorized {
			t.Fatalf("past absolute expiry: %d, want 401", st)
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c := e.browser()
		e.login(c, "alice", orgA)
		e.clock.Advance(29 * time.Minute)
		if st, _ := e.me(c); st != http.StatusOK {
			t.Fatal("session died before the idle timeout")
		}
		e.clock.Advance(31 * time.Minute)
		if st, _ := e.me(c); st != http.StatusUnauthorized {
			t.Fatalf("idle 31 min: %d, want 401", st)
		}
	})
	t.Run("RefreshAbsoluteExpiry", func(t *testing.T) {
		t.Parallel()
		// The family's own expiry binds even while its session lives on:
		// refreshes every 20 minutes keep the session alive, not the family.
		e := newEnv(t, func(c *session.Config) { c.RefreshTokenTTL = 2 * time.Hour })
		p, _ := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{})
		for i := 0; i < 5; i++ {
			e.clock.Advance(20 * time.Minute)
			var err error
			if p, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{}); err != nil {
				t.Fatalf("minute %d: %v", (i+1)*20, err)
			}
		}
		e.clock.Advance(20 * time.Minute)
		_, err := e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
		wantReason(t, err, session.ReasonExpired)
	})
	t.Run("RevokedOnLogout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		c := e.browser()
		e.login(c, "alice", orgA)
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: e.cookie(c)})
		s, err := e.m.Current(r)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
		if _, err := e.m.VerifyAccessToken(ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
		e.do(c, "POST", "/logout")
		_, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
		wantReason(t, err, session.ReasonRevoked)
		_, err = e.m.VerifyAccessToken(ctx, p.AccessToken)
		wantReason(t, err, session.ReasonRevoked)
	})
	t.Run("RevokeUserOnEveryReplicaWithin60s", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		// A second replica sharing the store.
		replica, err := session.New(e.cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := e.browser()
		e.login(c, "alice", orgA)
		s := e.sessionFor("alice", orgA)
		p, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
		if _, err := replica.VerifyAccessToken(ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		if err := e.m.RevokeUser(ctx, "alice"); err != nil { // what SCIM deactivation calls
			t.Fatal(err)
		}
		if st, _ := e.me(c); st != http.StatusUnauthorized {
			t.Fatalf("session after RevokeUser: %d, want 401 at once", st)
		}
		_, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
		wantReason(t, err, session.ReasonRevoked)
		_, err = e.m.VerifyAccessToken(ctx, p.AccessToken)
		wantReason(t, err, session.ReasonRevoked)
		e.clock.Advance(session.DefaultRevocationCacheTTL + time.Second)
		_, err = replica.VerifyAccessToken(ctx, p.AccessToken)
		wantReason(t, err, session.ReasonRevoked)
		// A new login after the revocation works again.
		e.clock.Advance(time.Second)
		p2, err := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := replica.VerifyAccessToken(ctx, p2.AccessToken); err != nil {
			t.Fatalf("token issued after revocation: %v", err)
		}
	})
}

// T-X.8: logout deletes the server-side session; replaying the cookie is
// 401.
func TestTX8_LogoutKillsServerSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.browser()
	e.login(c, "alice", orgA)
	old := e.cookie(c)
	resp := e.do(c, "POST", "/logout")
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "Max-Age=0") {
		t.Fatalf("logout Set-Cookie %q does not expire the cookie", sc)
	}
	if st, _ := e.me(e.withCookie(old)); st != http.StatusUnauthorized {
		t.Fatalf("replayed cookie after logout: %d, want 401", st)
	}
	if _, err := e.st.FindSession(context.Background(), opaque.Hash(old)); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("session still stored after logout: %v", err)
	}
}

// T-X.9: sensitive operations need a recent authentication.
func TestTX9_RecentAuthRequiredForSensitiveChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sensitive := e.m.Load(e.m.Require(e.m.RequireRecentAuth(5 * time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))))
	c := e.browser()
	e.login(c, "alice", orgA)
	call := func() (int, string) {
		r := httptest.NewRequest("POST", "/mfa/enroll", nil)
		r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: e.cookie(c)})
		w := httptest.NewRecorder()
		sensitive.ServeHTTP(w, r)
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	if st, _ := call(); st != http.StatusNoContent {
		t.Fatalf("fresh login: %d", st)
	}
	for i := 0; i < 3; i++ { // stay active, but the login ages
		e.clock.Advance(4 * time.Minute)
		e.me(c)
	}
	if st, body := call(); st != http.StatusUnauthorized || body != `{"error":"reauthentication_required"}` {
		t.Fatalf("12-minute-old login: %d %s, want 401 reauthentication_required", st, body)
	}
	// A completed step-up counts as recent authentication.
	if resp := e.do(c, "POST", "/elevate"); resp.StatusCode != http.StatusOK {
		t.Fatal("elevate failed")
	}
	if st, _ := call(); st != http.StatusNoContent {
		t.Fatalf("after step-up: %d", st)
	}
	// An access token, however fresh, is not a recent authentication.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: e.cookie(c)})
	s, err := e.m.Current(r)
	if err != nil {
		t.Fatal(err)
	}
	pair, _ := e.m.IssueTokens(context.Background(), s, session.TokenOptions{})
	api := e.m.LoadBearer(e.m.Require(e.m.RequireRecentAuth(5 * time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))))
	r = httptest.NewRequest("POST", "/mfa/enroll", nil)
	r.Header.Set("Authorization", "Bearer "+pair.AccessToken)
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || strings.TrimSpace(w.Body.String()) != `{"error":"reauthentication_required"}` {
		t.Fatalf("bearer on a sensitive route: %d %s", w.Code, w.Body.String())
	}
}
