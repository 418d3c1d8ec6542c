package oidc

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/sso"
)

// FuzzCallback feeds arbitrary query strings and cookies to the callback.
// It must never panic, never answer 500, and never complete a login.
func FuzzCallback(f *testing.F) {
	clk := newClock()
	op := newMockOP(f, clk)
	h := newHarness(f, clk, nil)
	h.addConn(op, "conn_a", "org_a", nil)
	b := newBrowser(f)
	cb := h.authorize(b, h.start(b, "conn_a", ""))
	for _, s := range []string{
		cb.RawQuery,
		"error=access_denied&error_description=x&state=abc",
		"code=x&state=" + strings.Repeat("A", 600),
		"code=%zz&state=%",
		"state=a&state=b&code=c&iss=https://evil",
		"error=%00&state=",
		strings.Repeat("a=b&", 5000),
	} {
		f.Add(s, "cookie")
	}
	f.Fuzz(func(t *testing.T, rawQuery, cookie string) {
		req := httptest.NewRequest(http.MethodGet, "/callback/conn_a", nil)
		req.URL.RawQuery = rawQuery
		if (&http.Cookie{Name: "ssokit_oidc", Value: cookie}).Valid() == nil {
			req.AddCookie(&http.Cookie{Name: "ssokit_oidc", Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.rp.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d for %q", rec.Code, rawQuery)
		}
		if n, _ := h.comp.counts(); n != 0 {
			t.Fatalf("login completed for %q", rawQuery)
		}
	})
}

// tokenFixture returns an RP with a connection whose key set is loaded, a
// valid token for it and the nonce.
func tokenFixture(tb testing.TB) (*RP, *sso.Connection, *metadata, string) {
	clk := newClock()
	h := newHarness(tb, clk, nil)
	k := newRSAKey(0, "k1")
	m := &metadata{Issuer: "https://idp.example.com", AuthURL: "https://idp.example.com/a", TokenURL: "https://idp.example.com/t", JWKSURL: "https://idp.example.com/jwks", IDTokenAlgs: []string{"RS256", "ES256"}}
	conn := &sso.Connection{ID: "conn_f", OrgID: "org_f", Protocol: Protocol, Status: sso.ConnectionActive,
		Config: &ConnectionConfig{Issuer: m.Issuer, ClientID: "client-f", AuthURL: m.AuthURL, TokenURL: m.TokenURL, JWKSURL: m.JWKSURL}}
	ks := h.rp.keySetFor(conn, m.JWKSURL)
	ks.keys = parseJWKS([]json.RawMessage{k.jwk(), newECKey("ec").jwk()})
	ks.fetchedAt, ks.lastAttempt = clk.Now(), clk.Now()
	ks.budget = rate.NewLimiter(0, 0) // unknown kids never reach the network
	now := clk.Now()
	tok := signJWT(map[string]any{"alg": "RS256", "kid": "k1"}, map[string]any{
		"iss": m.Issuer, "sub": "u1", "aud": "client-f", "exp": now.Add(5 * 60e9).Unix(), "iat": now.Unix(), "nonce": "n0nce",
		"email": "a@example.com", "email_verified": true, "groups": []string{"g"}, "name": "A",
	}, k, nil)
	return h.rp, conn, m, tok
}

// FuzzVerifyIDToken feeds arbitrary tokens to the ID token verifier. Only
// the untouched fixture token may verify.
func FuzzVerifyIDToken(f *testing.F) {
	rp, conn, m, tok := tokenFixture(f)
	parts := strings.Split(tok, ".")
	f.Add(tok)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(b64json(map[string]any{"alg": "none"}) + "." + parts[1] + ".")
	f.Add(b64json(map[string]any{"alg": "HS256", "kid": "k1"}) + "." + parts[1] + "." + parts[2])
	f.Add(b64json(map[string]any{"alg": "RSA-OAEP", "enc": "A128GCM", "zip": "DEF"}) + ".a.b.c.d")
	f.Add(strings.Repeat(".", 1000))
	f.Add(b64json(map[string]any{"alg": "RS256", "kid": "k1", "crit": []string{"exp"}}) + "." + parts[1] + "." + parts[2])
	f.Add(b64json(map[string]any{"alg": "ES256", "kid": "ec"}) + "." + parts[1] + "." + parts[2][:86])
	f.Fuzz(func(t *testing.T, raw string) {
		vt, err := rp.verifyIDToken(context.Background(), conn, m, raw, "n0nce", "")
		if err == nil && raw != tok {
			t.Fatalf("accepted a modified token: %q (%+v)", raw, vt.claims)
		}
		if err != nil {
			if sso.ReasonOf(err) == "internal" {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if vt.decode() == nil {
			_ = rp.profile(context.Background(), conn, vt)
		}
	})
}

// FuzzParseJWKS feeds arbitrary JWKS documents to the key parser: no
// panic, and only public asymmetric signature keys come out.
func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[` + string(newRSAKey(0, "k1").jwk()) + `,` + string(newECKey("e").jwk()) + `]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"},{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""},null,1,"x"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		for _, k := range parseJWKS(doc.Keys) {
			if !k.Valid() || !k.IsPublic() {
				t.Fatalf("unusable key kept: %+v", k)
			}
			if k.Algorithm != "" && !isAsymmetricAlg(k.Algorithm) {
				t.Fatalf("key with alg %q kept", k.Algorithm)
			}
		}
	})
}

// FuzzProfileClaims maps arbitrary verified-claim JSON to a Profile.
func FuzzProfileClaims(f *testing.F) {
	rp, conn, m, tok := tokenFixture(f)
	vt0, err := rp.verifyIDToken(context.Background(), conn, m, tok, "n0nce", "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"sub":"u","email":"A@B.example","email_verified":"true","groups":"g","amr":["otp"],"organization":{"a":{}},"_claim_names":{"groups":"s"},"auth_time":1e300}`))
	f.Add([]byte(`{"sub":"u","groups":[1,null,{"a":1}],"email":42,"auth_time":"x","organization":["o"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		claims, err := decodeClaims(data)
		if err != nil {
			return
		}
		p := rp.profile(context.Background(), conn, &verifiedToken{id: vt0.id, claims: claims, userinfo: claims})
		if p.EmailVerified && claims["email_verified"] != true {
			t.Fatalf("email_verified %v counted as verified", claims["email_verified"])
		}
	})
}

// handlerTransport serves an http.Client's requests with an in-process
// handler, so that a fuzz iteration's discovery, token, JWKS and userinfo
// requests reach the mock OP without a network round trip.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r.Clone(r.Context()))
	if r.Body != nil {
		_ = r.Body.Close()
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// cbInput is one FuzzCallbackPastState input: what the OP returns after a
// real login started. Each selector picks one variant (0 is the correct
// one); offsets are seconds from now.
type cbInput struct {
	Key, Iss, Aud, AZP, Nonce, AtHash, EmailVerified, IssParam, Code uint8
	// Present holds bit 0 exp, 1 iat, 2 nbf, 3 email.
	Present                     uint8
	Exp, IAT, NBF               int16
	Sub, Email, IssStr, CodeStr string
}

const fuzzClientID = "client-a" // newMockOP's client

// cbFixture is one RP and one in-process mock OP shared by every
// iteration; the OP publishes an RSA and an EC key and advertises RFC 9207.
type cbFixture struct {
	h                *harness
	op               *mockOP
	ec, forged, lost *testKey
	hmacPub          []byte
	cur              *cbInput
	raw              string // the last ID token minted
}

func newCBFixture(f *testing.F) *cbFixture {
	clk := newClock()
	op := newMockOP(f, clk)
	fx := &cbFixture{op: op, ec: newECKey("ec1"), forged: newRSAKey(1, "k1"), lost: newRSAKey(2, "zz")}
	der, err := x509.MarshalPKIXPublicKey(op.signKey.priv.Public())
	if err != nil {
		f.Fatal(err)
	}
	fx.hmacPub = der
	op.set(func(op *mockOP) {
		op.keys = append(op.keys, fx.ec)
		op.advertiseIss = true
		op.mint = func(_, c map[string]any) string { fx.raw = fx.mint(c); return fx.raw }
	})
	fx.h = newHarness(f, clk, func(c *Config) { c.HTTPClient = &http.Client{Transport: handlerTransport{op.srv.Config.Handler}} })
	fx.h.addConn(op, "conn_a", "org_a", nil)
	return fx
}

// mint signs the ID token of the current input: the OP's claims c edited
// by the selectors, signed by the selected key and algorithm.
func (fx *cbFixture) mint(c map[string]any) string {
	in, now := fx.cur, fx.h.clock.Now()
	editClaims(c, in, fx.op.issuer, now)
	h := map[string]any{"typ": "JWT", "alg": "RS256", "kid": "k1"}
	key, hmacKey := fx.op.signKey, []byte(nil)
	switch in.Key % 10 {
	case 1:
		h["alg"], h["kid"], key = "ES256", "ec1", fx.ec
	case 2:
		delete(h, "kid")
	case 3:
		key = fx.forged
	case 4:
		h["kid"], key = "zz", fx.lost
	case 5:
		h["alg"] = "none"
	case 6:
		h["alg"], hmacKey = "HS256", []byte(fx.op.secret)
	case 7:
		h["alg"], hmacKey = "HS256", fx.hmacPub
	case 8:
		h["alg"] = "PS256" // a valid signature with an algorithm the IdP does not advertise
	case 9:
		h["alg"], key = "ES256", fx.ec // the RSA key's kid on an EC signature
	}
	return signJWT(h, c, key, hmacKey)
}

func editClaims(c map[string]any, in *cbInput, issuer string, now time.Time) {
	pick := func(k string, v any, keep bool) {
		if keep {
			c[k] = v
		} else {
			delete(c, k)
		}
	}
	switch in.Iss % 6 {
	case 1:
		c["iss"] = "https://evil.example"
	case 2:
		c["iss"] = issuer + "/"
	case 3:
		delete(c, "iss")
	case 4:
		c["iss"] = strings.ToUpper(issuer)
	case 5:
		c["iss"] = in.IssStr
	}
	switch in.Aud % 8 {
	case 1:
		c["aud"] = "other"
	case 2:
		c["aud"] = []string{fuzzClientID, "other"}
	case 3:
		delete(c, "aud")
	case 4:
		c["aud"] = []string{fuzzClientID}
	case 5:
		c["aud"] = []string{}
	case 6:
		c["aud"] = 1
	case 7:
		c["aud"] = []string{"other"}
	}
	switch in.AZP % 4 {
	case 1:
		c["azp"] = fuzzClientID
	case 2:
		c["azp"] = "other"
	case 3:
		c["azp"] = ""
	}
	nonce, _ := c["nonce"].(string)
	switch in.Nonce % 6 {
	case 1:
		c["nonce"] = "wrong"
	case 2:
		c["nonce"] = nonce + "x"
	case 3:
		delete(c, "nonce")
	case 4:
		c["nonce"] = 7
	case 5:
		c["nonce"] = ""
	}
	switch in.AtHash % 5 {
	case 1:
		c["at_hash"] = atHash("another access token")
	case 2:
		delete(c, "at_hash")
	case 3:
		c["at_hash"] = 5
	case 4:
		c["at_hash"] = ""
	}
	ev := []any{true, "true", false, 1, nil, nil}[in.EmailVerified%6]
	pick("email_verified", ev, in.EmailVerified%6 != 4)
	pick("exp", now.Unix()+int64(in.Exp), in.Present&1 != 0)
	pick("iat", now.Unix()+int64(in.IAT), in.Present&2 != 0)
	pick("nbf", now.Unix()+int64(in.NBF), in.Present&4 != 0)
	pick("email", in.Email, in.Present&8 != 0)
	c["sub"] = in.Sub
}

// wantAccepted recomputes, independently of the RP, whether the login
// must complete: a signature by a published key with an advertised
// algorithm, iss, aud (and azp), nonce, exp/iat/nbf with the skew, sub,
// at_hash, userinfo's sub when the email comes from userinfo, the RFC 9207
// iss parameter (advertised, so required) and the real code.
func (fx *cbFixture) wantAccepted(in *cbInput, code string) bool {
	cfg := fx.h.rp.cfg
	skew, maxAge := int(cfg.MaxClockSkew/time.Second), int(cfg.MaxIDTokenAge/time.Second)
	issuer := fx.op.issuer
	aud, azp := in.Aud%8, []string{"", fuzzClientID, "other", ""}[in.AZP%4]
	checks := []bool{
		in.Key%10 <= 2,
		in.Iss%6 == 0 || (in.Iss%6 == 5 && in.IssStr == issuer),
		aud == 0 || aud == 2 || aud == 4,
		azp == fuzzClientID || (azp == "" && aud != 2),
		in.Nonce%6 == 0,
		in.AtHash%5 == 0 || in.AtHash%5 == 2 || in.AtHash%5 == 4,
		in.Present&1 != 0 && int(in.Exp) >= -skew,
		in.Present&2 != 0 && int(in.IAT) <= skew && int(in.IAT) >= -(maxAge+skew),
		in.Present&4 == 0 || int(in.NBF) <= skew,
		in.Sub != "",
		in.Present&8 != 0 || in.Sub == "user-123",
		in.IssParam%5 == 0 || (in.IssParam%5 == 2 && in.IssStr == issuer),
		in.Code%4 == 0 || (in.Code%4 == 1 && in.CodeStr == code),
		len(fx.raw) <= cfg.MaxTokenBytes,
	}
	for _, ok := range checks {
		if !ok {
			return false
		}
	}
	return true
}

// callbackQuery edits the OP's authorization response per the selectors.
func callbackQuery(q url.Values, in *cbInput) string {
	switch in.IssParam % 5 {
	case 1:
		q.Del("iss")
	case 2:
		q.Set("iss", in.IssStr)
	case 3:
		q.Set("iss", "https://evil.example")
	case 4:
		q.Add("iss", q.Get("iss"))
	}
	switch in.Code % 4 {
	case 1:
		q.Set("code", in.CodeStr)
	case 2:
		q.Del("code")
	case 3:
		q.Add("code", q.Get("code"))
	}
	return q.Encode()
}

// begin starts a real login (flow with state, nonce and PKCE, and the
// browser cookie) and has the OP authorize it; it returns the cookie and
// the authorization response.
func (fx *cbFixture) begin(t *testing.T) (*http.Cookie, url.Values) {
	rec := httptest.NewRecorder()
	fx.h.rp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login/conn_a", nil))
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusFound || len(cookies) != 1 {
		t.Fatalf("login start: status %d, %d cookies", rec.Code, len(cookies))
	}
	authURL := rec.Header().Get("Location")
	rec = httptest.NewRecorder()
	fx.op.authorize(rec, httptest.NewRequest(http.MethodGet, authURL, nil))
	u, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil {
		t.Fatalf("authorize: status %d, %v", rec.Code, err)
	}
	return cookies[0], u.Query()
}

// reset drops what earlier iterations left in the shared fixture.
func (fx *cbFixture) reset(in *cbInput) {
	var none error
	fx.h.lastErr.Store(&none)
	fx.h.comp.mu.Lock()
	fx.h.comp.logins, fx.h.comp.fails = nil, nil
	fx.h.comp.mu.Unlock()
	fx.op.set(func(op *mockOP) { clear(op.codes); op.tokenCreds = nil })
	fx.cur, fx.raw = in, ""
}

// FuzzCallbackPastState fuzzes what the OP returns after a real login
// started, so that every input passes the state, browser and PKCE binding
// and reaches the post-signature checks: the ID token's claims (iss, aud,
// azp, exp/iat/nbf, nonce, sub, email, email_verified types, at_hash), the
// signing key and algorithm (published RSA and EC keys, a forged key under
// a known kid, an unknown kid, none, HS256 with the client secret or the
// public key, an unadvertised algorithm, a kid/key mismatch), and the
// authorization response's code and iss parameters. A Profile must reach
// the Completer exactly when wantAccepted says so; every rejection is a
// 400 with a reason reported to Completer.Fail.
func FuzzCallbackPastState(f *testing.F) {
	fx := newCBFixture(f)
	ok := cbInput{Present: 0b1011, Exp: 300, Sub: "user-123", Email: "Alice@Example.com", IssStr: fx.op.issuer}
	seeds := []cbInput{ok}
	vary := func(edit func(in *cbInput)) {
		in := ok
		edit(&in)
		seeds = append(seeds, in)
	}
	// One seed per variant of each selector, every other field correct.
	for _, sel := range []struct {
		n   uint8
		set func(in *cbInput, v uint8)
	}{
		{10, func(in *cbInput, v uint8) { in.Key = v }},
		{6, func(in *cbInput, v uint8) { in.Iss = v }},
		{8, func(in *cbInput, v uint8) { in.Aud = v }},
		{4, func(in *cbInput, v uint8) { in.AZP = v }},
		{6, func(in *cbInput, v uint8) { in.Nonce = v }},
		{5, func(in *cbInput, v uint8) { in.AtHash = v }},
		{6, func(in *cbInput, v uint8) { in.EmailVerified = v }},
		{5, func(in *cbInput, v uint8) { in.IssParam = v }},
		{4, func(in *cbInput, v uint8) { in.Code = v }},
	} {
		for v := uint8(1); v < sel.n; v++ {
			vary(func(in *cbInput) { sel.set(in, v) })
		}
	}
	vary(func(in *cbInput) { in.Aud, in.AZP = 2, 1 })
	vary(func(in *cbInput) { in.Exp, in.IAT, in.NBF, in.Present = -60, 60, 60, 0b1111 })
	vary(func(in *cbInput) { in.Exp, in.IAT = -61, -660 })
	vary(func(in *cbInput) { in.IAT, in.NBF, in.Present = -661, 61, 0b1111 })
	vary(func(in *cbInput) { in.Present, in.Sub = 0b0011, "user-123" })
	vary(func(in *cbInput) { in.Present, in.Sub = 0b0011, "user-456" })
	vary(func(in *cbInput) { in.Sub, in.Email = "", "not an address" })
	for _, in := range seeds {
		f.Add(in.Key, in.Iss, in.Aud, in.AZP, in.Nonce, in.AtHash, in.EmailVerified, in.IssParam, in.Code, in.Present,
			in.Exp, in.IAT, in.NBF, in.Sub, in.Email, in.IssStr, in.CodeStr)
	}
	f.Fuzz(func(t *testing.T, key, iss, aud, azp, nonce, atHash, ev, issParam, code, present uint8,
		exp, iat, nbf int16, sub, email, issStr, codeStr string) {
		in := &cbInput{Key: key, Iss: iss, Aud: aud, AZP: azp, Nonce: nonce, AtHash: atHash, EmailVerified: ev,
			IssParam: issParam, Code: code, Present: present, Exp: exp, IAT: iat, NBF: nbf,
			Sub: strings.ToValidUTF8(sub, ""), Email: strings.ToValidUTF8(email, ""), IssStr: issStr, CodeStr: codeStr}
		fx.reset(in)
		fx.check(t, in)
	})
}

// check runs one callback for in and asserts the invariant.
func (fx *cbFixture) check(t *testing.T, in *cbInput) {
	cookie, q := fx.begin(t)
	realCode := q.Get("code")
	req := httptest.NewRequest(http.MethodGet, "/callback/conn_a?"+callbackQuery(q, in), nil)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	fx.h.rp.ServeHTTP(rec, req)
	logins, fails := fx.h.comp.counts()
	want := fx.wantAccepted(in, realCode)
	switch {
	case rec.Code == http.StatusSeeOther && logins == 1 && fails == 0:
		if !want {
			t.Fatalf("login completed for %+v", *in)
		}
		fx.checkProfile(t, in, fx.h.comp.lastLogin().Profile)
	case want:
		t.Fatalf("valid response rejected: status %d, %v, for %+v", rec.Code, fx.h.err(), *in)
	case rec.Code != http.StatusBadRequest || logins != 0 || fails != 1:
		t.Fatalf("rejection answered %d (logins %d, fails %d, err %v)", rec.Code, logins, fails, fx.h.err())
	default:
		if r := sso.ReasonOf(fx.h.err()); r == "" || r == "internal" || r != sso.ReasonOf(fx.h.comp.lastFail().Err) {
			t.Fatalf("rejection without a reason: %v", fx.h.err())
		}
	}
}

func (fx *cbFixture) checkProfile(t *testing.T, in *cbInput, p *sso.Profile) {
	if p.Subject != in.Sub || p.Issuer != fx.op.issuer || p.OrgID != "org_a" || p.ConnectionID != "conn_a" || p.SessionIndex != "sid-1" {
		t.Fatalf("profile %+v for %+v", p, *in)
	}
	fromToken := in.Present&8 != 0
	if p.EmailVerified && fromToken && in.EmailVerified%6 != 0 {
		t.Fatalf("email_verified variant %d counted as verified", in.EmailVerified%6)
	}
}
