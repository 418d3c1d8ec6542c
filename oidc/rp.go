package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Config configures an RP. BaseURL, Completer, Store, Connections and Sealer
// are required; every other zero value is a secure default.
type Config struct {
	// BaseURL is the absolute URL where the host mounts the RP's handler,
	// e.g. https://app.example.com/sso/oidc/. Redirect URIs are
	// BaseURL + "callback/{connection}". With an https BaseURL the
	// browser-binding cookie is Secure and "__Host-" prefixed.
	BaseURL *url.URL
	// Completer receives verified logins and rejected ones.
	Completer sso.Completer
	// Store keeps login flows and the logout-token replay cache.
	Store Store
	// Connections looks up connections by ID.
	Connections sso.ConnectionStore
	// Sealer opens client secrets and private keys. Secrets are sealed with
	// the connection ID as associated data, private keys with the
	// connection ID followed by "/private_key".
	Sealer sso.Sealer
	// HTTPClient is the base client for discovery, JWKS, token and userinfo
	// requests; only its Transport is used. An *http.Transport (or the
	// default one when nil) is cloned and given a dialer that refuses
	// internal addresses, with no proxy and its own dial hooks dropped. Any
	// other RoundTripper cannot be guarded: New refuses it with an error
	// wrapping sso.ErrInvalidConfig unless AllowPrivateAddresses is set, in
	// which case it is used as it is and its owner is responsible for the
	// egress policy. saml.Config.HTTPClient follows the same rule.
	HTTPClient *http.Client
	// FetchTimeout bounds every request to an IdP. Zero means 10s.
	FetchTimeout time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Rand is the source of state, nonce and cookie values. Nil means
	// crypto/rand.
	Rand io.Reader
	// Logger receives request-edge logs. Nil means slog.Default().
	Logger *slog.Logger
	// MaxClockSkew is the leeway applied to exp, nbf and iat. Zero means
	// 60s; at most 5 minutes.
	MaxClockSkew time.Duration
	// MaxIDTokenAge rejects ID tokens whose iat is older. Zero means 10
	// minutes.
	MaxIDTokenAge time.Duration
	// MaxTokenBytes rejects larger ID and logout tokens before parsing.
	// Zero means 64 KiB.
	MaxTokenBytes int
	// JWKSRefetchInterval paces JWKS refetches for one connection: a kid
	// the cache lacks refetches at once, the same kid again only after
	// this interval, and the refetch budget refills one fetch per interval
	// (5 at most). Zero means 30s.
	JWKSRefetchInterval time.Duration
	// AllowInsecureURLs accepts http:// issuer, endpoint and JWKS URLs.
	// It MUST only be enabled for local development and tests: an attacker
	// on the network path can then replace keys and tokens.
	AllowInsecureURLs bool
	// AllowPrivateAddresses lets discovery, JWKS, token and userinfo
	// requests reach loopback, private and link-local addresses. It MUST
	// only be enabled when every IdP is trusted and internal, or in tests:
	// otherwise an organization admin can point an issuer at internal
	// services (server-side request forgery).
	AllowPrivateAddresses bool
	// ErrorHandler renders errors. Nil means DefaultErrorHandler.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Sessions ends the sessions named by a valid OIDC Back-Channel Logout
	// token: the connection's sessions of the token's sub, narrowed to its
	// sid when it has one (session.Manager implements it). It is used when
	// OnLogout is nil. When both are nil, the back-channel logout
	// endpoint answers 404.
	Sessions sso.IdPSessionEnder
	// OnLogout, when set, replaces Sessions: it is called for
	// every valid OIDC Back-Channel Logout token with the connection, the
	// token's sub and its sid (either may be empty, not both).
	OnLogout func(ctx context.Context, conn *sso.Connection, subject, sid string) error
	// TracerProvider and MeterProvider receive spans (login start,
	// callback, code exchange, discovery and JWKS fetches) and metrics
	// (login attempts and latency, validation failures by reason, fetch
	// failures). Nil means the global providers, which cost next to nothing
	// until the host installs an SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization and connection IDs to metric
	// attributes. Off by default to keep metric cardinality bounded; spans
	// always carry them.
	TenantMetrics bool
}

// RP is an OpenID Connect relying party serving every OIDC connection of
// every organization. It implements http.Handler, sso.Starter and
// sso.ConnectionConfigurer. It is safe for concurrent use.
type RP struct {
	cfg    Config
	base   string
	secure bool
	client *http.Client
	mux    *http.ServeMux
	log    *slog.Logger
	cache  providerCache
	tel    *telemetry.T
}

var (
	_ sso.Starter              = (*RP)(nil)
	_ sso.ConnectionConfigurer = (*RP)(nil)
	_ http.Handler             = (*RP)(nil)
)

// New validates cfg and returns an RP.
func New(cfg Config) (*RP, error) {
	switch {
	case cfg.BaseURL == nil || !cfg.BaseURL.IsAbs() || cfg.BaseURL.Host == "":
		return nil, configErr("BaseURL must be an absolute URL")
	case cfg.BaseURL.Scheme != "https" && cfg.BaseURL.Scheme != "http":
		return nil, configErr("BaseURL must be http or https")
	case cfg.BaseURL.RawQuery != "" || cfg.BaseURL.Fragment != "":
		return nil, configErr("BaseURL must not have a query or fragment")
	case cfg.Completer == nil:
		return nil, configErr("Completer is required")
	case cfg.Store == nil:
		return nil, configErr("Store is required")
	case cfg.Connections == nil:
		return nil, configErr("Connections is required")
	case cfg.Sealer == nil:
		return nil, configErr("Sealer is required")
	case cfg.MaxClockSkew < 0 || cfg.MaxClockSkew > 5*time.Minute:
		return nil, configErr("MaxClockSkew must be between 0 and 5m")
	case cfg.MaxIDTokenAge < 0, cfg.MaxTokenBytes < 0, cfg.FetchTimeout < 0, cfg.JWKSRefetchInterval < 0:
		return nil, configErr("durations and sizes must not be negative")
	}
	if cfg.MaxClockSkew == 0 {
		cfg.MaxClockSkew = 60 * time.Second
	}
	if cfg.MaxIDTokenAge == 0 {
		cfg.MaxIDTokenAge = 10 * time.Minute
	}
	if cfg.MaxTokenBytes == 0 {
		cfg.MaxTokenBytes = 64 << 10
	}
	if cfg.FetchTimeout == 0 {
		cfg.FetchTimeout = 10 * time.Second
	}
	if cfg.JWKSRefetchInterval == 0 {
		cfg.JWKSRefetchInterval = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = DefaultErrorHandler
	}
	client, err := newFetchClient(cfg.HTTPClient, cfg.AllowPrivateAddresses, cfg.AllowInsecureURLs, cfg.FetchTimeout)
	if err != nil {
		return nil, err
	}
	rp := &RP{
		cfg:    cfg,
		base:   strings.TrimSuffix(cfg.BaseURL.String(), "/") + "/",
		secure: cfg.BaseURL.Scheme == "https",
		client: client,
		log:    cfg.Logger,
		tel:    telemetry.New("oidc", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, TenantMetrics: cfg.TenantMetrics}),
	}
	if rp.log == nil {
		rp.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/{connection}", func(w http.ResponseWriter, r *http.Request) {
		rp.ServeLogin(w, r, r.PathValue("connection"))
	})
	mux.HandleFunc("GET /callback/{connection}", func(w http.ResponseWriter, r *http.Request) {
		rp.ServeCallback(w, r, r.PathValue("connection"))
	})
	mux.HandleFunc("POST /backchannel-logout/{connection}", func(w http.ResponseWriter, r *http.Request) {
		rp.ServeBackChannelLogout(w, r, r.PathValue("connection"))
	})
	mux.HandleFunc("GET /frontchannel-logout/{connection}", func(w http.ResponseWriter, r *http.Request) {
		rp.ServeFrontChannelLogout(w, r, r.PathValue("connection"))
	})
	// A connection's own redirect URI: whatever path the host routes to
	// this handler, the flow named by state says which connection it is.
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); !q.Has("state") && !q.Has("code") && !q.Has("error") {
			http.NotFound(w, r)
			return
		}
		rp.ServeCallback(w, r, "")
	})
	rp.mux = mux
	return rp, nil
}

// ServeHTTP serves the relative routes
//
//	GET  /login/{connection}               start a login (?return_to=&login_hint=)
//	GET  /callback/{connection}            the redirect URI
//	POST /backchannel-logout/{connection}  OIDC Back-Channel Logout
//	GET  /frontchannel-logout/{connection} OIDC Front-Channel Logout
//	GET  any other path with state          a connection's own redirect URI
func (rp *RP) ServeHTTP(w http.ResponseWriter, r *http.Request) { rp.mux.ServeHTTP(w, r) }

func (rp *RP) now() time.Time { return rp.cfg.Now() }

// RedirectURI returns the redirect URI of the connection with the given ID.
func (rp *RP) RedirectURI(connectionID string) string {
	return rp.base + "callback/" + url.PathEscape(connectionID)
}

// redirectURIOf is the redirect URI of conn: its own RedirectURI when
// configured, else the default one.
func (rp *RP) redirectURIOf(conn *sso.Connection) string {
	if oc := ConfigOf(conn); oc != nil && oc.RedirectURI != "" {
		return oc.RedirectURI
	}
	return rp.RedirectURI(conn.ID)
}

// LoginURL returns the URL that starts an SP-initiated login at the
// connection with the given ID.
func (rp *RP) LoginURL(connectionID string) string {
	return rp.base + "login/" + url.PathEscape(connectionID)
}

// BackChannelLogoutURI returns the back_channel_logout_uri to register at
// the IdP for the connection with the given ID.
func (rp *RP) BackChannelLogoutURI(connectionID string) string {
	return rp.base + "backchannel-logout/" + url.PathEscape(connectionID)
}

func (rp *RP) cookieName() string {
	if rp.secure {
		return "__Host-ssokit_oidc"
	}
	return "ssokit_oidc"
}

func (rp *RP) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(rp.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("oidc: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ServeLogin starts an SP-initiated login at the connection: it must be an
// active OIDC connection. The query may carry return_to (kept only when
// returnto.IsSafe) and login_hint. It is also the connection's login
// initiation endpoint (OpenID Connect Core 1.0 section 4, an IdP's app
// tile or dashboard): iss, when present, must name the connection's
// issuer, and target_link_uri, when return_to is absent, is where the
// person lands after the login, kept only when it is a safe path or an
// absolute URL on BaseURL's origin (never an open redirect).
func (rp *RP) ServeLogin(w http.ResponseWriter, r *http.Request, connectionID string) {
	conn, err := rp.cfg.Connections.GetConnection(r.Context(), connectionID)
	if err != nil || conn.Protocol != Protocol || ConfigOf(conn) == nil || conn.Status != sso.ConnectionActive {
		if err == nil || errors.Is(err, sso.ErrNotFound) {
			err = fmt.Errorf("oidc: connection: %w", sso.ErrNotFound)
		}
		rp.cfg.ErrorHandler(w, r, err)
		return
	}
	q := r.URL.Query()
	if q.Has("iss") && !issuerEquals(ConfigOf(conn).Issuer, q.Get("iss")) && !issuerMatches(ConfigOf(conn), q.Get("iss")) {
		rp.cfg.ErrorHandler(w, r, mismatch(ReasonIssuerParamMismatch, ConfigOf(conn).Issuer, q.Get("iss")))
		return
	}
	hint := q.Get("login_hint")
	if len(hint) > 256 {
		hint = ""
	}
	returnTo := q.Get("return_to")
	if returnTo == "" {
		returnTo = rp.targetLink(q.Get("target_link_uri"))
	}
	if err := rp.StartLogin(w, r, conn, sso.StartOptions{ReturnTo: returnTo, LoginHint: hint}); err != nil {
		rp.log.WarnContext(r.Context(), "oidc: login start failed", "connection", conn.ID, "err", err)
		rp.cfg.ErrorHandler(w, r, err)
	}
}

// targetLink is a third-party-initiated login's target_link_uri as a
// return_to: a safe path as it is, an absolute URL on BaseURL's origin as
// its path and query, anything else "" (the default).
func (rp *RP) targetLink(s string) string {
	if s == "" || returnto.IsSafe(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme, rp.cfg.BaseURL.Scheme) || !strings.EqualFold(u.Host, rp.cfg.BaseURL.Host) {
		return ""
	}
	if p := u.RequestURI(); returnto.IsSafe(p) {
		return p
	}
	return ""
}

// StartLogin implements sso.Starter: it stores a new flow (state, nonce,
// PKCE verifier, connection, issuer, and what opts ask of the
// authentication) and redirects the browser to the IdP's authorization
// endpoint. opts.RequireMFA sends the connection's MFAACRValues (else
// DefaultMFAACRValues) as acr_values, opts.MaxAge sends max_age and
// opts.ForceAuthn prompt=login; the callback refuses an ID token that does
// not show them (ReasonMFANotPerformed, ReasonAuthnTooOld). A draft
// connection starts only test logins; a disabled one none.
func (rp *RP) StartLogin(w http.ResponseWriter, r *http.Request, conn *sso.Connection, opts sso.StartOptions) (err error) {
	span := rp.startSpan(r.Context(), "oidc.login.start", conn)
	defer func() { telemetry.End(span, sso.ReasonOf(err), err) }()
	if conn == nil || conn.Protocol != Protocol || ConfigOf(conn) == nil {
		return fmt.Errorf("%w: oidc: not an OIDC connection", sso.ErrInvalidInput)
	}
	if opts.Test {
		// A test login that cannot start (discovery fault, PKCE refused)
		// is a failed test: the admin's diagnostics must say why.
		defer func() {
			if err != nil {
				rp.cfg.Completer.Fail(r, &sso.LoginFailure{Connection: conn, Protocol: Protocol, Test: true, Err: diagnosis(err)})
			}
		}()
	}
	switch {
	case conn.Status == sso.ConnectionActive:
	case conn.Status == sso.ConnectionDraft && opts.Test:
	default:
		return fmt.Errorf("%w: oidc: connection is not active", sso.ErrAccessDenied)
	}
	if err := sso.CheckStepUpStart(conn, opts); err != nil {
		return err
	}
	ctx := r.Context()
	m, err := rp.metadataFor(ctx, conn)
	if err != nil {
		return upstreamFailure(ReasonDiscoveryFailed, err)
	}
	if len(m.CodeChallengeMethods) > 0 && !slices.Contains(m.CodeChallengeMethods, "S256") {
		return mismatch(ReasonPKCEUnsupported, "S256", strings.Join(m.CodeChallengeMethods, " "))
	}
	state, err := rp.random(32)
	if err != nil {
		return err
	}
	nonce, err := rp.random(32)
	if err != nil {
		return err
	}
	verifier, err := rp.random(32)
	if err != nil {
		return err
	}
	browser := ""
	if c, err := r.Cookie(rp.cookieName()); err == nil && len(c.Value) == 43 {
		if _, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
			browser = c.Value
		}
	}
	if browser == "" {
		if browser, err = rp.random(32); err != nil {
			return err
		}
	}
	now := rp.now()
	f := &Flow{
		ID:           opaque.Hash(state),
		BrowserHash:  opaque.Hash(browser),
		ConnectionID: conn.ID,
		OrgID:        conn.OrgID,
		Issuer:       ConfigOf(conn).Issuer,
		RedirectURI:  rp.redirectURIOf(conn),
		Verifier:     verifier,
		Nonce:        nonce,
		ReturnTo:     returnto.Safe(opts.ReturnTo, ""),
		Test:         opts.Test,
		StepUp:       stepUpOf(opts),
		CreatedAt:    now,
		ExpiresAt:    now.Add(FlowTTL),
	}
	authOpts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", nonce),
	}
	if opts.LoginHint != "" {
		authOpts = append(authOpts, oauth2.SetAuthURLParam("login_hint", opts.LoginHint))
	}
	authOpts = append(authOpts, authnParams(ConfigOf(conn), opts, f)...)
	if err := rp.cfg.Store.SaveFlow(ctx, f); err != nil {
		return fmt.Errorf("oidc: save flow: %w", err)
	}
	oc := rp.oauth2Config(conn, m, f.RedirectURI, "")
	http.SetCookie(w, &http.Cookie{
		Name:     rp.cookieName(),
		Value:    browser,
		Path:     "/",
		MaxAge:   int(FlowTTL / time.Second),
		HttpOnly: true,
		Secure:   rp.secure,
		SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oc.AuthCodeURL(state, authOpts...), http.StatusFound)
	return nil
}

func scopes(conn *sso.Connection) []string {
	s := ConfigOf(conn).Scopes
	if len(s) == 0 {
		return []string{"openid", "email", "profile"}
	}
	if !slices.Contains(s, "openid") {
		s = append([]string{"openid"}, s...)
	}
	return s
}

func (rp *RP) oauth2Config(conn *sso.Connection, m *metadata, redirectURI, secret string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	switch ConfigOf(conn).AuthMethod {
	case "client_secret_post", "private_key_jwt", "none":
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     ConfigOf(conn).ClientID,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{AuthURL: m.AuthURL, TokenURL: m.TokenURL, AuthStyle: style},
		RedirectURL:  redirectURI,
		Scopes:       scopes(conn),
	}
}

// DeleteExpired removes expired flows and replay-cache entries from the
// Store. Call it periodically (e.g. every few minutes) from background
// work; abandoned logins otherwise stay until their rows are taken.
func (rp *RP) DeleteExpired(ctx context.Context) (int, error) {
	return rp.cfg.Store.DeleteExpiredFlows(ctx, rp.now())
}
