package session_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// Review variants: cookie tossing, hostile cookie values, concurrency
// between logout and requests, refresh after deactivation, forged access
// tokens and key retirement.

// rawCookie sends GET /me with the Cookie header exactly as given.
func rawCookie(t *testing.T, e *env, header string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/me", nil)
	if header != "" {
		req.Header.Set("Cookie", header)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode == http.StatusUnauthorized && body != `{"error":"unauthorized"}` {
		t.Fatalf("401 body leaks detail: %s", body)
	}
	return resp.StatusCode
}

func TestCookieTossing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim, attacker := e.browser(), e.browser()
	e.login(victim, "alice", orgA)
	e.login(attacker, "mallory", orgB)
	v, a := e.cookie(victim), e.cookie(attacker)
	name := e.m.CookieName()
	if !strings.HasPrefix(name, "__Host-") {
		t.Fatalf("cookie name %q lacks __Host-", name)
	}
	if st := rawCookie(t, e, name+"="+v); st != http.StatusOK {
		t.Fatalf("control: %d", st)
	}
	// Two cookies with the session name are ambiguous (one was tossed in
	// by a sibling host or a path-scoped cookie): neither authenticates,
	// whatever the order.
	for _, h := range []string{name + "=" + a + "; " + name + "=" + v, name + "=" + v + "; " + name + "=" + a, name + "=" + v + "; " + name + "=" + v} {
		if st := rawCookie(t, e, h); st != http.StatusUnauthorized {
			t.Fatalf("duplicate cookies %q: status %d, want 401", h, st)
		}
	}
	// Two Cookie header lines count the same way.
	req, _ := http.NewRequest("GET", e.srv.URL+"/me", nil)
	req.Header.Add("Cookie", name+"="+a)
	req.Header.Add("Cookie", name+"="+v)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("duplicate Cookie lines: %d", resp.StatusCode)
	}
	// Names that only look like ours never authenticate.
	for _, n := range []string{"ssokit_session", "__host-ssokit_session", "__Secure-ssokit_session", "__Host-ssokit_session.", " __Host-ssokit_session_", "__HOST-ssokit_session"} {
		if st := rawCookie(t, e, n+"="+v); st != http.StatusUnauthorized {
			t.Fatalf("cookie name %q accepted", n)
		}
	}
	// A login with a tossed duplicate pair ends both presented sessions.
	e.login(e.withCookie(v), "alice", orgA)
	if st := rawCookie(t, e, name+"="+v); st != http.StatusUnauthorized {
		t.Fatalf("old session survived re-login: %d", st)
	}
}

func TestLogoutWithDuplicateCookiesEndsBoth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim, attacker := e.browser(), e.browser()
	e.login(victim, "alice", orgA)
	e.login(attacker, "mallory", orgB)
	v, a := e.cookie(victim), e.cookie(attacker)
	name := e.m.CookieName()
	req, _ := http.NewRequest("POST", e.srv.URL+"/logout", nil)
	req.Header.Set("Cookie", name+"="+a+"; "+name+"="+v)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	for _, c := range []string{v, a} {
		if st := rawCookie(t, e, name+"="+c); st != http.StatusUnauthorized {
			t.Fatalf("a session presented at logout survived: %d", st)
		}
	}
}

func TestHostileCookieValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.browser()
	e.login(c, "alice", orgA)
	v := e.cookie(c)
	name := e.m.CookieName()
	reads, writes := e.st.reads.Load(), e.st.writes.Load()
	for label, val := range map[string]string{
		"quoted":           `"` + v + `"`,
		"unicode":          v[:40] + "é",
		"fullwidth":        v[:42] + "\uff41",
		"inner-space":      v[:20] + " " + v[20:],
		"tab":              v[:20] + "\t" + v[21:],
		"overlong":         v + v,
		"overlong-8k":      strings.Repeat("A", 8<<10),
		"truncated":        v[:42],
		"padding":          v + "=",
		"std-base64":       strings.NewReplacer("-", "+", "_", "/").Replace(v[:41]) + "+/",
		"empty":            "",
		"percent-encoded":  strings.Replace(v, v[:1], "%"+strings.ToUpper(hexByte(v[0])), 1),
		"hash-not-bearer":  opaque.Hash(v),
		"other-bearer-len": opaque.NewToken(32),
	} {
		if st := rawCookie(t, e, name+"="+val); st != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", label, st)
		}
	}
	// Only well-formed values reach the store, and nothing is written.
	if got := e.st.reads.Load() - reads; got > 1 {
		t.Fatalf("%d store reads for malformed cookies, want at most 1 (other-bearer-len)", got)
	}
	if got := e.st.writes.Load() - writes; got != 0 {
		t.Fatalf("%d store writes for bad cookies", got)
	}
	// Surrounding whitespace is cookie syntax, not part of the value.
	if st := rawCookie(t, e, "  "+name+"="+v+" ;"); st != http.StatusOK {
		t.Fatalf("padded header: %d", st)
	}
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

func TestConcurrentLogoutAndRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *session.Config) { c.TouchInterval = time.Nanosecond })
	c := e.browser()
	e.login(c, "alice", orgA)
	v := e.cookie(c)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.clock.Advance(time.Millisecond)
			req, _ := http.NewRequest("GET", e.srv.URL+"/me", nil)
			req.Header.Set("Cookie", e.m.CookieName()+"="+v)
			if resp, err := e.srv.Client().Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("status %d during logout", resp.StatusCode)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		req, _ := http.NewRequest("POST", e.srv.URL+"/logout", nil)
		req.Header.Set("Cookie", e.m.CookieName()+"="+v)
		if resp, err := e.srv.Client().Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	wg.Wait()
	// A touch racing the delete must not resurrect the session.
	if st := rawCookie(t, e, e.m.CookieName()+"="+v); st != http.StatusUnauthorized {
		t.Fatalf("session alive after logout: %d", st)
	}
	if l, err := e.m.ListUserSessions(context.Background(), "alice"); err != nil || len(l) != 0 {
		t.Fatalf("sessions after logout: %v %v", l, err)
	}
}

func TestRefreshAfterRevokeUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	p2, err := e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	if err := e.m.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	_, err = e.m.Refresh(ctx, p2.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	wantReason(t, err, session.ReasonRevoked)
	_, err = e.m.VerifyAccessToken(ctx, p2.AccessToken)
	wantReason(t, err, session.ReasonRevoked)
	// The older, used token is refused too (and is not a way back in).
	_, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	if err == nil {
		t.Fatal("used refresh token accepted after RevokeUser")
	}
	// A fresh login after the revocation works.
	e.clock.Advance(time.Second)
	p3, err := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.VerifyAccessToken(ctx, p3.AccessToken); err != nil {
		t.Fatalf("token after re-login: %v", err)
	}
}

func TestRefreshBinding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{ClientID: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts   session.RefreshOptions
		reason string
	}{
		{session.RefreshOptions{ClientID: "other"}, session.ReasonClientMismatch},
		{session.RefreshOptions{}, session.ReasonClientMismatch},
		{session.RefreshOptions{ClientID: "CLI"}, session.ReasonClientMismatch},
		{session.RefreshOptions{ClientID: "cli", OrgID: orgB}, session.ReasonOrgMismatch},
	} {
		_, err := e.m.Refresh(ctx, p.RefreshToken, tc.opts)
		wantReason(t, err, tc.reason)
	}
	// A mismatched attempt does not consume the legitimate client's token.
	if _, err := e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{ClientID: "cli", OrgID: orgA}); err != nil {
		t.Fatalf("legitimate refresh after mismatches: %v", err)
	}
	// Refresh tokens with hostile shapes never reach the store.
	reads := e.st.reads.Load()
	for _, bad := range []string{"", " " + p.RefreshToken, p.RefreshToken + "=", strings.Repeat("a", 5000), p.RefreshToken[:42] + "é"} {
		_, err := e.m.Refresh(ctx, bad, session.RefreshOptions{ClientID: "cli"})
		wantReason(t, err, session.ReasonMalformed)
	}
	if e.st.reads.Load() != reads {
		t.Fatal("malformed refresh tokens reached the store")
	}
}

// forger signs access tokens with the Manager's own key, so single claims
// or headers can be varied.
type forger struct {
	t    *testing.T
	e    *env
	priv crypto.Signer
	s    *session.Session
}

func newForger(t *testing.T) *forger {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *session.Config) {
		c.SigningKeys = []session.SigningKey{{ID: "k1", PrivateKey: key}}
	})
	return &forger{t: t, e: e, priv: key, s: e.sessionFor("alice", orgA)}
}

func (f *forger) claims() map[string]any {
	now := f.e.clock.Now()
	return map[string]any{"iss": "https://app.test", "aud": []string{"https://app.test"}, "sub": "alice", "org": orgA,
		"sid": f.s.ID, "jti": opaque.NewID(""), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"roles": []string{"member"}, "scope": ""}
}

func (f *forger) sign(hdr map[string]any, claims map[string]any, alg jwa.SignatureAlgorithm, key any) string {
	f.t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		f.t.Fatal(err)
	}
	h := jws.NewHeaders()
	for k, v := range hdr {
		if err := h.Set(k, v); err != nil {
			f.t.Fatal(err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(out)
}

func (f *forger) good(edit func(c map[string]any)) string {
	c := f.claims()
	if edit != nil {
		edit(c)
	}
	return f.sign(map[string]any{"kid": "k1", "typ": "at+jwt"}, c, jwa.ES256, f.priv)
}

// bearer sends GET /me with the token and returns the status.
func (f *forger) bearer(tok string) int {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.e.srv.URL+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := f.e.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	body := readBody(f.t, resp)
	if resp.StatusCode == http.StatusUnauthorized && body != `{"error":"unauthorized"}` {
		f.t.Fatalf("401 body leaks detail: %s", body)
	}
	return resp.StatusCode
}

func TestForgedAccessTokens(t *testing.T) {
	t.Parallel()
	f := newForger(t)
	ctx := context.Background()
	if _, err := f.e.m.VerifyAccessToken(ctx, f.good(nil)); err != nil {
		t.Fatalf("control token: %v", err)
	}
	if st := f.bearer(f.good(nil)); st != http.StatusOK {
		t.Fatalf("control bearer: %d", st)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(f.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	pubJWK, _ := jwk.FromRaw(otherEC.Public())
	now := f.e.clock.Now()
	b64 := base64.RawURLEncoding.EncodeToString
	hdrJSON := func(h map[string]any) string { b, _ := json.Marshal(h); return b64(b) }
	claimsJSON := func() string { b, _ := json.Marshal(f.claims()); return b64(b) }
	cases := []struct {
		name   string
		tok    func() string
		reason string
	}{
		{"alg-hs256-keyed-with-public-key", func() string {
			return f.sign(map[string]any{"kid": "k1", "typ": "at+jwt"}, f.claims(), jwa.HS256, pubDER)
		}, session.ReasonSignature},
		{"alg-none", func() string {
			return hdrJSON(map[string]any{"alg": "none", "kid": "k1", "typ": "at+jwt"}) + "." + claimsJSON() + "."
		}, ""},
		{"alg-eddsa-with-k1-kid", func() string {
			return f.sign(map[string]any{"kid": "k1", "typ": "at+jwt"}, f.claims(), jwa.EdDSA, edPriv)
		}, session.ReasonSignature},
		{"kid-unknown", func() string {
			return f.sign(map[string]any{"kid": "k9", "typ": "at+jwt"}, f.claims(), jwa.ES256, f.priv)
		}, session.ReasonSignature},
		{"kid-absent", func() string {
			return f.sign(map[string]any{"typ": "at+jwt"}, f.claims(), jwa.ES256, f.priv)
		}, session.ReasonSignature},
		{"other-key-embedded-jwk", func() string {
			return f.sign(map[string]any{"kid": "k1", "typ": "at+jwt", "jwk": pubJWK}, f.claims(), jwa.ES256, otherEC)
		}, session.ReasonSignature},
		{"typ-jwt", func() string {
			return f.sign(map[string]any{"kid": "k1", "typ": "JWT"}, f.claims(), jwa.ES256, f.priv)
		}, session.ReasonSignature},
		{"typ-absent", func() string {
			return f.sign(map[string]any{"kid": "k1"}, f.claims(), jwa.ES256, f.priv)
		}, session.ReasonSignature},
		{"typ-id-token-like", func() string {
			return f.sign(map[string]any{"kid": "k1", "typ": "logout+jwt"}, f.claims(), jwa.ES256, f.priv)
		}, session.ReasonSignature},
		{"expired-by-1s", func() string {
			return f.good(func(c map[string]any) {
				c["iat"], c["exp"] = now.Add(-5*time.Minute).Unix(), now.Add(-time.Second).Unix()
			})
		}, session.ReasonExpired},
		{"exp-now", func() string {
			return f.good(func(c map[string]any) { c["iat"], c["exp"] = now.Add(-5*time.Minute).Unix(), now.Unix() })
		}, session.ReasonExpired},
		{"nbf-future", func() string { return f.good(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }) }, session.ReasonMalformed},
		{"iat-future", func() string { return f.good(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }) }, session.ReasonMalformed},
		{"lifetime-beyond-max", func() string {
			return f.good(func(c map[string]any) { c["exp"] = now.Add(session.MaxAccessTokenTTL + time.Minute).Unix() })
		}, session.ReasonMalformed},
		{"tampered-signature", func() string {
			tok := f.good(nil)
			i := strings.LastIndexByte(tok, '.')
			sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
			sig[5] ^= 1
			return tok[:i+1] + b64(sig)
		}, session.ReasonSignature},
		{"tampered-payload", func() string {
			tok := f.good(nil)
			parts := strings.Split(tok, ".")
			c := f.claims()
			c["sub"] = "bob"
			b, _ := json.Marshal(c)
			return parts[0] + "." + b64(b) + "." + parts[2]
		}, session.ReasonSignature},
		{"iss-other", func() string { return f.good(func(c map[string]any) { c["iss"] = "https://evil.test" }) }, session.ReasonMalformed},
		{"iss-trailing-slash", func() string { return f.good(func(c map[string]any) { c["iss"] = "https://app.test/" }) }, session.ReasonMalformed},
		{"aud-other", func() string { return f.good(func(c map[string]any) { c["aud"] = "https://other.test" }) }, session.ReasonMalformed},
		{"aud-absent", func() string { return f.good(func(c map[string]any) { delete(c, "aud") }) }, session.ReasonMalformed},
		{"sid-absent", func() string { return f.good(func(c map[string]any) { delete(c, "sid") }) }, session.ReasonMalformed},
		{"org-number", func() string { return f.good(func(c map[string]any) { c["org"] = 1 }) }, session.ReasonMalformed},
		{"roles-string", func() string { return f.good(func(c map[string]any) { c["roles"] = "admin" }) }, session.ReasonMalformed},
		{"sub-empty", func() string { return f.good(func(c map[string]any) { c["sub"] = "" }) }, session.ReasonMalformed},
		{"huge", func() string {
			return f.good(func(c map[string]any) { c["pad"] = strings.Repeat("x", 5000) })
		}, session.ReasonMalformed},
		{"jwe-shape", func() string { return "a.b.c.d.e" }, session.ReasonMalformed},
		{"json-serialization", func() string {
			return `{"payload":"` + claimsJSON() + `","signatures":[]}`
		}, session.ReasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.tok()
			_, err := f.e.m.VerifyAccessToken(ctx, tok)
			if tc.reason == "" {
				var ve *sso.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a ValidationError", err)
				}
			} else {
				wantReason(t, err, tc.reason)
			}
			if len(tok) < 4000 {
				if st := f.bearer(tok); st != http.StatusUnauthorized {
					t.Fatalf("bearer status %d", st)
				}
			}
		})
	}
}

func TestRetiredKeyAndJWKS(t *testing.T) {
	t.Parallel()
	oldKey, err := session.GenerateSigningKey("old", session.RS256)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *session.Config) { c.SigningKeys = []session.SigningKey{oldKey} })
	ctx := context.Background()
	p, err := e.m.IssueTokens(ctx, e.sessionFor("alice", orgA), session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	newKey, _ := session.GenerateSigningKey("new", session.EdDSA)
	nextKey, _ := session.GenerateSigningKey("next", session.ES256)
	oldKey.RetiredAt = now.Add(time.Minute)
	newKey.ActiveAt = now
	nextKey.ActiveAt = now.Add(24 * time.Hour)
	if err := e.m.SetSigningKeys([]session.SigningKey{oldKey, newKey, nextKey}); err != nil {
		t.Fatal(err)
	}
	// Tokens of the retired key verify until they expire.
	e.clock.Advance(2 * time.Minute)
	if _, err := e.m.VerifyAccessToken(ctx, p.AccessToken); err != nil {
		t.Fatalf("token of retiring key: %v", err)
	}
	kids := func() map[string]map[string]any {
		resp := e.do(e.browser(), "GET", "/jwks")
		var set struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]any{}
		for _, k := range set.Keys {
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
				if _, ok := k[private]; ok {
					t.Fatalf("JWKS exposes private member %q of key %v", private, k["kid"])
				}
			}
			if k["use"] != "sig" || k["alg"] == nil {
				t.Fatalf("JWKS key without use/alg: %v", k)
			}
			out[k["kid"].(string)] = k
		}
		return out
	}
	if got := kids(); len(got) != 3 || got["next"] == nil || got["old"] == nil {
		t.Fatalf("JWKS kids %v, want old, new and the next key published before use", got)
	}
	// Once every token of the retired key has expired, the key is gone:
	// a token it signs (even freshly dated) is refused and it leaves the
	// JWKS.
	e.clock.Advance(session.MaxAccessTokenTTL)
	if _, err := e.m.VerifyAccessToken(ctx, p.AccessToken); err == nil {
		t.Fatal("expired token of a retired key accepted")
	}
	s := e.sessionFor("alice", orgA)
	now = e.clock.Now()
	payload, _ := json.Marshal(map[string]any{"iss": "https://app.test", "aud": "https://app.test", "sub": "alice", "org": orgA,
		"sid": s.ID, "jti": "x", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
	h := jws.NewHeaders()
	_ = h.Set("kid", "old")
	_ = h.Set("typ", "at+jwt")
	tok, err := jws.Sign(payload, jws.WithKey(jwa.RS256, oldKey.PrivateKey, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.m.VerifyAccessToken(ctx, string(tok))
	wantReason(t, err, session.ReasonSignature)
	if got := kids(); got["old"] != nil {
		t.Fatal("retired key still published after its tokens expired")
	}
	// A key not yet active neither signs nor verifies.
	_ = h.Set("kid", "next")
	tok, _ = jws.Sign(payload, jws.WithKey(jwa.ES256, nextKey.PrivateKey, jws.WithProtectedHeaders(h)))
	_, err = e.m.VerifyAccessToken(ctx, string(tok))
	wantReason(t, err, session.ReasonSignature)
	// HEAD works, writes are refused.
	if resp := e.do(e.browser(), "POST", "/jwks"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /jwks: %d", resp.StatusCode)
	}
}

func TestOrgPolicyIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	o, _ := e.st.GetOrg(ctx, orgB)
	o.Settings.Session = sso.SessionPolicy{IdleTimeout: 48 * time.Hour, AbsoluteTimeout: time.Hour, MaxSessions: 1,
		AccessTokenTTL: 10 * session.MaxAccessTokenTTL, RefreshTokenTTL: time.Minute}
	if err := e.st.UpdateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	sb := e.sessionFor("alice", orgB)
	if sb.IdleTimeout != time.Hour {
		t.Fatalf("idle %v not clamped to the absolute timeout", sb.IdleTimeout)
	}
	p, err := e.m.IssueTokens(ctx, sb, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.ExpiresIn != session.MaxAccessTokenTTL {
		t.Fatalf("access TTL %v not clamped to %v", p.ExpiresIn, session.MaxAccessTokenTTL)
	}
	// Org B's limit of one session does not evict alice's org A sessions.
	sa := e.sessionFor("alice", orgA)
	sb2 := e.sessionFor("alice", orgB)
	if l, _ := e.m.ListSessions(ctx, orgA, "alice"); len(l) != 1 || l[0].ID != sa.ID {
		t.Fatalf("org A sessions %v", l)
	}
	if l, _ := e.m.ListSessions(ctx, orgB, "alice"); len(l) != 1 {
		t.Fatalf("org B keeps %d sessions, want 1", len(l))
	}
	// The evicted session's tokens died with it.
	_, err = e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
	wantReason(t, err, session.ReasonRevoked)
	// Org B's one-minute refresh lifetime holds across rotation.
	if p, err = e.m.IssueTokens(ctx, sb2, session.TokenOptions{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	p2, err := e.m.Refresh(ctx, p.RefreshToken, session.RefreshOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * time.Second)
	_, err = e.m.Refresh(ctx, p2.RefreshToken, session.RefreshOptions{})
	wantReason(t, err, session.ReasonExpired)
	// A session switched into org B takes org B's policy.
	c := e.browser()
	e.login(c, "alice", orgA)
	if resp := e.do(c, "POST", "/switch?org="+orgB); resp.StatusCode != http.StatusOK {
		t.Fatalf("switch: %d", resp.StatusCode)
	}
	e.clock.Advance(61 * time.Minute)
	if st, _ := e.me(c); st != http.StatusUnauthorized {
		t.Fatalf("switched session outlived org B's absolute timeout: %d", st)
	}
}
