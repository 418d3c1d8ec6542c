package ssotest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Authentication context values the IdP asserts. A user with MFA set gets
// [MFAAuthnContext] in SAML and amr ["pwd", "mfa", "otp"] in OIDC; other
// users get [PasswordAuthnContext] and amr ["pwd"].
const (
	MFAAuthnContext      = "https://refeds.org/profile/mfa"
	PasswordAuthnContext = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
)

// User is an account of the development IdP.
type User struct {
	// Email is the user's address; it identifies the user on the login page
	// and in login_hint. Required, unique per IdP.
	Email string
	// GivenName and FamilyName are asserted as givenName/sn (SAML) and
	// given_name/family_name (OIDC).
	GivenName, FamilyName string
	// Groups are asserted as the multi-valued "groups" attribute/claim.
	Groups []string
	// Subject is the persistent NameID and the OIDC sub. Zero means a stable
	// value derived from Email.
	Subject string
	// MFA makes the IdP assert a multi-factor login.
	MFA bool
}

// Name returns the display name: given and family name, or the email.
func (u User) Name() string {
	n := strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	if n == "" {
		return u.Email
	}
	return n
}

// DefaultUsers are the accounts an IdP gets when Config.Users is empty.
func DefaultUsers() []User {
	return []User{
		{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Admin", Groups: []string{"admins", "engineering"}, MFA: true},
		{Email: "bob@example.com", GivenName: "Bob", FamilyName: "Builder", Groups: []string{"engineering"}},
	}
}

// Config configures an [IdP]. Only BaseURL is required.
type Config struct {
	// BaseURL is the absolute URL the IdP handler is reachable at, for
	// example "http://127.0.0.1:9000/idp". Every URL the IdP publishes is
	// derived from it: SAML under BaseURL+"/saml/", OIDC under
	// BaseURL+"/oidc" (the issuer). Required.
	BaseURL *url.URL
	// Users are the accounts offered on the login page. Zero means
	// [DefaultUsers].
	Users []User
	// AutoLogin, when set to a user's email, skips the login page and logs
	// that user in at once. For OIDC a login_hint naming another configured
	// user wins.
	AutoLogin string

	// SAMLEntityID is the IdP entity ID. Zero means BaseURL+"/saml/metadata".
	SAMLEntityID string
	// SAMLKey and SAMLCert sign SAML responses and assertions. Zero means a
	// fresh RSA-2048 key and self-signed certificate per IdP.
	SAMLKey *rsa.PrivateKey
	// SAMLCert is the certificate of SAMLKey published in the metadata.
	SAMLCert *x509.Certificate
	// ServiceProviders are the registered SAML SPs. Responses go only to
	// their ACS URLs. More can be added with [IdP.RegisterServiceProvider]
	// and [IdP.RegisterSPMetadata].
	ServiceProviders []ServiceProvider
	// SAMLFaults is the default set of deliberate defects in every SAML
	// response (see [SAMLFault]). Zero means correct responses.
	SAMLFaults SAMLFault
	// AssertionLifetime is how long an assertion is valid. Zero means 5m.
	AssertionLifetime time.Duration

	// OIDCKey signs ID and access tokens: an *rsa.PrivateKey (RS256) or an
	// *ecdsa.PrivateKey on P-256 (ES256). Zero means a fresh RSA-2048 key.
	OIDCKey crypto.Signer
	// Clients are the registered OIDC clients. More can be added with
	// [IdP.RegisterClient].
	Clients []Client
	// OIDCFaults is the default set of deliberate defects in every OIDC
	// response (see [OIDCFault]). Zero means correct responses.
	OIDCFaults OIDCFault
	// TokenLifetime is the lifetime of ID and access tokens. Zero means 1h.
	TokenLifetime time.Duration
	// CodeLifetime is the lifetime of an authorization code. Zero means 1m.
	CodeLifetime time.Duration

	// Now is the clock. Zero means time.Now.
	Now func() time.Time
	// Rand is the source of IDs, codes and tokens. Zero means crypto/rand.
	Rand io.Reader
	// Logger receives request errors. Zero means slog.Default().
	Logger *slog.Logger
	// ErrorHandler renders refused browser requests; err is a
	// *[RequestError]. Zero means [DefaultErrorHandler]. OAuth endpoints
	// (token, userinfo) answer OAuth error JSON instead.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// IdP is an in-process development identity provider serving SAML 2.0 and
// OpenID Connect from one base URL. It is an http.Handler; mount it at
// BaseURL's path (with http.StripPrefix when that path is not "/"). It is
// safe for concurrent use.
type IdP struct {
	base         string
	entityID     string
	now          func() time.Time
	rand         io.Reader
	log          *slog.Logger
	errorHandler func(http.ResponseWriter, *http.Request, error)
	autoUser     string
	aLife        time.Duration
	tLife        time.Duration
	cLife        time.Duration
	mux          *http.ServeMux

	samlKey  *rsa.PrivateKey
	samlCert *x509.Certificate

	mu         sync.Mutex
	users      []User
	sps        map[string]ServiceProvider
	samlFaults SAMLFault
	samlNext   *SAMLFault
	lastSAML   *SAMLResponse
	untrusted  *rsa.PrivateKey
	untrustedC *x509.Certificate
	pending    map[string]*pendingLogin

	clients    map[string]Client
	oidcKeys   []*signingKey // oidcKeys[0] signs; the rest are published only
	oidcFaults OIDCFault
	oidcNext   *OIDCFault
	codes      map[string]*authCode
	tokens     map[string]*accessGrant
}

// NewIdP validates cfg and returns the IdP. Errors wrap
// [sso.ErrInvalidConfig].
func NewIdP(cfg Config) (*IdP, error) {
	if cfg.BaseURL == nil || cfg.BaseURL.Scheme == "" || cfg.BaseURL.Host == "" {
		return nil, fmt.Errorf("ssotest: BaseURL must be an absolute URL: %w", sso.ErrInvalidConfig)
	}
	if cfg.BaseURL.Scheme != "http" && cfg.BaseURL.Scheme != "https" {
		return nil, fmt.Errorf("ssotest: BaseURL scheme must be http or https: %w", sso.ErrInvalidConfig)
	}
	b := *cfg.BaseURL
	b.RawQuery, b.Fragment = "", ""
	idp := &IdP{
		base:     strings.TrimRight(b.String(), "/"),
		now:      cfg.Now,
		rand:     cfg.Rand,
		log:      cfg.Logger,
		aLife:    cfg.AssertionLifetime,
		tLife:    cfg.TokenLifetime,
		cLife:    cfg.CodeLifetime,
		sps:      map[string]ServiceProvider{},
		clients:  map[string]Client{},
		pending:  map[string]*pendingLogin{},
		codes:    map[string]*authCode{},
		tokens:   map[string]*accessGrant{},
		samlKey:  cfg.SAMLKey,
		samlCert: cfg.SAMLCert,

		samlFaults: cfg.SAMLFaults,
		oidcFaults: cfg.OIDCFaults,
	}
	if idp.now == nil {
		idp.now = time.Now
	}
	if idp.rand == nil {
		idp.rand = rand.Reader
	}
	if idp.log == nil {
		idp.log = slog.Default()
	}
	idp.errorHandler = cfg.ErrorHandler
	if idp.errorHandler == nil {
		idp.errorHandler = DefaultErrorHandler
	}
	if idp.aLife <= 0 {
		idp.aLife = 5 * time.Minute
	}
	if idp.tLife <= 0 {
		idp.tLife = time.Hour
	}
	if idp.cLife <= 0 {
		idp.cLife = time.Minute
	}
	idp.entityID = cfg.SAMLEntityID
	if idp.entityID == "" {
		idp.entityID = idp.base + "/saml/metadata"
	}
	users := cfg.Users
	if len(users) == 0 {
		users = DefaultUsers()
	}
	for _, u := range users {
		if err := idp.AddUser(u); err != nil {
			return nil, err
		}
	}
	if cfg.AutoLogin != "" {
		if _, ok := idp.user(cfg.AutoLogin); !ok {
			return nil, fmt.Errorf("ssotest: AutoLogin %q is not a configured user: %w", cfg.AutoLogin, sso.ErrInvalidConfig)
		}
		idp.autoUser = cfg.AutoLogin
	}
	switch {
	case idp.samlKey == nil && idp.samlCert == nil:
		k, c, err := newKeyAndCert("ssotest SAML IdP", idp.now())
		if err != nil {
			return nil, err
		}
		idp.samlKey, idp.samlCert = k, c
	case idp.samlKey == nil || idp.samlCert == nil:
		return nil, fmt.Errorf("ssotest: SAMLKey and SAMLCert must be set together: %w", sso.ErrInvalidConfig)
	default:
		pub, ok := idp.samlCert.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&idp.samlKey.PublicKey) {
			return nil, fmt.Errorf("ssotest: SAMLCert does not match SAMLKey: %w", sso.ErrInvalidConfig)
		}
	}
	key := cfg.OIDCKey
	if key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("ssotest: generate key: %w", err)
		}
		key = k
	}
	sk, err := newSigningKey(key)
	if err != nil {
		return nil, err
	}
	idp.oidcKeys = []*signingKey{sk}
	for _, sp := range cfg.ServiceProviders {
		if err := idp.RegisterServiceProvider(sp); err != nil {
			return nil, err
		}
	}
	for _, c := range cfg.Clients {
		if err := idp.RegisterClient(c); err != nil {
			return nil, err
		}
	}
	idp.routes()
	return idp, nil
}

func (idp *IdP) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /saml/metadata", idp.ServeSAMLMetadata)
	m.HandleFunc("GET /saml/cert", idp.serveCert)
	m.HandleFunc("GET /saml/sso", idp.ServeSAMLSSO)
	m.HandleFunc("POST /saml/sso", idp.ServeSAMLSSO)
	m.HandleFunc("GET /saml/idp-initiated", idp.serveIdPInitiated)
	m.HandleFunc("POST /login", idp.serveLogin)
	m.HandleFunc("GET /oidc/.well-known/openid-configuration", idp.ServeDiscovery)
	m.HandleFunc("GET /oidc/jwks", idp.ServeJWKS)
	m.HandleFunc("GET /oidc/authorize", idp.ServeAuthorize)
	m.HandleFunc("POST /oidc/token", idp.ServeToken)
	m.HandleFunc("GET /oidc/userinfo", idp.ServeUserInfo)
	m.HandleFunc("POST /oidc/userinfo", idp.ServeUserInfo)
	idp.mux = m
}

// ServeHTTP serves the IdP's routes, relative to BaseURL's path:
//
//	GET  /saml/metadata        IdP metadata
//	GET  /saml/cert            signing certificate (PEM)
//	GET  /saml/sso             SSO service, HTTP-Redirect binding
//	POST /saml/sso             SSO service, HTTP-POST binding
//	GET  /saml/idp-initiated   unsolicited response (?sp=entityID&user=email&RelayState=)
//	POST /login                login page submission
//	GET  /oidc/.well-known/openid-configuration
//	GET  /oidc/jwks, GET /oidc/authorize, POST /oidc/token, GET|POST /oidc/userinfo
func (idp *IdP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	idp.mux.ServeHTTP(w, r)
}

// BaseURL returns the IdP's base URL without a trailing slash.
func (idp *IdP) BaseURL() string { return idp.base }

// AddUser adds or replaces (by email) a user.
func (idp *IdP) AddUser(u User) error {
	u.Email = strings.TrimSpace(u.Email)
	if u.Email == "" || !strings.Contains(u.Email, "@") {
		return fmt.Errorf("ssotest: user email %q is not an address: %w", u.Email, sso.ErrInvalidConfig)
	}
	if u.Subject == "" {
		sum := sha256.Sum256([]byte(strings.ToLower(u.Email)))
		u.Subject = "u-" + hex.EncodeToString(sum[:10])
	}
	u.Groups = append([]string(nil), u.Groups...)
	idp.mu.Lock()
	defer idp.mu.Unlock()
	for i := range idp.users {
		if strings.EqualFold(idp.users[i].Email, u.Email) {
			idp.users[i] = u
			return nil
		}
	}
	idp.users = append(idp.users, u)
	return nil
}

// Users returns a copy of the configured users.
func (idp *IdP) Users() []User {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	out := make([]User, len(idp.users))
	for i, u := range idp.users {
		u.Groups = append([]string(nil), u.Groups...)
		out[i] = u
	}
	return out
}

func (idp *IdP) user(email string) (User, bool) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	for _, u := range idp.users {
		if strings.EqualFold(u.Email, email) {
			u.Groups = append([]string(nil), u.Groups...)
			return u, true
		}
	}
	return User{}, false
}

// randomID returns n random bytes, base64url-encoded.
func (idp *IdP) randomID(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(idp.rand, b); err != nil {
		return "", fmt.Errorf("ssotest: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newKeyAndCert returns an RSA-2048 key and a self-signed certificate.
func newKeyAndCert(cn string, now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("ssotest: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("ssotest: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("ssotest: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("ssotest: parse certificate: %w", err)
	}
	return key, cert, nil
}

// pendingLogin is a login waiting for the user to be picked.
type pendingLogin struct {
	expires time.Time
	saml    *samlRequest
	oidc    *authorizeRequest
}

const pendingLifetime = 10 * time.Minute

func (idp *IdP) putPending(p *pendingLogin) (string, error) {
	id, err := idp.randomID(24)
	if err != nil {
		return "", err
	}
	now := idp.now()
	p.expires = now.Add(pendingLifetime)
	idp.mu.Lock()
	defer idp.mu.Unlock()
	for k, v := range idp.pending {
		if now.After(v.expires) {
			delete(idp.pending, k)
		}
	}
	idp.pending[id] = p
	return id, nil
}

func (idp *IdP) takePending(id string) (*pendingLogin, bool) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	p, ok := idp.pending[id]
	if !ok {
		return nil, false
	}
	delete(idp.pending, id)
	if idp.now().After(p.expires) {
		return nil, false
	}
	return p, true
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ssotest IdP — sign in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto}button{display:block;width:100%;margin:.4rem 0;padding:.6rem;text-align:left}</style>
</head><body>
<h1>ssotest development IdP</h1>
<p>Sign in to <strong>{{.App}}</strong> as:</p>
<form id="ssotest-login" method="post" action="{{.Action}}">
<input type="hidden" name="login" value="{{.ID}}">
{{range .Users}}<button type="submit" name="user" value="{{.Email}}">{{.Name}} &lt;{{.Email}}&gt;{{if .MFA}} (MFA){{end}}{{if .Groups}} — {{range $i, $g := .Groups}}{{if $i}}, {{end}}{{$g}}{{end}}{{end}}</button>
{{end}}</form>
</body></html>
`))

func (idp *IdP) renderLogin(w http.ResponseWriter, id, app string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action *")
	w.Header().Set("X-Frame-Options", "DENY")
	err := loginPage.Execute(w, struct {
		Action, ID, App string
		Users           []User
	}{idp.base + "/login", id, app, idp.Users()})
	if err != nil {
		idp.log.Error("ssotest: render login page", "err", err)
	}
}

// serveLogin completes a pending login with the picked user.
func (idp *IdP) serveLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		idp.httpError(w, r, http.StatusBadRequest, "malformed form", err)
		return
	}
	p, ok := idp.takePending(r.PostForm.Get("login"))
	if !ok {
		idp.httpError(w, r, http.StatusBadRequest, "unknown or expired login; start again at the application", nil)
		return
	}
	u, ok := idp.user(r.PostForm.Get("user"))
	if !ok {
		idp.httpError(w, r, http.StatusBadRequest, "unknown user", nil)
		return
	}
	switch {
	case p.saml != nil:
		idp.finishSAML(w, r, p.saml, u)
	case p.oidc != nil:
		idp.finishAuthorize(w, r, p.oidc, u)
	default:
		idp.httpError(w, r, http.StatusBadRequest, "unknown login", nil)
	}
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ssotest IdP — error</title></head>
<body><h1>ssotest development IdP</h1><p id="ssotest-error">{{.}}</p></body></html>
`))

// RequestError is a browser request the IdP refused (a malformed SAML
// request, an unknown SP or client, an expired login). It reaches
// Config.ErrorHandler.
type RequestError struct {
	// Status is the HTTP status to answer with.
	Status int
	// Message is safe to show to the user.
	Message string
	// Err is the private cause, if any.
	Err error
}

// Error returns the user-safe message.
func (e *RequestError) Error() string { return "ssotest: " + e.Message }

// Unwrap returns the private cause.
func (e *RequestError) Unwrap() error { return e.Err }

// DefaultErrorHandler renders a *RequestError as a small HTML page with its
// status and user-safe message; any other error as a 500 page.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	var re *RequestError
	if errors.As(err, &re) {
		status, msg = re.Status, re.Message
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, msg)
}

// httpError logs the cause and hands a *RequestError to the error handler.
func (idp *IdP) httpError(w http.ResponseWriter, r *http.Request, status int, msg string, cause error) {
	if cause != nil {
		idp.log.WarnContext(r.Context(), "ssotest: request rejected", "path", r.URL.Path, "msg", msg, "err", cause)
	}
	idp.errorHandler(w, r, &RequestError{Status: status, Message: msg, Err: cause})
}

// signingKey is an OIDC signing key with its published JWK.
type signingKey struct {
	signer crypto.Signer
	alg    string // RS256 or ES256
	kid    string
}

func newSigningKey(s crypto.Signer) (*signingKey, error) {
	var alg string
	switch k := s.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("ssotest: OIDCKey RSA key shorter than 2048 bits: %w", sso.ErrInvalidConfig)
		}
		alg = "RS256"
	case *ecdsa.PrivateKey:
		if k.Curve.Params().Name != "P-256" {
			return nil, fmt.Errorf("ssotest: OIDCKey ECDSA key must use P-256: %w", sso.ErrInvalidConfig)
		}
		alg = "ES256"
	default:
		return nil, fmt.Errorf("ssotest: OIDCKey must be *rsa.PrivateKey or *ecdsa.PrivateKey, got %T: %w", s, sso.ErrInvalidConfig)
	}
	der, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return nil, fmt.Errorf("ssotest: marshal public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return &signingKey{signer: s, alg: alg, kid: base64.RawURLEncoding.EncodeToString(sum[:12])}, nil
}

// ErrNotRegistered reports an unknown service provider, ACS URL, client or
// redirect URI.
var ErrNotRegistered = errors.New("ssotest: not registered")
