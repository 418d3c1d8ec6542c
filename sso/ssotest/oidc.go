package ssotest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ssokit/ssokit/sso"
)

// Values the OIDC broken-response switches put in place of the right ones.
const (
	WrongIssuer      = "https://wrong-issuer.invalid"
	WrongClientID    = "wrong-audience-client"
	wrongNoncePrefix = "wrong-nonce-"
	mismatchPrefix   = "other-"
)

// OIDCFault is a set of deliberate defects in OIDC responses, so a host can
// check that its relying party rejects each one. Combine with |.
type OIDCFault uint32

// The OIDC faults.
const (
	// OIDCWrongIssuer sets the ID token's iss to [WrongIssuer].
	OIDCWrongIssuer OIDCFault = 1 << iota
	// OIDCWrongAudience sets the ID token's aud and azp to [WrongClientID].
	OIDCWrongAudience
	// OIDCExpired makes the ID token expire an hour ago.
	OIDCExpired
	// OIDCMissingIAT omits iat from the ID token.
	OIDCMissingIAT
	// OIDCMissingSub omits sub from the ID token.
	OIDCMissingSub
	// OIDCBadSignature corrupts the ID token's signature.
	OIDCBadSignature
	// OIDCAlgNone sends the ID token unsigned with alg "none".
	OIDCAlgNone
	// OIDCHS256PublicKey signs the ID token with HS256, using the PEM of the
	// IdP's public key as the HMAC secret (the key-confusion attack).
	OIDCHS256PublicKey
	// OIDCWrongNonce puts a nonce other than the request's in the ID token.
	OIDCWrongNonce
	// OIDCWrongAtHash puts an at_hash that does not match the access token.
	OIDCWrongAtHash
	// OIDCUserinfoSubMismatch makes /userinfo answer a sub other than the ID
	// token's.
	OIDCUserinfoSubMismatch
	// OIDCMissingIssParam omits the RFC 9207 iss parameter from the
	// authorization response.
	OIDCMissingIssParam

	oidcFaultEnd
)

var oidcFaultNames = []string{"wrong_issuer", "wrong_audience", "expired", "missing_iat",
	"missing_sub", "bad_signature", "alg_none", "hs256_public_key", "wrong_nonce",
	"wrong_at_hash", "userinfo_sub_mismatch", "missing_iss_param"}

// String returns the fault names joined by "|", or "none".
func (f OIDCFault) String() string {
	if f == 0 {
		return "none"
	}
	var parts []string
	for i, n := range oidcFaultNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if f >= oidcFaultEnd {
		parts = append(parts, fmt.Sprintf("0x%x", uint32(f&^(oidcFaultEnd-1))))
	}
	return strings.Join(parts, "|")
}

// Client is a registered OIDC client.
type Client struct {
	// ID is the client_id. Required.
	ID string
	// Secret is the client secret, accepted with client_secret_basic or
	// client_secret_post. Zero makes a public client that authenticates
	// with "none" (PKCE only).
	Secret string
	// RedirectURIs are the exact redirect URIs the client may use. Required.
	RedirectURIs []string
}

// RegisterClient adds or replaces (by ID) an OIDC client.
func (idp *IdP) RegisterClient(c Client) error {
	if c.ID == "" {
		return fmt.Errorf("ssotest: client without ID: %w", sso.ErrInvalidConfig)
	}
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("ssotest: client %q without redirect URI: %w", c.ID, sso.ErrInvalidConfig)
	}
	for _, r := range c.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" || u.Host == "" {
			return fmt.Errorf("ssotest: client %q: redirect URI %q is not absolute: %w", c.ID, r, sso.ErrInvalidConfig)
		}
	}
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.clients[c.ID] = c
	return nil
}

func (idp *IdP) client(id string) (Client, bool) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	c, ok := idp.clients[id]
	return c, ok
}

// Issuer returns the OIDC issuer, BaseURL+"/oidc".
func (idp *IdP) Issuer() string { return idp.base + "/oidc" }

// SetOIDCFaults replaces the default faults of every following login.
func (idp *IdP) SetOIDCFaults(f OIDCFault) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.oidcFaults = f
}

// NextOIDCFaults sets the faults of the next browser-flow login only (its
// authorization response, tokens and userinfo); later ones use the default.
func (idp *IdP) NextOIDCFaults(f OIDCFault) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.oidcNext = &f
}

func (idp *IdP) takeOIDCFaults() OIDCFault {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if idp.oidcNext != nil {
		f := *idp.oidcNext
		idp.oidcNext = nil
		return f
	}
	return idp.oidcFaults
}

// RotateOIDCKey makes next the signing key and keeps the previous key in
// the JWKS (older keys are dropped). A nil next means a fresh key of the
// same kind as the current one.
func (idp *IdP) RotateOIDCKey(next crypto.Signer) error {
	if next == nil {
		idp.mu.Lock()
		alg := idp.oidcKeys[0].alg
		idp.mu.Unlock()
		var err error
		if alg == "ES256" {
			next, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			next, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			return fmt.Errorf("ssotest: generate key: %w", err)
		}
	}
	sk, err := newSigningKey(next)
	if err != nil {
		return err
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.oidcKeys = []*signingKey{sk, idp.oidcKeys[0]}
	return nil
}

func (idp *IdP) currentKey() *signingKey {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	return idp.oidcKeys[0]
}

// JWKS returns the public signing keys as a JWK Set document.
func (idp *IdP) JWKS() ([]byte, error) {
	idp.mu.Lock()
	keys := slices.Clone(idp.oidcKeys)
	idp.mu.Unlock()
	set := jwk.NewSet()
	for _, k := range keys {
		pk, err := jwk.FromRaw(k.signer.Public())
		if err != nil {
			return nil, fmt.Errorf("ssotest: jwk: %w", err)
		}
		for name, v := range map[string]any{jwk.KeyIDKey: k.kid, jwk.AlgorithmKey: jwa.SignatureAlgorithm(k.alg), jwk.KeyUsageKey: "sig"} {
			if err := pk.Set(name, v); err != nil {
				return nil, fmt.Errorf("ssotest: jwk: %w", err)
			}
		}
		if err := set.AddKey(pk); err != nil {
			return nil, fmt.Errorf("ssotest: jwk: %w", err)
		}
	}
	return json.Marshal(set)
}

// Discovery returns the OpenID Provider metadata.
func (idp *IdP) Discovery() map[string]any {
	iss := idp.Issuer()
	return map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{idp.currentKey().alg},
		"scopes_supported":                      []string{"openid", "email", "profile", "groups"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"claims_supported": []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash",
			"acr", "amr", "email", "email_verified", "name", "given_name", "family_name", "groups"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	}
}

// ServeDiscovery serves /.well-known/openid-configuration.
func (idp *IdP) ServeDiscovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, idp.Discovery())
}

// ServeJWKS serves the JWK Set.
func (idp *IdP) ServeJWKS(w http.ResponseWriter, r *http.Request) {
	b, err := idp.JWKS()
	if err != nil {
		idp.log.ErrorContext(r.Context(), "ssotest: jwks", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// authorizeRequest is a validated authorization request.
type authorizeRequest struct {
	client      Client
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scope       string
	loginHint   string
}

func validPKCE(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

// ServeAuthorize is the authorization endpoint (code flow, PKCE S256
// required).
func (idp *IdP) ServeAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := idp.client(q.Get("client_id"))
	if !ok {
		idp.httpError(w, r, http.StatusBadRequest, "unknown client_id", nil)
		return
	}
	redirect := q.Get("redirect_uri")
	if !slices.Contains(c.RedirectURIs, redirect) {
		idp.httpError(w, r, http.StatusBadRequest, "redirect_uri is not registered for this client", nil)
		return
	}
	req := &authorizeRequest{client: c, redirectURI: redirect, state: q.Get("state"), nonce: q.Get("nonce"),
		challenge: q.Get("code_challenge"), scope: q.Get("scope"), loginHint: q.Get("login_hint")}
	fail := func(code, desc string) {
		idp.redirectResult(w, r, req, url.Values{"error": {code}, "error_description": {desc}}, idp.takeOIDCFaults())
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
	case !slices.Contains(strings.Fields(req.scope), "openid"):
		fail("invalid_scope", "scope must include openid")
	case req.challenge == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
	case len(req.challenge) != 43 || !validPKCE(req.challenge):
		fail("invalid_request", "malformed code_challenge")
	case len(req.state) > 2048 || len(req.nonce) > 2048:
		fail("invalid_request", "state or nonce too long")
	default:
		for _, email := range []string{req.loginHint, idp.autoUser} {
			if email == "" {
				continue
			}
			if u, ok := idp.user(email); ok {
				idp.finishAuthorize(w, r, req, u)
				return
			}
		}
		id, err := idp.putPending(&pendingLogin{oidc: req})
		if err != nil {
			idp.httpError(w, r, http.StatusInternalServerError, "internal error", err)
			return
		}
		idp.renderLogin(w, id, c.ID)
	}
}

// redirectResult sends the authorization response to the client.
func (idp *IdP) redirectResult(w http.ResponseWriter, r *http.Request, req *authorizeRequest, v url.Values, f OIDCFault) {
	if req.state != "" {
		v.Set("state", req.state)
	}
	if f&OIDCMissingIssParam == 0 {
		v.Set("iss", idp.Issuer())
	}
	u, err := url.Parse(req.redirectURI)
	if err != nil { // registered URIs were parsed at registration
		idp.httpError(w, r, http.StatusInternalServerError, "internal error", err)
		return
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// authCode is an issued, unredeemed authorization code.
type authCode struct {
	req     *authorizeRequest
	user    User
	faults  OIDCFault
	authAt  time.Time
	expires time.Time
}

// accessGrant is what an issued access token stands for.
type accessGrant struct {
	user    User
	faults  OIDCFault
	expires time.Time
}

func (idp *IdP) finishAuthorize(w http.ResponseWriter, r *http.Request, req *authorizeRequest, u User) {
	f := idp.takeOIDCFaults()
	code, err := idp.randomID(32)
	if err != nil {
		idp.httpError(w, r, http.StatusInternalServerError, "internal error", err)
		return
	}
	now := idp.now()
	idp.mu.Lock()
	for k, c := range idp.codes {
		if now.After(c.expires) {
			delete(idp.codes, k)
		}
	}
	idp.codes[code] = &authCode{req: req, user: u, faults: f, authAt: now, expires: now.Add(idp.cLife)}
	idp.mu.Unlock()
	idp.redirectResult(w, r, req, url.Values{"code": {code}}, f)
}

type tokenError struct {
	status int
	code   string
	desc   string
}

func (idp *IdP) tokenFail(w http.ResponseWriter, e tokenError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="ssotest"`)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// ServeToken is the token endpoint: grant_type=authorization_code with
// code_verifier; client_secret_basic, client_secret_post or none. Codes are
// single-use.
func (idp *IdP) ServeToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		idp.tokenFail(w, tokenError{http.StatusBadRequest, "invalid_request", "malformed form"})
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "authorization_code" {
		idp.tokenFail(w, tokenError{http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported"})
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		clientID, err1 = url.QueryUnescape(clientID)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || f.Has("client_secret") || (f.Has("client_id") && f.Get("client_id") != clientID) {
			idp.tokenFail(w, tokenError{http.StatusUnauthorized, "invalid_client", "malformed client authentication"})
			return
		}
	} else {
		clientID, secret = f.Get("client_id"), f.Get("client_secret")
	}
	c, ok := idp.client(clientID)
	switch {
	case !ok:
		idp.tokenFail(w, tokenError{http.StatusUnauthorized, "invalid_client", "unknown client"})
		return
	case c.Secret == "" && (basic || secret != ""):
		idp.tokenFail(w, tokenError{http.StatusUnauthorized, "invalid_client", "public client must not send a secret"})
		return
	case c.Secret != "" && subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1:
		idp.tokenFail(w, tokenError{http.StatusUnauthorized, "invalid_client", "client authentication failed"})
		return
	}
	code := f.Get("code")
	now := idp.now()
	idp.mu.Lock()
	ac, ok := idp.codes[code]
	delete(idp.codes, code) // single use, also when the rest fails
	idp.mu.Unlock()
	switch {
	case !ok || now.After(ac.expires):
		idp.tokenFail(w, tokenError{http.StatusBadRequest, "invalid_grant", "unknown, used or expired code"})
		return
	case ac.req.client.ID != c.ID:
		idp.tokenFail(w, tokenError{http.StatusBadRequest, "invalid_grant", "code was issued to another client"})
		return
	case f.Get("redirect_uri") != ac.req.redirectURI:
		idp.tokenFail(w, tokenError{http.StatusBadRequest, "invalid_grant", "redirect_uri does not match"})
		return
	}
	verifier := f.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	if !validPKCE(verifier) || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(ac.req.challenge)) != 1 {
		idp.tokenFail(w, tokenError{http.StatusBadRequest, "invalid_grant", "code_verifier does not match"})
		return
	}
	at, err := idp.AccessToken(c.ID, ac.user.Email, ac.req.scope)
	if err != nil {
		idp.log.ErrorContext(r.Context(), "ssotest: access token", "err", err)
		idp.tokenFail(w, tokenError{http.StatusInternalServerError, "server_error", "internal error"})
		return
	}
	idt, err := idp.IDToken(IDTokenRequest{ClientID: c.ID, User: ac.user.Email, Nonce: ac.req.nonce,
		AccessToken: at, AuthTime: ac.authAt, Faults: ac.faults})
	if err != nil {
		idp.log.ErrorContext(r.Context(), "ssotest: id token", "err", err)
		idp.tokenFail(w, tokenError{http.StatusInternalServerError, "server_error", "internal error"})
		return
	}
	h := sha256.Sum256([]byte(at))
	idp.mu.Lock()
	for k, g := range idp.tokens {
		if now.After(g.expires) {
			delete(idp.tokens, k)
		}
	}
	idp.tokens[hex.EncodeToString(h[:])] = &accessGrant{user: ac.user, faults: ac.faults, expires: now.Add(idp.tLife)}
	idp.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		"expires_in":   int(idp.tLife / time.Second),
		"id_token":     idt,
		"scope":        ac.req.scope,
	})
}

// ServeUserInfo is the userinfo endpoint (bearer access token).
func (idp *IdP) ServeUserInfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ssotest"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request"})
		return
	}
	h := sha256.Sum256([]byte(tok))
	idp.mu.Lock()
	g, ok := idp.tokens[hex.EncodeToString(h[:])]
	idp.mu.Unlock()
	if !ok || idp.now().After(g.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ssotest", error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	claims := userClaims(g.user)
	if g.faults&OIDCUserinfoSubMismatch != 0 {
		claims["sub"] = mismatchPrefix + g.user.Subject
	}
	writeJSON(w, http.StatusOK, claims)
}

func userClaims(u User) map[string]any {
	c := map[string]any{
		"sub":            u.Subject,
		"email":          u.Email,
		"email_verified": true,
		"name":           u.Name(),
	}
	if u.GivenName != "" {
		c["given_name"] = u.GivenName
	}
	if u.FamilyName != "" {
		c["family_name"] = u.FamilyName
	}
	groups := u.Groups
	if groups == nil {
		groups = []string{}
	}
	c["groups"] = groups
	return c
}

// IDTokenRequest describes an ID token to mint with [IdP.IDToken].
type IDTokenRequest struct {
	// ClientID is the audience. Required.
	ClientID string
	// User is the email of a configured user. Required.
	User string
	// Nonce is echoed when set.
	Nonce string
	// AccessToken, when set, is hashed into at_hash.
	AccessToken string
	// AuthTime is the auth_time claim. Zero means now.
	AuthTime time.Time
	// Faults are the deliberate defects of this token.
	Faults OIDCFault
}

// IDToken mints a signed ID token for a configured user.
func (idp *IdP) IDToken(req IDTokenRequest) (string, error) {
	u, ok := idp.user(req.User)
	if !ok {
		return "", fmt.Errorf("ssotest: unknown user %q: %w", req.User, sso.ErrNotFound)
	}
	if req.ClientID == "" {
		return "", fmt.Errorf("ssotest: ID token without client ID: %w", sso.ErrInvalidInput)
	}
	f := req.Faults
	now := idp.now()
	iat, exp := now, now.Add(idp.tLife)
	if f&OIDCExpired != 0 {
		iat, exp = now.Add(-2*time.Hour), now.Add(-time.Hour)
	}
	authAt := req.AuthTime
	if authAt.IsZero() || f&OIDCExpired != 0 {
		authAt = iat
	}
	claims := userClaims(u)
	claims["iss"] = idp.Issuer()
	claims["aud"] = req.ClientID
	claims["azp"] = req.ClientID
	claims["iat"] = iat.Unix()
	claims["exp"] = exp.Unix()
	claims["auth_time"] = authAt.Unix()
	if u.MFA {
		claims["amr"] = []string{"pwd", "mfa", "otp"}
		claims["acr"] = MFAAuthnContext
	} else {
		claims["amr"] = []string{"pwd"}
		claims["acr"] = PasswordAuthnContext
	}
	if req.Nonce != "" {
		claims["nonce"] = req.Nonce
	}
	if f&OIDCWrongNonce != 0 {
		claims["nonce"] = wrongNoncePrefix + req.Nonce
	}
	if req.AccessToken != "" {
		claims["at_hash"] = atHash(req.AccessToken)
	}
	if f&OIDCWrongAtHash != 0 {
		claims["at_hash"] = atHash("not-the-access-token:" + req.AccessToken)
	}
	if f&OIDCWrongIssuer != 0 {
		claims["iss"] = WrongIssuer
	}
	if f&OIDCWrongAudience != 0 {
		claims["aud"], claims["azp"] = WrongClientID, WrongClientID
	}
	if f&OIDCMissingIAT != 0 {
		delete(claims, "iat")
	}
	if f&OIDCMissingSub != 0 {
		delete(claims, "sub")
	}
	return idp.signJWT(claims, "JWT", f)
}

// AccessToken mints a signed JWT access token (RFC 9068 shape) for a
// configured user. Tokens minted here are not accepted by /userinfo; only
// those issued by the token endpoint are.
func (idp *IdP) AccessToken(clientID, user, scope string) (string, error) {
	u, ok := idp.user(user)
	if !ok {
		return "", fmt.Errorf("ssotest: unknown user %q: %w", user, sso.ErrNotFound)
	}
	jti, err := idp.randomID(16)
	if err != nil {
		return "", err
	}
	now := idp.now()
	return idp.signJWT(map[string]any{
		"iss":       idp.Issuer(),
		"sub":       u.Subject,
		"aud":       idp.Issuer() + "/userinfo",
		"client_id": clientID,
		"scope":     scope,
		"iat":       now.Unix(),
		"exp":       now.Add(idp.tLife).Unix(),
		"jti":       jti,
	}, "at+jwt", 0)
}

// atHash is the OIDC at_hash: the left half of SHA-256, base64url.
func atHash(at string) string {
	sum := sha256.Sum256([]byte(at))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (idp *IdP) signJWT(claims map[string]any, typ string, f OIDCFault) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("ssotest: encode claims: %w", err)
	}
	k := idp.currentKey()
	if f&OIDCAlgNone != 0 {
		hdr, _ := json.Marshal(map[string]string{"alg": "none", "typ": typ})
		return base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(payload) + ".", nil
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, k.kid); err != nil {
		return "", fmt.Errorf("ssotest: header: %w", err)
	}
	if err := hdr.Set(jws.TypeKey, typ); err != nil {
		return "", fmt.Errorf("ssotest: header: %w", err)
	}
	var alg jwa.SignatureAlgorithm
	var key any
	if f&OIDCHS256PublicKey != 0 {
		der, err := x509.MarshalPKIXPublicKey(k.signer.Public())
		if err != nil {
			return "", fmt.Errorf("ssotest: marshal public key: %w", err)
		}
		alg, key = jwa.HS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	} else {
		alg, key = jwa.SignatureAlgorithm(k.alg), k.signer
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("ssotest: sign token: %w", err)
	}
	if f&OIDCBadSignature != 0 {
		i := strings.LastIndexByte(string(out), '.')
		sig, err := base64.RawURLEncoding.DecodeString(string(out[i+1:]))
		if err != nil || len(sig) == 0 {
			return "", fmt.Errorf("ssotest: corrupt signature: %w", err)
		}
		sig[len(sig)/2] ^= 0x5a
		return string(out[:i+1]) + base64.RawURLEncoding.EncodeToString(sig), nil
	}
	return string(out), nil
}

// PEMPublicKey returns the current OIDC signing public key as PEM, the
// secret [OIDCHS256PublicKey] tokens are HMAC-signed with.
func (idp *IdP) PEMPublicKey() []byte {
	der, err := x509.MarshalPKIXPublicKey(idp.currentKey().signer.Public())
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
