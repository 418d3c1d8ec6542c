package oidc

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	conn := &sso.Connection{ID: "conn_f", OrgID: "org_f", Protocol: sso.ProtocolOIDC, Status: sso.ConnectionActive,
		OIDC: &sso.OIDCConfig{Issuer: m.Issuer, ClientID: "client-f", AuthURL: m.AuthURL, TokenURL: m.TokenURL, JWKSURL: m.JWKSURL}}
	ks := h.rp.keySetFor(conn, m.JWKSURL)
	ks.keys = parseJWKS([]json.RawMessage{k.jwk(), newECKey("ec").jwk()})
	ks.fetchedAt, ks.lastAttempt = clk.Now(), clk.Now()
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
		p := rp.profile(context.Background(), conn, &verifiedToken{token: vt0.token, claims: claims, userinfo: claims})
		if p.EmailVerified && claims["email_verified"] != true {
			t.Fatalf("email_verified %v counted as verified", claims["email_verified"])
		}
	})
}
