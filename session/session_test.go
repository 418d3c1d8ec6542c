package session_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	ms := memstore.New()
	key, _ := session.GenerateSigningKey("k", session.ES256)
	for _, tc := range []struct {
		name string
		cfg  session.Config
	}{
		{"no store", session.Config{Events: ms}},
		{"no events", session.Config{Store: ms}},
		{"negative idle", session.Config{Store: ms, Events: ms, IdleTimeout: -1}},
		{"idle > absolute", session.Config{Store: ms, Events: ms, IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour}},
		{"access too long", session.Config{Store: ms, Events: ms, AccessTokenTTL: 2 * time.Hour}},
		{"revocation cache too long", session.Config{Store: ms, Events: ms, RevocationCacheTTL: 2 * time.Minute}},
		{"keys without token store", session.Config{Store: ms, Events: ms, SigningKeys: []session.SigningKey{key}, Issuer: "x"}},
		{"keys without issuer", session.Config{Store: ms, Events: ms, Tokens: ms, Revocations: ms, Memberships: ms, SigningKeys: []session.SigningKey{key}}},
		{"duplicate kid", session.Config{Store: ms, Events: ms, Tokens: ms, Revocations: ms, Memberships: ms, Issuer: "x", SigningKeys: []session.SigningKey{key, key}}},
		{"weak rsa", session.Config{Store: ms, Events: ms, Tokens: ms, Revocations: ms, Memberships: ms, Issuer: "x",
			SigningKeys: []session.SigningKey{{ID: "r", PrivateKey: mustP384(t)}}}},
	} {
		if _, err := session.New(tc.cfg); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", tc.name, err)
		}
	}
	plain, err := session.New(session.Config{Store: ms, Events: ms})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.SetSigningKeys([]session.SigningKey{key}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Errorf("SetSigningKeys without token storage: %v, want ErrInvalidConfig", err)
	}
	if _, err := plain.VerifyAccessToken(context.Background(), "a.b.c"); !errors.Is(err, session.ErrTokensDisabled) {
		t.Errorf("VerifyAccessToken without keys: %v, want ErrTokensDisabled", err)
	}
	if _, err := session.GenerateSigningKey("k", "HS256"); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Errorf("HS256 key: %v, want ErrInvalidConfig", err)
	}
}

func mustP384(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSessionLimitEndsOldestWithHookAndEvent(t *testing.T) {
	t.Parallel()
	var evicted atomic.Value
	e := newEnv(t, func(c *session.Config) {
		c.OnSessionEvicted = func(_ context.Context, info sso.SessionInfo) { evicted.Store(info) }
	})
	var first *session.Session
	for i := 0; i < session.DefaultMaxSessions; i++ {
		s := e.sessionFor("alice", orgA)
		if i == 0 {
			first = s
		}
		e.clock.Advance(time.Second)
	}
	list, _ := e.m.ListUserSessions(context.Background(), "alice")
	if len(list) != 5 {
		t.Fatalf("%d sessions, want 5", len(list))
	}
	e.sessionFor("alice", orgA)
	list, _ = e.m.ListUserSessions(context.Background(), "alice")
	if len(list) != 5 || list[0].ID == first.ID {
		t.Fatalf("after the 6th login: %d sessions, oldest %s (first was %s)", len(list), list[0].ID, first.ID)
	}
	info, _ := evicted.Load().(sso.SessionInfo)
	if info.ID != first.ID {
		t.Fatalf("hook got %q, want the oldest session %q", info.ID, first.ID)
	}
	evs := e.events(orgA, session.EventLimitExceeded)
	if len(evs) != 1 || evs[0].Target.ID != first.ID {
		t.Fatalf("events = %+v", evs)
	}
}

func TestOrgPolicyOverrides(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	o, _ := e.st.GetOrg(ctx, orgB)
	o.Settings.Session = sso.SessionPolicy{IdleTimeout: 5 * time.Minute, MaxSessions: 2, AccessTokenTTL: 5 * time.Minute,
		AbsoluteTimeout: time.Hour, RefreshTokenTTL: time.Hour}
	if err := e.st.UpdateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	s := e.sessionFor("alice", orgB)
	if s.IdleTimeout != 5*time.Minute || !s.ExpiresAt.Equal(s.CreatedAt.Add(time.Hour)) {
		t.Fatalf("org B session: idle %v, expires %v", s.IdleTimeout, s.ExpiresAt)
	}
	for i := 0; i < 3; i++ {
		e.clock.Advance(time.Second)
		e.sessionFor("alice", orgB)
	}
	if l, _ := e.m.ListSessions(ctx, orgB, "alice"); len(l) != 2 {
		t.Fatalf("org B keeps %d sessions, want 2", len(l))
	}
	p, _ := e.m.IssueTokens(ctx, e.sessionFor("alice", orgB), session.TokenOptions{})
	if p.ExpiresIn != 5*time.Minute {
		t.Fatalf("access TTL %v, want 5m", p.ExpiresIn)
	}
	// Org A keeps the defaults.
	if sa := e.sessionFor("alice", orgA); sa.IdleTimeout != session.DefaultIdleTimeout {
		t.Fatalf("org A idle %v", sa.IdleTimeout)
	}
}

// An authenticated request costs one store read; LastSeenAt is written at
// most once per TouchInterval.
func TestLoadReadsOnceAndThrottlesTouch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.browser()
	e.login(c, "alice", orgA)
	reads, touches := e.st.reads.Load(), e.st.touches.Load()
	for i := 0; i < 10; i++ {
		e.clock.Advance(5 * time.Second)
		if st, _ := e.me(c); st != http.StatusOK {
			t.Fatal(st)
		}
	}
	if got := e.st.reads.Load() - reads; got != 10 {
		t.Fatalf("%d reads for 10 requests, want 10", got)
	}
	if got := e.st.touches.Load() - touches; got != 0 {
		t.Fatalf("%d touches within the interval, want 0", got)
	}
	e.clock.Advance(time.Minute)
	e.me(c)
	e.me(c)
	if got := e.st.touches.Load() - touches; got != 1 {
		t.Fatalf("%d touches after a minute, want 1", got)
	}
}

func TestRequireOrgCrossTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resource := map[string]string{"doc_a": orgA, "doc_b": orgB}
	h := e.m.Load(e.m.Require(e.m.RequireOrg(func(r *http.Request) (string, error) {
		org, ok := resource[r.URL.Query().Get("doc")]
		if !ok {
			return "", sso.ErrNotFound
		}
		return org, nil
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) }))))
	c := e.browser()
	e.login(c, "alice", orgA)
	get := func(doc string) (int, string) {
		r := httptest.NewRequest("GET", "/docs?doc="+doc, nil)
		r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: e.cookie(c)})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	if st, body := get("doc_a"); st != 200 || body != "secret" {
		t.Fatalf("own org: %d %s", st, body)
	}
	st, crossBody := get("doc_b")
	if st != http.StatusNotFound {
		t.Fatalf("cross-tenant: %d, want 404", st)
	}
	_, missingBody := get("doc_none")
	if crossBody != missingBody {
		t.Fatalf("cross-tenant body %q differs from a missing resource's %q", crossBody, missingBody)
	}
	evs := e.events(orgA, sso.EventCrossTenantDenied)
	if len(evs) != 1 || evs[0].Actor.ID != "alice" || evs[0].Target.ID != orgB || evs[0].Outcome != sso.OutcomeFailure {
		t.Fatalf("events = %+v", evs)
	}
	// With an access token the same rule holds.
	s := e.sessionFor("alice", orgA)
	p, _ := e.m.IssueTokens(context.Background(), s, session.TokenOptions{})
	bh := e.m.LoadBearer(e.m.Require(e.m.RequireOrg(func(r *http.Request) (string, error) { return orgB, nil })(http.NotFoundHandler())))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+p.AccessToken)
	w := httptest.NewRecorder()
	bh.ServeHTTP(w, r)
	if w.Code != http.StatusNotFound || len(e.events(orgA, sso.EventCrossTenantDenied)) != 2 {
		t.Fatalf("bearer cross-tenant: %d", w.Code)
	}
}

func TestAdminSessionsScopedToOrg(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := sso.WithPrincipal(context.Background(), &sso.Principal{UserID: "admin_a", OrgID: orgA})
	sa := e.sessionFor("alice", orgA)
	sb := e.sessionFor("alice", orgB)
	var admin sso.SessionAdmin = e.m
	l, err := admin.ListSessions(ctx, orgA, "alice")
	if err != nil || len(l) != 1 || l[0].ID != sa.ID {
		t.Fatalf("ListSessions(orgA) = %+v, %v", l, err)
	}
	if err := admin.RevokeSession(ctx, orgA, sb.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("revoking another org's session: %v, want ErrNotFound", err)
	}
	if err := admin.RevokeSession(ctx, orgA, sa.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.GetSession(ctx, sa.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatal("session survived admin revocation")
	}
	evs := e.events(orgA, sso.EventSessionRevoked)
	if len(evs) != 1 || evs[0].Actor.ID != "admin_a" || evs[0].Actor.Type != sso.ActorAdmin || evs[0].Reason != "admin_revoked" {
		t.Fatalf("events = %+v", evs)
	}
	// Force logout ends the user's sessions in the admin's org only.
	e.sessionFor("alice", orgA)
	e.sessionFor("alice", orgA)
	if err := e.m.ForceLogout(ctx, orgA, "alice"); err != nil {
		t.Fatal(err)
	}
	all, _ := e.m.ListUserSessions(ctx, "alice")
	if len(all) != 1 || all[0].ID != sb.ID {
		t.Fatalf("after force logout: %+v, want only the org B session", all)
	}
	// A user revokes their own sessions only.
	if err := e.m.RevokeUserSession(ctx, "bob", sb.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("bob revoking alice's session: %v", err)
	}
	keep := e.sessionFor("alice", orgA)
	if err := e.m.RevokeOtherSessions(ctx, "alice", keep.ID); err != nil {
		t.Fatal(err)
	}
	all, _ = e.m.ListUserSessions(ctx, "alice")
	if len(all) != 1 || all[0].ID != keep.ID {
		t.Fatalf("after sign-out-others: %+v", all)
	}
}

func TestAccessTokenClaimsAndAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{session.ES256, session.EdDSA, session.RS256} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			key, err := session.GenerateSigningKey("kid-"+alg, alg)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, func(c *session.Config) { c.SigningKeys = []session.SigningKey{key} })
			ctx := context.Background()
			s := e.sessionFor("alice", orgA)
			p, err := e.m.IssueTokens(ctx, s, session.TokenOptions{ClientID: "cli", Scopes: []string{"read", "write"}})
			if err != nil {
				t.Fatal(err)
			}
			msg, err := jws.Parse([]byte(p.AccessToken))
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Signatures()[0].ProtectedHeaders()
			if h.KeyID() != "kid-"+alg || h.Algorithm().String() != alg || h.Type() != "at+jwt" {
				t.Fatalf("header kid=%q alg=%q typ=%q", h.KeyID(), h.Algorithm(), h.Type())
			}
			var claims map[string]any
			if err := json.Unmarshal(msg.Payload(), &claims); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"sub", "org", "sid", "roles", "scope", "iat", "exp", "jti", "iss", "aud"} {
				if _, ok := claims[k]; !ok {
					t.Errorf("claim %q missing", k)
				}
			}
			c, err := e.m.VerifyAccessToken(ctx, p.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "alice" || c.OrgID != orgA || c.SessionID != s.ID || c.ClientID != "cli" ||
				strings.Join(c.Scopes, " ") != "read write" || strings.Join(c.Roles, ",") != "member" ||
				c.ExpiresAt.Sub(c.IssuedAt) != session.DefaultAccessTokenTTL {
				t.Fatalf("claims = %+v", c)
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	old := e.cfg.SigningKeys[0]
	s := e.sessionFor("alice", orgA)
	p1, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})

	next, _ := session.GenerateSigningKey("k2", session.EdDSA)
	next.ActiveAt = e.clock.Now().Add(10 * time.Minute)
	old.RetiredAt = next.ActiveAt
	if err := e.m.SetSigningKeys([]session.SigningKey{old, next}); err != nil {
		t.Fatal(err)
	}
	kids := func() []string {
		w := httptest.NewRecorder()
		e.m.ServeJWKS(w, httptest.NewRequest("GET", "/jwks", nil))
		set, err := jwk.Parse(w.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := 0; i < set.Len(); i++ {
			k, _ := set.Key(i)
			if ok, _ := jwk.IsPrivateKey(k); ok {
				t.Fatal("JWKS publishes a private key")
			}
			out = append(out, k.KeyID())
		}
		return out
	}
	if got := strings.Join(kids(), ","); got != "k1,k2" {
		t.Fatalf("JWKS before activation = %s, want the next key published early", got)
	}
	p2, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	if kidOf(t, p2.AccessToken) != "k1" {
		t.Fatal("next key used before ActiveAt")
	}
	e.clock.Advance(11 * time.Minute)
	p3, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	if kidOf(t, p3.AccessToken) != "k2" {
		t.Fatal("next key not used after ActiveAt")
	}
	if _, err := e.m.VerifyAccessToken(ctx, p2.AccessToken); err != nil {
		t.Fatalf("token of the retired key during overlap: %v", err)
	}
	e.clock.Advance(session.MaxAccessTokenTTL)
	if got := strings.Join(kids(), ","); got != "k2" {
		t.Fatalf("JWKS after retirement = %s, want k2", got)
	}
	_, err := e.m.VerifyAccessToken(ctx, p1.AccessToken)
	if err == nil {
		t.Fatal("token of a removed key verified")
	}
}

func kidOf(t *testing.T, tok string) string {
	msg, err := jws.Parse([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

func TestVerifyCacheNeverPastExpiryOrRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.sessionFor("alice", orgA)
	p, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	for i := 0; i < 3; i++ {
		if _, err := e.m.VerifyAccessToken(ctx, p.AccessToken); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(session.DefaultAccessTokenTTL)
	_, err := e.m.VerifyAccessToken(ctx, p.AccessToken)
	wantReason(t, err, session.ReasonExpired)

	p2, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	if _, err := e.m.VerifyAccessToken(ctx, p2.AccessToken); err != nil {
		t.Fatal(err)
	}
	// Revocation through the store behind this replica's back (another
	// replica): the cached token dies within the revocation cache TTL.
	if err := e.st.SetRevocation(ctx, "user:alice", e.clock.Now(), e.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(session.DefaultRevocationCacheTTL)
	_, err = e.m.VerifyAccessToken(ctx, p2.AccessToken)
	wantReason(t, err, session.ReasonRevoked)
}

// Forged, malformed, truncated and oversized credentials are 401 with no
// detail, never a panic, and never write to a store.
func TestBadCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	s := e.sessionFor("alice", orgA)
	good, _ := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	c := e.browser()
	e.login(c, "alice", orgA)
	cookie := e.cookie(c)

	cookies := []string{"", "x", cookie[:len(cookie)-1], cookie + "A", strings.Repeat("A", 4096),
		strings.Repeat("A", 42) + "=", "../../etc/passwd", "%00%00", opaque.NewToken(32), opaque.NewToken(31) + "AA",
		"\u00e9" + cookie[2:], cookie[:20] + "!" + cookie[21:]}
	writes := e.st.writes.Load()
	for _, v := range cookies {
		st, _ := e.me(e.withCookie(v))
		if st != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d, want 401", v, st)
		}
	}

	forgeKey, _ := session.GenerateSigningKey("k1", session.ES256) // same kid, other key
	forged := signWith(t, forgeKey, jwa.ES256, "k1", "at+jwt")
	parts := strings.Split(good.AccessToken, ".")
	noneTok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"k1"}`)) + "." + parts[1] + "."
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","org":"org_a","sid":"x","iat":1,"exp":99999999999,"jti":"j","iss":"https://app.test","aud":"https://app.test"}`)) + "." + parts[2]
	tokens := map[string]string{
		"empty":         "",
		"garbage":       "abc",
		"truncated":     good.AccessToken[:len(good.AccessToken)-10],
		"oversized":     good.AccessToken + strings.Repeat("A", 5000),
		"forged":        forged,
		"alg none":      noneTok,
		"tampered":      tampered,
		"wrong typ":     signWith(t, e.cfg.SigningKeys[0], jwa.ES256, "k1", "JWT"),
		"unknown kid":   signWith(t, e.cfg.SigningKeys[0], jwa.ES256, "k9", "at+jwt"),
		"refresh as AT": good.RefreshToken,
		"two dots":      "..",
		"json":          `{"alg":"none"}`,
	}
	for name, tok := range tokens {
		r := httptest.NewRequest("GET", "/me", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := e.srv.Client().Do(withURL(r, e.srv.URL+"/me"))
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || body != `{"error":"unauthorized"}` ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("%s: %d %q", name, resp.StatusCode, body)
		}
		if _, err := e.m.VerifyAccessToken(ctx, tok); err == nil {
			t.Errorf("%s: verified", name)
		} else if r := sso.ReasonOf(err); r != session.ReasonMalformed && r != session.ReasonSignature {
			t.Errorf("%s: reason %q", name, r)
		}
	}
	for _, rt := range []string{"", "x", good.RefreshToken + "A", strings.Repeat("A", 10000), opaque.NewToken(32)} {
		if _, err := e.m.Refresh(ctx, rt, session.RefreshOptions{}); err == nil {
			t.Errorf("refresh %q succeeded", rt)
		}
	}
	if got := e.st.writes.Load() - writes; got != 0 {
		t.Fatalf("bad credentials caused %d store writes", got)
	}
	// The good cookie still works: nothing above disturbed it.
	if st, _ := e.me(c); st != http.StatusOK {
		t.Fatal("valid session broken")
	}
}

func withURL(r *http.Request, u string) *http.Request {
	req, _ := http.NewRequest(r.Method, u, nil)
	req.Header = r.Header
	return req
}

func signWith(t *testing.T, k session.SigningKey, alg jwa.SignatureAlgorithm, kid, typ string) string {
	t.Helper()
	tok, _ := jwt.NewBuilder().Issuer("https://app.test").Audience([]string{"https://app.test"}).Subject("mallory").
		Claim("org", orgA).Claim("sid", "ses_x").JwtID("j").IssuedAt(time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)).
		Expiration(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)).Build()
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.KeyIDKey, kid)
	_ = hdr.Set(jws.TypeKey, typ)
	b, err := jwt.Sign(tok, jwt.WithKey(alg, k.PrivateKey, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, _ := e.m.IssueTokens(context.Background(), e.sessionFor("alice", orgA), session.TokenOptions{Scopes: []string{"read"}})
	post := func(ct, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", e.srv.URL+"/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name, ct, body string
		status         int
		code           string
	}{
		{"wrong grant", form, "grant_type=password&username=a", 400, "unsupported_grant_type"},
		{"missing token", form, "grant_type=refresh_token", 400, "invalid_request"},
		{"json body", "application/json", `{"grant_type":"refresh_token"}`, 400, "invalid_request"},
		{"duplicate param", form, "grant_type=refresh_token&refresh_token=a&refresh_token=b", 400, "invalid_request"},
		{"unknown token", form, "grant_type=refresh_token&refresh_token=" + opaque.NewToken(32), 400, "invalid_grant"},
		{"huge body", form, "grant_type=refresh_token&refresh_token=" + strings.Repeat("a", 20000), 400, "invalid_request"},
	} {
		st, m := post(tc.ct, tc.body)
		// The code and a fixed description, nothing about the token.
		if st != tc.status || m["error"] != tc.code || len(m) != 2 || m["error_description"] == "" {
			t.Errorf("%s: %d %v, want %d %s", tc.name, st, m, tc.status, tc.code)
		}
	}
	st, m := post(form, "grant_type=refresh_token&refresh_token="+p.RefreshToken)
	if st != 200 || m["token_type"] != "Bearer" || m["expires_in"].(float64) != 900 || m["scope"] != "read" ||
		m["access_token"] == "" || m["refresh_token"] == p.RefreshToken {
		t.Fatalf("refresh: %d %v", st, m)
	}
	resp, _ := e.srv.Client().Get(e.srv.URL + "/token")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /token: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestStoreUnavailableIs503(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *session.Config) { c.Store = failingStore{c.Store} })
	c := e.withCookie(opaque.NewToken(32))
	resp := e.do(c, "GET", "/me")
	if body := readBody(t, resp); resp.StatusCode != http.StatusServiceUnavailable || body != `{"error":"temporarily_unavailable"}` {
		t.Fatalf("store down: %d %s", resp.StatusCode, body)
	}
}

type failingStore struct{ session.Store }

func (failingStore) FindSession(context.Context, string) (*session.Session, error) {
	return nil, errors.New("connection refused: db host 10.0.0.7")
}

func TestLoginRedirect(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *session.Config) { c.ErrorHandler = session.LoginRedirect("/login") })
	h := e.m.Load(e.m.Require(http.NotFoundHandler()))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/app/settings?tab=2", nil))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?return_to=%2Fapp%2Fsettings%3Ftab%3D2" {
		t.Fatalf("GET: %d %q", w.Code, w.Header().Get("Location"))
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/app/settings", nil))
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("POST: %d, want 401", w.Code)
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.sessionFor("alice", orgA)
	e.clock.Advance(session.DefaultIdleTimeout + time.Minute)
	keep := e.sessionFor("bob", orgA)
	n, err := e.m.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if l, _ := e.st.ListUserSessions(ctx, "alice"); len(l) != 0 {
		t.Fatal("idle session not swept")
	}
	if _, err := e.st.GetSession(ctx, keep.ID); err != nil {
		t.Fatalf("live session swept: %v", err)
	}
}
