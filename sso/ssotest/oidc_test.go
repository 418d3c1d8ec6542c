package ssotest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
)

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk-0123456789"

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// rp is a relying party callback on an httptest server that records the
// authorization response.
type rp struct {
	srv *httptest.Server
	mu  sync.Mutex
	got url.Values
}

func newRP(t *testing.T) *rp {
	r := &rp{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = req.URL.Query()
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "callback")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rp) callback() string { return r.srv.URL + "/callback" }

func (r *rp) params() url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got
}

type oidcEnv struct {
	s  *ssotest.Server
	rp *rp
}

func newOIDCEnv(t *testing.T, cfg ssotest.Config) *oidcEnv {
	t.Helper()
	s := ssotest.NewServerWith(t, withKeys(t, cfg))
	r := newRP(t)
	for _, c := range []ssotest.Client{
		{ID: "conf", Secret: "s3cret", RedirectURIs: []string{r.callback()}},
		{ID: "public", RedirectURIs: []string{r.callback()}},
	} {
		if err := s.RegisterClient(c); err != nil {
			t.Fatal(err)
		}
	}
	return &oidcEnv{s: s, rp: r}
}

func (e *oidcEnv) authorizeURL(client string, extra url.Values) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {client},
		"redirect_uri":          {e.rp.callback()},
		"scope":                 {"openid email profile"},
		"state":                 {"st-1"},
		"nonce":                 {"n-1"},
		"code_challenge":        {challenge(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return e.s.Issuer() + "/authorize?" + q.Encode()
}

// authorize runs the browser part and returns the authorization response.
func (e *oidcEnv) authorize(t *testing.T, client, user string, extra url.Values) url.Values {
	t.Helper()
	b := ssotest.NewBrowser()
	b.User = user
	resp, err := b.Login(context.Background(), e.authorizeURL(client, extra))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Request.URL.Path != "/callback" {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("ended at %s (%d): %s", resp.Request.URL, resp.StatusCode, body)
	}
	return e.rp.params()
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	IDToken     string `json:"id_token"`
	Error       string `json:"error"`
	status      int
}

func (e *oidcEnv) token(t *testing.T, form url.Values, basicID, basicSecret string) tokenResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.s.Issuer()+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		t.Fatal(err)
	}
	tr.status = resp.StatusCode
	return tr
}

func (e *oidcEnv) exchange(t *testing.T, code string) tokenResponse {
	t.Helper()
	return e.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.rp.callback()}, "code_verifier": {verifier}}, "conf", "s3cret")
}

func (e *oidcEnv) jwks(t *testing.T) jwk.Set {
	t.Helper()
	set, err := jwk.Fetch(context.Background(), e.s.Issuer()+"/jwks")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func (e *oidcEnv) userinfo(t *testing.T, at string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.s.Issuer()+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+at)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, ssotest.Config{})
	resp, err := http.Get(e.s.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	iss := e.s.URL() + "/oidc"
	for k, want := range map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": iss + "/authorize",
		"token_endpoint":         iss + "/token",
		"userinfo_endpoint":      iss + "/userinfo",
		"jwks_uri":               iss + "/jwks",
		"authorization_response_iss_parameter_supported": true,
	} {
		if d[k] != want {
			t.Errorf("%s: got %v, want %v", k, d[k], want)
		}
	}
	for k, want := range map[string]string{"code_challenge_methods_supported": "S256", "id_token_signing_alg_values_supported": "RS256"} {
		if l, _ := d[k].([]any); len(l) != 1 || l[0] != want {
			t.Errorf("%s: %v", k, d[k])
		}
	}
	if e.jwks(t).Len() != 1 {
		t.Error("JWKS does not hold one key")
	}
}

func TestOIDCRoundTrip(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, ssotest.Config{})
	got := e.authorize(t, "conf", "alice@example.com", nil)
	if got.Get("state") != "st-1" || got.Get("iss") != e.s.Issuer() || got.Get("code") == "" {
		t.Fatalf("authorization response %v", got)
	}
	tr := e.exchange(t, got.Get("code"))
	if tr.status != 200 || tr.TokenType != "Bearer" || tr.IDToken == "" || tr.AccessToken == "" {
		t.Fatalf("token response %+v", tr)
	}
	set := e.jwks(t)
	tok, err := jwt.ParseString(tr.IDToken, jwt.WithKeySet(set), jwt.WithValidate(true),
		jwt.WithIssuer(e.s.Issuer()), jwt.WithAudience("conf"), jwt.WithClaimValue("nonce", "n-1"))
	if err != nil {
		t.Fatalf("ID token does not verify against the JWKS: %v", err)
	}
	claims, _ := tok.AsMap(context.Background())
	sum := sha256.Sum256([]byte(tr.AccessToken))
	for k, want := range map[string]any{
		"azp": "conf", "at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]), "email": "alice@example.com",
		"email_verified": true, "name": "Alice Admin", "given_name": "Alice", "family_name": "Admin",
		"acr": ssotest.MFAAuthnContext,
	} {
		if claims[k] != want {
			t.Errorf("%s: got %v, want %v", k, claims[k], want)
		}
	}
	if tok.Subject() == "" || tok.IssuedAt().IsZero() || tok.Expiration().Before(time.Now()) {
		t.Error("sub/iat/exp missing")
	}
	if amr, _ := claims["amr"].([]any); len(amr) != 3 || amr[1] != "mfa" {
		t.Errorf("amr %v", claims["amr"])
	}
	if g, _ := claims["groups"].([]any); len(g) != 2 {
		t.Errorf("groups %v", claims["groups"])
	}
	if _, err := jwt.ParseString(tr.AccessToken, jwt.WithKeySet(set), jwt.WithValidate(true), jwt.WithIssuer(e.s.Issuer())); err != nil {
		t.Errorf("access token: %v", err)
	}
	status, ui := e.userinfo(t, tr.AccessToken)
	if status != 200 || ui["sub"] != tok.Subject() || ui["email"] != "alice@example.com" {
		t.Errorf("userinfo %d %v", status, ui)
	}
	if status, _ := e.userinfo(t, tr.AccessToken+"x"); status != http.StatusUnauthorized {
		t.Errorf("bad bearer: %d", status)
	}
	// Codes are single-use.
	if again := e.exchange(t, got.Get("code")); again.status != 400 || again.Error != "invalid_grant" {
		t.Errorf("reused code: %+v", again)
	}
}

func TestOIDCTokenEndpointClientAuthAndPKCE(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, ssotest.Config{})
	form := func(code string, kv ...string) url.Values {
		v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.rp.callback()}, "code_verifier": {verifier}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		name       string
		client     string
		form       func(code string) url.Values
		basic      [2]string
		wantStatus int
		wantErr    string
	}{
		{"basic", "conf", func(c string) url.Values { return form(c) }, [2]string{"conf", "s3cret"}, 200, ""},
		{"post", "conf", func(c string) url.Values { return form(c, "client_id", "conf", "client_secret", "s3cret") }, [2]string{}, 200, ""},
		{"none", "public", func(c string) url.Values { return form(c, "client_id", "public") }, [2]string{}, 200, ""},
		{"wrong secret", "conf", func(c string) url.Values { return form(c) }, [2]string{"conf", "nope"}, 401, "invalid_client"},
		{"missing secret", "conf", func(c string) url.Values { return form(c, "client_id", "conf") }, [2]string{}, 401, "invalid_client"},
		{"public with secret", "public", func(c string) url.Values { return form(c, "client_id", "public", "client_secret", "x") }, [2]string{}, 401, "invalid_client"},
		{"other client", "public", func(c string) url.Values { return form(c) }, [2]string{"conf", "s3cret"}, 400, "invalid_grant"},
		{"wrong verifier", "conf", func(c string) url.Values { return form(c, "code_verifier", strings.Repeat("a", 43)) }, [2]string{"conf", "s3cret"}, 400, "invalid_grant"},
		{"no verifier", "conf", func(c string) url.Values { return form(c, "code_verifier", "") }, [2]string{"conf", "s3cret"}, 400, "invalid_grant"},
		{"wrong redirect", "conf", func(c string) url.Values { return form(c, "redirect_uri", "https://evil.test/cb") }, [2]string{"conf", "s3cret"}, 400, "invalid_grant"},
		{"basic and other client_id", "conf", func(c string) url.Values { return form(c, "client_id", "public") }, [2]string{"conf", "s3cret"}, 401, "invalid_client"},
		{"wrong grant", "conf", func(c string) url.Values { return form(c, "grant_type", "password") }, [2]string{"conf", "s3cret"}, 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := e.authorize(t, tc.client, "bob@example.com", nil).Get("code")
			tr := e.token(t, tc.form(code), tc.basic[0], tc.basic[1])
			if tr.status != tc.wantStatus || tr.Error != tc.wantErr {
				t.Fatalf("got %d %q, want %d %q", tr.status, tr.Error, tc.wantStatus, tc.wantErr)
			}
		})
	}
}

func TestOIDCCodeExpires(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newOIDCEnv(t, ssotest.Config{Now: clock, CodeLifetime: 30 * time.Second})
	code := e.authorize(t, "conf", "bob@example.com", nil).Get("code")
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	if tr := e.exchange(t, code); tr.status != 400 || tr.Error != "invalid_grant" {
		t.Fatalf("expired code accepted: %+v", tr)
	}
}

func TestOIDCAuthorizeErrors(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, ssotest.Config{})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name      string
		client    string
		extra     url.Values
		wantError string // "" means an error page without redirect
	}{
		{"unknown client", "nobody", nil, ""},
		{"unregistered redirect", "conf", url.Values{"redirect_uri": {"https://evil.test/cb"}}, ""},
		{"no PKCE", "conf", url.Values{"code_challenge": {""}}, "invalid_request"},
		{"plain PKCE", "conf", url.Values{"code_challenge_method": {"plain"}}, "invalid_request"},
		{"short challenge", "conf", url.Values{"code_challenge": {"abc"}}, "invalid_request"},
		{"no openid", "conf", url.Values{"scope": {"email"}}, "invalid_scope"},
		{"implicit", "conf", url.Values{"response_type": {"id_token"}}, "unsupported_response_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := noRedirect.Get(e.authorizeURL(tc.client, tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.wantError == "" {
				if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
					t.Fatalf("got %d %q, want an error page", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d", resp.StatusCode)
			}
			q := loc.Query()
			if q.Get("error") != tc.wantError || q.Get("state") != "st-1" || q.Get("iss") != e.s.Issuer() || q.Get("code") != "" {
				t.Errorf("redirect %v", q)
			}
		})
	}
}

func TestOIDCES256AndKeyRotation(t *testing.T) {
	t.Parallel()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	e := newOIDCEnv(t, ssotest.Config{OIDCKey: k.ecKey, AutoLogin: "bob@example.com"})
	if algs := e.s.Discovery()["id_token_signing_alg_values_supported"].([]string); algs[0] != "ES256" {
		t.Fatalf("algs %v", algs)
	}
	old := e.exchange(t, e.authorize(t, "conf", "", nil).Get("code"))
	msg, err := jws.ParseString(old.IDToken)
	if err != nil || msg.Signatures()[0].ProtectedHeaders().Algorithm() != jwa.ES256 {
		t.Fatalf("not ES256: %v", err)
	}
	oldKid := msg.Signatures()[0].ProtectedHeaders().KeyID()
	if err := e.s.RotateOIDCKey(nil); err != nil {
		t.Fatal(err)
	}
	set := e.jwks(t)
	if set.Len() != 2 {
		t.Fatalf("JWKS holds %d keys after rotation", set.Len())
	}
	if _, err := jwt.ParseString(old.IDToken, jwt.WithKeySet(set), jwt.WithValidate(true)); err != nil {
		t.Errorf("token signed before rotation: %v", err)
	}
	fresh := e.exchange(t, e.authorize(t, "conf", "", nil).Get("code"))
	msg, err = jws.ParseString(fresh.IDToken)
	if err != nil || msg.Signatures()[0].ProtectedHeaders().KeyID() == oldKid {
		t.Fatalf("new token not signed with the new key: %v", err)
	}
	if _, err := jwt.ParseString(fresh.IDToken, jwt.WithKeySet(set), jwt.WithValidate(true)); err != nil {
		t.Errorf("token signed after rotation: %v", err)
	}
	// A second rotation drops the oldest key.
	if err := e.s.RotateOIDCKey(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.ParseString(old.IDToken, jwt.WithKeySet(e.jwks(t))); err == nil {
		t.Error("key retired two rotations ago still published")
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.RotateOIDCKey(edKey); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Errorf("unsupported key: %v", err)
	}
}

// claimsOf decodes a JWT payload without verifying it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOIDCFaults(t *testing.T) {
	t.Parallel()
	e := newOIDCEnv(t, ssotest.Config{})
	type result struct {
		authz  url.Values
		tokens tokenResponse
		claims map[string]any
		set    jwk.Set
	}
	verifies := func(r result) error {
		_, err := jwt.ParseString(r.tokens.IDToken, jwt.WithKeySet(r.set), jwt.WithValidate(true),
			jwt.WithIssuer(e.s.Issuer()), jwt.WithAudience("conf"))
		return err
	}
	for _, tc := range []struct {
		fault ssotest.OIDCFault
		check func(t *testing.T, r result)
	}{
		{ssotest.OIDCWrongIssuer, func(t *testing.T, r result) {
			if r.claims["iss"] != ssotest.WrongIssuer || verifies(r) == nil {
				t.Errorf("iss %v", r.claims["iss"])
			}
		}},
		{ssotest.OIDCWrongAudience, func(t *testing.T, r result) {
			if r.claims["aud"] != ssotest.WrongClientID || verifies(r) == nil {
				t.Errorf("aud %v", r.claims["aud"])
			}
		}},
		{ssotest.OIDCExpired, func(t *testing.T, r result) {
			if exp, _ := r.claims["exp"].(float64); int64(exp) >= time.Now().Unix() || verifies(r) == nil {
				t.Errorf("exp %v", r.claims["exp"])
			}
		}},
		{ssotest.OIDCMissingIAT, func(t *testing.T, r result) {
			if _, ok := r.claims["iat"]; ok {
				t.Error("iat present")
			}
		}},
		{ssotest.OIDCMissingSub, func(t *testing.T, r result) {
			if _, ok := r.claims["sub"]; ok {
				t.Error("sub present")
			}
		}},
		{ssotest.OIDCBadSignature, func(t *testing.T, r result) {
			if _, err := jws.Verify([]byte(r.tokens.IDToken), jws.WithKeySet(r.set)); err == nil {
				t.Error("signature verifies")
			}
			if r.claims["iss"] != e.s.Issuer() {
				t.Error("claims changed")
			}
		}},
		{ssotest.OIDCAlgNone, func(t *testing.T, r result) {
			msg, err := jws.ParseString(r.tokens.IDToken)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Signatures()[0].ProtectedHeaders().Algorithm() != jwa.NoSignature || len(msg.Signatures()[0].Signature()) != 0 {
				t.Error("not alg none")
			}
			if verifies(r) == nil {
				t.Error("verifies")
			}
		}},
		{ssotest.OIDCHS256PublicKey, func(t *testing.T, r result) {
			if _, err := jws.Verify([]byte(r.tokens.IDToken), jws.WithKey(jwa.HS256, e.s.PEMPublicKey())); err != nil {
				t.Errorf("not HMAC-signed with the public key PEM: %v", err)
			}
			if verifies(r) == nil {
				t.Error("verifies against the JWKS")
			}
		}},
		{ssotest.OIDCWrongNonce, func(t *testing.T, r result) {
			if n, _ := r.claims["nonce"].(string); n == "n-1" || n == "" {
				t.Errorf("nonce %q", n)
			}
			if verifies(r) != nil {
				t.Error("otherwise valid token does not verify")
			}
		}},
		{ssotest.OIDCWrongAtHash, func(t *testing.T, r result) {
			sum := sha256.Sum256([]byte(r.tokens.AccessToken))
			if h, _ := r.claims["at_hash"].(string); h == "" || h == base64.RawURLEncoding.EncodeToString(sum[:16]) {
				t.Errorf("at_hash %q matches", h)
			}
		}},
		{ssotest.OIDCUserinfoSubMismatch, func(t *testing.T, r result) {
			_, ui := e.userinfo(t, r.tokens.AccessToken)
			if ui["sub"] == r.claims["sub"] || ui["sub"] == nil {
				t.Errorf("userinfo sub %v, ID token sub %v", ui["sub"], r.claims["sub"])
			}
		}},
		{ssotest.OIDCMissingIssParam, func(t *testing.T, r result) {
			if r.authz.Has("iss") || r.authz.Get("code") == "" {
				t.Errorf("authorization response %v", r.authz)
			}
		}},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			// Subtests run sequentially: NextOIDCFaults applies to the next login.
			e.s.NextOIDCFaults(tc.fault)
			authz := e.authorize(t, "conf", "bob@example.com", nil)
			tr := e.exchange(t, authz.Get("code"))
			if tr.status != 200 {
				t.Fatalf("token %+v", tr)
			}
			tc.check(t, result{authz, tr, claimsOf(t, tr.IDToken), e.jwks(t)})
		})
	}
	// The next login is healthy again.
	authz := e.authorize(t, "conf", "bob@example.com", nil)
	tr := e.exchange(t, authz.Get("code"))
	if _, err := jwt.ParseString(tr.IDToken, jwt.WithKeySet(e.jwks(t)), jwt.WithValidate(true), jwt.WithIssuer(e.s.Issuer()), jwt.WithAudience("conf")); err != nil || !authz.Has("iss") {
		t.Errorf("faults leaked into the next login: %v", err)
	}
}

func TestIDTokenDirect(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{})
	tok, err := idp.IDToken(ssotest.IDTokenRequest{ClientID: "c", User: "bob@example.com", Nonce: "n", Faults: ssotest.OIDCMissingSub | ssotest.OIDCWrongIssuer})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, tok)
	if _, ok := c["sub"]; ok || c["iss"] != ssotest.WrongIssuer || c["nonce"] != "n" || c["amr"].([]any)[0] != "pwd" {
		t.Errorf("claims %v", c)
	}
	if _, err := idp.IDToken(ssotest.IDTokenRequest{ClientID: "c", User: "nobody@example.com"}); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := idp.IDToken(ssotest.IDTokenRequest{User: "bob@example.com"}); !errors.Is(err, sso.ErrInvalidInput) {
		t.Errorf("no client: %v", err)
	}
}
