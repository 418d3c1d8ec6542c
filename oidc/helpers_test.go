package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
)

// ---- keys and token minting -------------------------------------------

type testKey struct {
	kid  string
	alg  string
	priv crypto.Signer
}

var (
	keyOnce  sync.Once
	rsaPool  []*rsa.PrivateKey
	ecKeyOne *ecdsa.PrivateKey
)

// rsaKey returns the i-th of a few pre-generated RSA keys (generation is
// slow under -race).
func rsaKey(i int) *rsa.PrivateKey {
	keyOnce.Do(func() {
		for range 4 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaPool = append(rsaPool, k)
		}
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		ecKeyOne = k
	})
	return rsaPool[i]
}

func newRSAKey(i int, kid string) *testKey {
	return &testKey{kid: kid, alg: "RS256", priv: rsaKey(i)}
}

func newECKey(kid string) *testKey {
	rsaKey(0)
	return &testKey{kid: kid, alg: "ES256", priv: ecKeyOne}
}

func (k *testKey) jwk() json.RawMessage {
	b, err := jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		panic(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b64(b)
}

// signJWT builds a compact JWS by hand so tests control every byte of the
// header; alg "none" yields an empty signature, HS* uses hmacKey.
func signJWT(header, claims map[string]any, k *testKey, hmacKey []byte) string {
	input := b64json(header) + "." + b64json(claims)
	alg, _ := header["alg"].(string)
	var sig []byte
	switch {
	case alg == "none":
	case strings.HasPrefix(alg, "HS"):
		var h func() hash.Hash
		switch alg {
		case "HS384":
			h = sha512.New384
		case "HS512":
			h = sha512.New
		default:
			h = sha256.New
		}
		m := hmac.New(h, hmacKey)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	default:
		d := sha256.Sum256([]byte(input))
		switch p := k.priv.(type) {
		case *rsa.PrivateKey:
			var err error
			if alg == "PS256" {
				sig, err = rsa.SignPSS(rand.Reader, p, crypto.SHA256, d[:], nil)
			} else {
				sig, err = rsa.SignPKCS1v15(rand.Reader, p, crypto.SHA256, d[:])
			}
			if err != nil {
				panic(err)
			}
		case *ecdsa.PrivateKey:
			r, s, err := ecdsa.Sign(rand.Reader, p, d[:])
			if err != nil {
				panic(err)
			}
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	}
	return input + "." + b64(sig)
}

func atHash(accessToken string) string {
	s := sha256.Sum256([]byte(accessToken))
	return b64(s[:16])
}

// ---- clock -------------------------------------------------------------

// clock is the shared settable test clock with the time it started at.
type clock struct {
	*testkit.Clock
	start time.Time
}

func newClock() *clock {
	now := time.Now().Truncate(time.Second)
	return &clock{Clock: testkit.NewClock(now), start: now}
}

// t0 returns the clock's starting time.
func (c *clock) t0() time.Time { return c.start }

// ---- mock OP ------------------------------------------------------------

type authReq struct {
	clientID, redirectURI, nonce, challenge, method, scope string
}

// mockOP is an in-process OpenID Provider. Each exported-ish knob
// reproduces the single deviation of one conformance module.
type mockOP struct {
	t      testing.TB
	srv    *httptest.Server
	issuer string
	clock  *clock

	mu sync.Mutex
	// Registered client.
	clientID, secret, authMethod string
	redirectURIs                 map[string]bool
	// Keys published in the JWKS and the one that signs.
	keys    []*testKey
	signKey *testKey
	// Issued codes.
	codes map[string]*authReq
	// lastAuth is the last authorization request.
	lastAuth url.Values
	// lastIDToken is the last ID token issued.
	lastIDToken string

	// Knobs.
	discoveryIssuer   string                                       // discovery-issuer-mismatch
	advertiseIss      bool                                         // authorization_response_iss_parameter_supported
	issParam          string                                       // "" correct, "omit", or a value to send
	codeChallenges    []string                                     // code_challenge_methods_supported
	algs              []string                                     // id_token_signing_alg_values_supported
	claims            func(c map[string]any)                       // edit ID token claims
	header            func(h map[string]any)                       // edit ID token header
	mint              func(h, c map[string]any) string             // replace the signing step
	userinfo          func(c map[string]any)                       // edit userinfo claims
	userinfoKey       *testKey                                     // signs userinfo instead of signKey
	userinfoSigned    bool                                         // answer userinfo as application/jwt
	replayIDToken     string                                       // return this ID token instead of a new one
	extraJWKS         []json.RawMessage                            // extra raw JWKS entries
	jwksHandler       func(w http.ResponseWriter, r *http.Request) // replace the JWKS endpoint
	assertionPub      crypto.PublicKey                             // verifies private_key_jwt assertions
	omitProfileClaims bool                                         // scope-userinfo-claims: ID token without profile claims
	discoveryStatus   int                                          // non-zero: discovery answers this status
	discoveryHandler  func(w http.ResponseWriter, r *http.Request) // replace the discovery endpoint
	userinfoStatus    int                                          // non-zero: userinfo answers this status

	// tokenCreds is every Authorization header and client_secret form
	// value the token endpoint received.
	tokenCreds []string
	// appTokenRequests is the scope of every client credentials request.
	appTokenRequests []string

	jwksFetches      atomic.Int32
	discoveryFetches atomic.Int32
	userinfoCalls    atomic.Int32
	tokenCalls       atomic.Int32
	tokenAuthMethod  atomic.Value
}

func newMockOP(t testing.TB, clk *clock) *mockOP {
	op := &mockOP{t: t, clock: clk, clientID: "client-a", secret: "s3cret-a", authMethod: "client_secret_basic",
		redirectURIs: map[string]bool{}, codes: map[string]*authReq{}}
	op.signKey = newRSAKey(0, "k1")
	op.keys = []*testKey{op.signKey}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /organizations/v2.0/.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /authorize", op.authorize)
	mux.HandleFunc("POST /token", op.token)
	mux.HandleFunc("GET /userinfo", op.userinfoEndpoint)
	mux.HandleFunc("GET /jwks", op.jwks)
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	op.issuer = op.srv.URL
	return op
}

func (op *mockOP) set(f func(op *mockOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

func (op *mockOP) discovery(w http.ResponseWriter, r *http.Request) {
	op.discoveryFetches.Add(1)
	op.mu.Lock()
	if h := op.discoveryHandler; h != nil {
		op.mu.Unlock()
		h(w, r)
		return
	}
	if st := op.discoveryStatus; st != 0 {
		op.mu.Unlock()
		w.WriteHeader(st)
		return
	}
	iss := op.issuer
	if op.discoveryIssuer != "" {
		iss = op.discoveryIssuer
	}
	algs := op.algs
	if algs == nil {
		algs = []string{"RS256", "ES256"}
	}
	cc := op.codeChallenges
	if cc == nil {
		cc = []string{"S256"}
	}
	doc := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         op.srv.URL + "/authorize",
		"token_endpoint":                                 op.srv.URL + "/token",
		"userinfo_endpoint":                              op.srv.URL + "/userinfo",
		"jwks_uri":                                       op.srv.URL + "/jwks",
		"id_token_signing_alg_values_supported":          algs,
		"code_challenge_methods_supported":               cc,
		"response_types_supported":                       []string{"code"},
		"authorization_response_iss_parameter_supported": op.advertiseIss,
	}
	op.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func (op *mockOP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	op.mu.Lock()
	defer op.mu.Unlock()
	op.lastAuth = q
	if q.Get("client_id") != op.clientID || !op.redirectURIs[q.Get("redirect_uri")] || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "pkce required", http.StatusBadRequest)
		return
	}
	code := opaque.NewToken(16)
	op.codes[code] = &authReq{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), scope: q.Get("scope")}
	v := url.Values{"code": {code}, "state": {q.Get("state")}}
	switch op.issParam {
	case "":
		v.Set("iss", op.issuer)
	case "omit":
	default:
		v.Set("iss", op.issParam)
	}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+v.Encode(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = fmt.Fprintf(w, `{"error":%q,"error_description":"mock says no"}`, code)
}

func (op *mockOP) token(w http.ResponseWriter, r *http.Request) {
	op.tokenCalls.Add(1)
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	for _, v := range []string{r.Header.Get("Authorization"), r.PostForm.Get("client_secret")} {
		if v != "" {
			op.tokenCreds = append(op.tokenCreds, v)
		}
	}
	// Client authentication.
	user, pass, basic := r.BasicAuth()
	method := "none"
	switch {
	case basic:
		method = "client_secret_basic"
		user, _ = url.QueryUnescape(user)
		pass, _ = url.QueryUnescape(pass)
		if user != op.clientID || pass != op.secret {
			tokenError(w, "invalid_client")
			return
		}
	case r.PostForm.Get("client_assertion") != "":
		method = "private_key_jwt"
		if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			tokenError(w, "invalid_client")
			return
		}
	case r.PostForm.Get("client_secret") != "":
		method = "client_secret_post"
		if r.PostForm.Get("client_id") != op.clientID || r.PostForm.Get("client_secret") != op.secret {
			tokenError(w, "invalid_client")
			return
		}
	default:
		if r.PostForm.Get("client_id") != op.clientID {
			tokenError(w, "invalid_client")
			return
		}
	}
	op.tokenAuthMethod.Store(method)
	if method != op.authMethod {
		tokenError(w, "invalid_client")
		return
	}
	if method == "private_key_jwt" && !op.checkAssertion(r.PostForm.Get("client_assertion")) {
		tokenError(w, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") == "client_credentials" {
		op.appTokenRequests = append(op.appTokenRequests, r.PostForm.Get("scope"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "app-token-for-" + op.clientID, "token_type": "Bearer", "expires_in": 3600})
		return
	}
	code := r.PostForm.Get("code")
	ar := op.codes[code]
	delete(op.codes, code)
	if ar == nil || ar.redirectURI != r.PostForm.Get("redirect_uri") {
		tokenError(w, "invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if b64(sum[:]) != ar.challenge {
		tokenError(w, "invalid_grant")
		return
	}
	access := opaque.NewToken(24)
	idt := op.replayIDToken
	if idt == "" {
		idt = op.idToken(ar, access)
	}
	op.lastIDToken = idt
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": idt})
}

// credentials returns every Authorization header and client_secret value
// the token endpoint received, with Basic credentials decoded to
// "id:secret".
func (op *mockOP) credentials() []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	out := make([]string, 0, len(op.tokenCreds))
	for _, v := range op.tokenCreds {
		if b, ok := strings.CutPrefix(v, "Basic "); ok {
			if dec, err := base64.StdEncoding.DecodeString(b); err == nil {
				v, _ = url.QueryUnescape(string(dec))
			}
		}
		out = append(out, v)
	}
	return out
}

func (op *mockOP) checkAssertion(a string) bool {
	pub := op.assertionPub
	if pub == nil {
		return false
	}
	jws, err := jose.ParseSigned(a, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return false
	}
	p, err := jws.Verify(pub)
	if err != nil {
		return false
	}
	var c struct {
		Iss, Sub, Aud, Jti string
		Exp                int64
	}
	if json.Unmarshal(p, &c) != nil {
		return false
	}
	return c.Iss == op.clientID && c.Sub == op.clientID && c.Aud == op.srv.URL+"/token" && c.Jti != "" && c.Exp > op.clock.Now().Unix()
}

func (op *mockOP) baseClaims(ar *authReq, access string) map[string]any {
	now := op.clock.Now()
	c := map[string]any{
		"iss":            op.issuer,
		"sub":            "user-123",
		"aud":            op.clientID,
		"exp":            now.Add(5 * time.Minute).Unix(),
		"iat":            now.Unix(),
		"nonce":          ar.nonce,
		"at_hash":        atHash(access),
		"email":          "Alice@Example.com",
		"email_verified": true,
		"given_name":     "Alice",
		"family_name":    "Liddell",
		"name":           "Alice Liddell",
		"groups":         []string{"admins", "eng"},
		"amr":            []string{"pwd", "otp"},
		"acr":            "urn:example:loa:2",
		"sid":            "sid-1",
	}
	if op.omitProfileClaims {
		for _, k := range []string{"email", "email_verified", "given_name", "family_name", "name", "groups"} {
			delete(c, k)
		}
	}
	return c
}

func (op *mockOP) idToken(ar *authReq, access string) string {
	c := op.baseClaims(ar, access)
	if op.claims != nil {
		op.claims(c)
	}
	h := map[string]any{"alg": op.signKey.alg, "kid": op.signKey.kid, "typ": "JWT"}
	if op.header != nil {
		op.header(h)
	}
	if op.mint != nil {
		return op.mint(h, c)
	}
	return signJWT(h, c, op.signKey, nil)
}

func (op *mockOP) userinfoEndpoint(w http.ResponseWriter, r *http.Request) {
	op.userinfoCalls.Add(1)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.userinfoStatus != 0 {
		w.WriteHeader(op.userinfoStatus)
		return
	}
	c := map[string]any{
		"sub": "user-123", "email": "alice@example.com", "email_verified": true,
		"given_name": "Alice", "family_name": "Liddell", "name": "Alice Liddell", "groups": []string{"admins"},
	}
	if op.userinfo != nil {
		op.userinfo(c)
	}
	if op.userinfoSigned {
		if _, ok := c["iss"]; !ok {
			c["iss"] = op.issuer
		}
		c["aud"] = op.clientID
		key := op.signKey
		if op.userinfoKey != nil {
			key = op.userinfoKey
		}
		w.Header().Set("Content-Type", "application/jwt")
		_, _ = io.WriteString(w, signJWT(map[string]any{"alg": op.signKey.alg, "kid": op.signKey.kid}, c, key, nil))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c)
}

func (op *mockOP) jwks(w http.ResponseWriter, r *http.Request) {
	op.jwksFetches.Add(1)
	op.mu.Lock()
	h := op.jwksHandler
	keys := []json.RawMessage{}
	for _, k := range op.keys {
		keys = append(keys, k.jwk())
	}
	keys = append(keys, op.extraJWKS...)
	op.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

// ---- stores and completer ----------------------------------------------

// memConns is a minimal sso.ConnectionStore for these tests (the store
// packages import this one, so they cannot be imported here).
type memConns struct {
	mu sync.Mutex
	m  map[string]*sso.Connection
}

func (s *memConns) CreateConnection(_ context.Context, c *sso.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*sso.Connection{}
	}
	if _, ok := s.m[c.ID]; ok {
		return sso.ErrConflict
	}
	cp := *c
	s.m[c.ID] = &cp
	return nil
}

func (s *memConns) GetConnection(_ context.Context, id string) (*sso.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[id]
	if !ok {
		return nil, sso.ErrNotFound
	}
	cp := *c
	return &cp, nil
}

func (s *memConns) ListConnections(_ context.Context, orgID string) ([]*sso.Connection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*sso.Connection
	for _, c := range s.m {
		if c.OrgID == orgID {
			cp := *c
			out = append(out, &cp)
		}
	}
	return out, nil
}
func (s *memConns) ListActiveConnections(context.Context, sso.Protocol, string, int) ([]*sso.Connection, error) {
	return nil, nil
}

func (s *memConns) UpdateConnection(_ context.Context, c *sso.Connection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[c.ID]; !ok {
		return sso.ErrNotFound
	}
	cp := *c
	s.m[c.ID] = &cp
	return nil
}

func (s *memConns) DeleteConnection(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// memFlows is a minimal Store with the documented semantics.
type memFlows struct {
	mu     sync.Mutex
	now    func() time.Time
	flows  map[string]Flow
	replay map[string]time.Time
}

func (s *memFlows) SaveFlow(_ context.Context, f *Flow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flows == nil {
		s.flows = map[string]Flow{}
	}
	if _, ok := s.flows[f.ID]; ok {
		return sso.ErrConflict
	}
	s.flows[f.ID] = *f
	return nil
}

func (s *memFlows) TakeFlow(_ context.Context, id string) (*Flow, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.flows[id]
	delete(s.flows, id)
	if !ok || !s.now().Before(f.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &f, nil
}

func (s *memFlows) UseOnce(_ context.Context, key string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replay == nil {
		s.replay = map[string]time.Time{}
	}
	if e, ok := s.replay[key]; ok && s.now().Before(e) {
		return sso.ErrConflict
	}
	s.replay[key] = exp
	return nil
}

func (s *memFlows) DeleteExpiredFlows(context.Context, time.Time) (int, error) { return 0, nil }

// recCompleter records logins and failures.
type recCompleter struct {
	mu     sync.Mutex
	logins []*sso.Login
	fails  []*sso.LoginFailure
}

func (c *recCompleter) Complete(w http.ResponseWriter, r *http.Request, l *sso.Login) error {
	c.mu.Lock()
	c.logins = append(c.logins, l)
	c.mu.Unlock()
	to := l.ReturnTo
	if to == "" {
		to = "/"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (c *recCompleter) Fail(_ *http.Request, f *sso.LoginFailure) {
	c.mu.Lock()
	c.fails = append(c.fails, f)
	c.mu.Unlock()
}

func (c *recCompleter) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.logins), len(c.fails)
}

func (c *recCompleter) lastLogin() *sso.Login {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.logins) == 0 {
		return nil
	}
	return c.logins[len(c.logins)-1]
}

func (c *recCompleter) lastFail() *sso.LoginFailure {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.fails) == 0 {
		return nil
	}
	return c.fails[len(c.fails)-1]
}

// ---- harness -------------------------------------------------------------

type harness struct {
	t       testing.TB
	clock   *clock
	rp      *RP
	srv     *httptest.Server
	conns   *memConns
	flows   *memFlows
	comp    *recCompleter
	sealer  *keyring.Keyring
	lastErr atomic.Value
	logouts atomic.Int32
}

func testSealer(t testing.TB) *keyring.Keyring {
	k, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newHarness(t testing.TB, clk *clock, mod func(*Config)) *harness {
	h := &harness{t: t, clock: clk, conns: &memConns{}, flows: &memFlows{now: clk.Now}, comp: &recCompleter{}, sealer: testSealer(t)}
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	base, _ := url.Parse(h.srv.URL + "/sso/oidc/")
	cfg := Config{
		BaseURL: base, Completer: h.comp, Store: h.flows, Connections: h.conns, Sealer: h.sealer,
		Now: clk.Now, AllowInsecureURLs: true, AllowPrivateAddresses: true,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.lastErr.Store(&err)
			DefaultErrorHandler(w, r, err)
		},
		OnLogout: func(ctx context.Context, conn *sso.Connection, sub, sid string) error {
			h.logouts.Add(1)
			return nil
		},
		Logger: discardLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	rp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.rp = rp
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))
	return h
}

// addConn configures a connection to op through ConfigureConnection (with
// discovery) and registers its redirect URI at op.
func (h *harness) addConn(op *mockOP, id, org string, mod func(c *sso.Connection, in *ConnectionInput)) *sso.Connection {
	h.t.Helper()
	c := &sso.Connection{ID: id, OrgID: org, Protocol: Protocol, Status: sso.ConnectionActive}
	in := &ConnectionInput{Issuer: op.issuer, ClientID: op.clientID, ClientSecret: op.secret, AuthMethod: op.authMethod}
	if mod != nil {
		mod(c, in)
	}
	if _, err := h.rp.Configure(context.Background(), c, in); err != nil {
		h.t.Fatalf("ConfigureConnection: %v", err)
	}
	if err := h.conns.CreateConnection(context.Background(), c); err != nil {
		h.t.Fatal(err)
	}
	op.set(func(op *mockOP) { op.redirectURIs[h.rp.RedirectURI(id)] = true })
	return c
}

// browser is a cookie-carrying client that does not follow redirects.
type browser struct {
	t testing.TB
	c *http.Client
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) get(u string) *http.Response {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// start begins a login and returns the authorization URL.
func (h *harness) start(b *browser, connID, query string) *url.URL {
	h.t.Helper()
	resp := b.get(h.srv.URL + "/sso/oidc/login/" + connID + query)
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("login start: status %d (err %v)", resp.StatusCode, h.err())
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	if u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("code_challenge") == "" {
		h.t.Fatalf("authorization URL without PKCE S256: %s", u)
	}
	return u
}

// authorize sends the browser to the OP and returns the callback URL.
func (h *harness) authorize(b *browser, authURL *url.URL) *url.URL {
	h.t.Helper()
	resp := b.get(authURL.String())
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

// login runs a whole login and returns the final callback response.
func (h *harness) login(b *browser, connID string) *http.Response {
	h.t.Helper()
	return b.get(h.authorize(b, h.start(b, connID, "")).String())
}

func (h *harness) err() error {
	if p, ok := h.lastErr.Load().(*error); ok {
		return *p
	}
	return nil
}

// wantOK asserts a completed login.
func (h *harness) wantOK(resp *http.Response) *sso.Login {
	h.t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("callback status %d, want 303; err: %v", resp.StatusCode, h.err())
	}
	l := h.comp.lastLogin()
	if l == nil {
		h.t.Fatal("no login reached the Completer")
	}
	return l
}

// wantReject asserts that the response is an error page, that the error
// is a *sso.ValidationError with the reason, that Fail saw it, and that
// no Profile reached completion.
func (h *harness) wantReject(resp *http.Response, reason string) *sso.ValidationError {
	h.t.Helper()
	return h.wantRejectStatus(resp, http.StatusBadRequest, reason)
}

// wantRejectStatus is wantReject with another status: 503 for a retryable
// rejection such as ReasonKeysUnavailable.
func (h *harness) wantRejectStatus(resp *http.Response, status int, reason string) *sso.ValidationError {
	h.t.Helper()
	if n, _ := h.comp.counts(); n != 0 {
		h.t.Fatalf("%d logins reached the Completer, want 0", n)
	}
	if resp.StatusCode != status {
		h.t.Fatalf("status %d, want %d (err %v)", resp.StatusCode, status, h.err())
	}
	ve := wantReason(h.t, h.err(), reason)
	f := h.comp.lastFail()
	if f == nil || f.Protocol != Protocol {
		h.t.Fatalf("Completer.Fail not called for the rejection")
	}
	wantReason(h.t, f.Err, reason)
	return ve
}

func wantReason(t testing.TB, err error, reason string) *sso.ValidationError {
	t.Helper()
	var ve *sso.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *sso.ValidationError", err, err)
	}
	if ve.Reason != reason {
		t.Fatalf("reason %q, want %q (%s)", ve.Reason, reason, ve.Detail())
	}
	return ve
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (op *mockOP) logoutToken() (map[string]any, map[string]any) {
	now := op.clock.Now()
	return map[string]any{"alg": "RS256", "kid": op.signKey.kid, "typ": "logout+jwt"}, map[string]any{
		"iss": op.issuer, "aud": op.clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": opaque.NewToken(12), "sub": "user-123", "sid": "sid-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
}

// postLogout posts a logout token and returns the status and the
// validation error the RP reached.
func (h *harness) postLogout(connID, tok string) (int, error) {
	h.t.Helper()
	var got error
	req := httptest.NewRequest(http.MethodPost, "/backchannel-logout/"+connID, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.rp.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		_, _, got = h.rp.verifyLogoutToken(req, mustConn(h, connID), tok)
	}
	return rec.Code, got
}

func mustConn(h *harness, id string) *sso.Connection {
	c, err := h.conns.GetConnection(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// startOpts begins a login through StartLogin with opts (as home-realm
// discovery or the admin's test login would) and returns the
// authorization URL. The browser's cookies are shared with the RP's
// server: the jar keys them by host, not port.
func (h *harness) startOpts(b *browser, connID string, opts sso.StartOptions) *url.URL {
	h.t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := h.conns.GetConnection(r.Context(), connID)
		if err == nil {
			err = h.rp.StartLogin(w, r, conn, opts)
		}
		if err != nil {
			h.lastErr.Store(&err)
			http.Error(w, "start failed", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	resp := b.get(srv.URL + "/start")
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("StartLogin: status %d (err %v)", resp.StatusCode, h.err())
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}
