package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Defaults applied to zero Config fields.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 24 * time.Hour
	DefaultMaxSessions     = 5
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 7 * 24 * time.Hour
	DefaultTouchInterval   = time.Minute
	DefaultCookieName      = "ssokit_session"
	// MaxAccessTokenTTL caps access-token lifetimes, including per-org
	// overrides; retired signing keys stay verifiable this long.
	MaxAccessTokenTTL = time.Hour
	// DefaultRevocationCacheTTL is how long a subject's revocation time is
	// cached; a revoked user's access tokens stop within it.
	DefaultRevocationCacheTTL = 30 * time.Second
	// DefaultTokenCacheSize bounds the verified-access-token cache.
	DefaultTokenCacheSize = 10000
)

// tokenBytes is the entropy of session cookies and refresh tokens (256 bits).
const tokenBytes = 32

// tokenLen is the encoded length of a bearer value of tokenBytes.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// Config configures a Manager. Zero values are the secure defaults.
type Config struct {
	// Store keeps browser sessions. Required.
	Store Store
	// Events receives audit events (session limit, force logout, refresh
	// token reuse, cross-tenant denials). Required.
	Events sso.EventStore
	// Orgs, when set, supplies per-organization overrides
	// (sso.OrgSettings.Session). Nil means the values below apply to every
	// organization.
	Orgs sso.OrgStore
	// Memberships is read by SwitchOrg to check that the user belongs to the
	// target organization and to load their roles there, and by Refresh,
	// which mints access tokens with the member's current roles. Required
	// with SigningKeys; nil otherwise disables SwitchOrg.
	Memberships sso.MembershipStore
	// Sealer seals what a session keeps to end the user's session at the
	// IdP (sso.SessionGrant.IdPLogoutHint: the OIDC ID token for an
	// RP-initiated logout's id_token_hint). Nil means such hints are not
	// kept and IdPLogoutHint always returns "".
	Sealer sso.Sealer

	// Tokens keeps refresh-token families. Together with SigningKeys and
	// Revocations it enables API tokens; nil disables them.
	Tokens TokenStore
	// Revocations keeps per-user and per-session revocation times for access
	// tokens. Required when SigningKeys is set.
	Revocations RevocationStore
	// Clients stores API clients: with signing keys it enables the
	// client_credentials and token-exchange grants of TokenHandler. Nil
	// leaves them off.
	Clients ClientStore
	// RevocationBus, when set, carries every revocation this Manager records
	// to the other replicas, and theirs to this one while Run runs, so that
	// a logout, deactivation or demotion stops access tokens on every
	// replica within the bus's delivery time instead of
	// RevocationCacheTTL. Nil means replicas learn of a revocation only when
	// their cached revocation time expires.
	RevocationBus RevocationBus
	// SigningKeys sign and verify access tokens. See SigningKey for rotation.
	SigningKeys []SigningKey
	// Issuer is the "iss" claim of access tokens and is required with
	// SigningKeys (e.g. "https://app.example.com").
	Issuer string
	// Audience is the "aud" claim of access tokens. Zero means Issuer.
	Audience string

	// CookieName is the session cookie's base name. Zero means
	// "ssokit_session". With secure cookies it is sent as "__Host-" + name.
	CookieName string
	// AllowInsecureCookie drops the Secure attribute and the __Host- prefix,
	// so the cookie travels over plain HTTP. It MUST only be set for local
	// development without TLS.
	AllowInsecureCookie bool

	// IdleTimeout ends a session after this long without a request. Zero
	// means 30 minutes.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after login whatever its
	// activity. Zero means 24 hours.
	AbsoluteTimeout time.Duration
	// MaxSessions is the per-user session limit within one organization;
	// issuing one more ends the user's oldest session in that organization.
	// Zero means 5; negative means no limit.
	MaxSessions int
	// AccessTokenTTL is the lifetime of access tokens. Zero means 15
	// minutes; at most MaxAccessTokenTTL.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the absolute lifetime of a refresh-token family.
	// Zero means 7 days.
	RefreshTokenTTL time.Duration
	// TouchInterval throttles last-seen writes: a session's LastSeenAt is
	// written at most once per interval. Zero means one minute.
	TouchInterval time.Duration
	// ConcurrentRefreshGrace is the policy for losers of a concurrent
	// refresh. Zero (the default, strict RFC 9700 §4.14.2) treats every
	// second presentation of a refresh token as reuse and revokes the
	// family, including the winner's new token. A positive value answers
	// a presentation within that long after the rotation with invalid_grant
	// but leaves the family alive, for clients that retry in parallel.
	ConcurrentRefreshGrace time.Duration
	// RevocationCacheTTL is how long a subject's revocation time is cached
	// in memory. Zero means 30 seconds; at most 60 seconds. With a
	// RevocationBus it applies only while Run listens on the bus.
	RevocationCacheTTL time.Duration
	// RevocationFallbackTTL replaces RevocationCacheTTL while a
	// RevocationBus is set but not listening: before Run subscribed, and
	// from a failure of the channel until Run listens again. Zero means 5
	// seconds; at most RevocationCacheTTL. Unused without a bus.
	RevocationFallbackTTL time.Duration
	// TokenCacheSize bounds the cache of verified access tokens. Zero means
	// 10000; negative disables the cache.
	TokenCacheSize int

	// OnSessionEvicted, when set, is called after the per-user limit ended
	// a session, so the host can notify the user.
	OnSessionEvicted func(ctx context.Context, info sso.SessionInfo)
	// ErrorHandler renders errors of the middleware and handlers. The
	// default answers ErrNoSession with 401, cross-tenant denials with 404,
	// ErrReauthRequired with 401, sso.ErrUnavailable with 503 and anything
	// else with 500, as JSON without internal detail.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// ClientIP returns the client address recorded on sessions. Zero means
	// the host part of r.RemoteAddr.
	ClientIP func(r *http.Request) string
	// Logger logs failures at the HTTP edge. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Rand is the source of session and refresh tokens. Nil means
	// crypto/rand.Reader.
	Rand io.Reader
	// TracerProvider and MeterProvider receive spans (session check, token
	// refresh) and metrics (active sessions, refresh-token reuse). Nil means
	// the global providers, which cost next to nothing until the host
	// installs an SDK.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization IDs to metric attributes. Off by
	// default to keep metric cardinality bounded.
	TenantMetrics bool
}

// Manager issues, loads and revokes sessions and API tokens. It is safe for
// concurrent use. Create it with New.
type Manager struct {
	cfg        Config
	cookieName string
	now        func() time.Time
	rand       io.Reader
	log        *slog.Logger
	keys       atomic.Pointer[keyring]
	revCache   *revocationCache
	running    atomic.Bool // Run is listening on the RevocationBus
	tokCache   *tokenCache
	parseOpts  []jwt.ParseOption
	tel        *telemetry.T
	network    networkPolicies

	reconcileMu   sync.Mutex // serializes Reconcile
	reconciledAt  time.Time  // where Reconcile's next pass starts
	reconciledAll time.Time  // when Reconcile last looked at every membership
}

var (
	_ sso.SessionIssuer  = (*Manager)(nil)
	_ sso.SessionRevoker = (*Manager)(nil)
	_ sso.MFAElevator    = (*Manager)(nil)
	_ sso.SessionAdmin   = (*Manager)(nil)
)

// New validates cfg and returns a Manager.
func New(cfg Config) (*Manager, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: session: %s", sso.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if cfg.Store == nil {
		return nil, bad("Store is required")
	}
	if cfg.Events == nil {
		return nil, bad("Events is required")
	}
	setDur := func(d *time.Duration, def time.Duration, name string) error {
		if *d < 0 {
			return bad("%s must not be negative", name)
		}
		if *d == 0 {
			*d = def
		}
		return nil
	}
	for _, f := range []struct {
		d    *time.Duration
		def  time.Duration
		name string
	}{
		{&cfg.IdleTimeout, DefaultIdleTimeout, "IdleTimeout"},
		{&cfg.AbsoluteTimeout, DefaultAbsoluteTimeout, "AbsoluteTimeout"},
		{&cfg.AccessTokenTTL, DefaultAccessTokenTTL, "AccessTokenTTL"},
		{&cfg.RefreshTokenTTL, DefaultRefreshTokenTTL, "RefreshTokenTTL"},
		{&cfg.TouchInterval, DefaultTouchInterval, "TouchInterval"},
		{&cfg.RevocationCacheTTL, DefaultRevocationCacheTTL, "RevocationCacheTTL"},
		{&cfg.ConcurrentRefreshGrace, 0, "ConcurrentRefreshGrace"},
	} {
		if err := setDur(f.d, f.def, f.name); err != nil {
			return nil, err
		}
	}
	if cfg.AccessTokenTTL > MaxAccessTokenTTL {
		return nil, bad("AccessTokenTTL %v exceeds %v", cfg.AccessTokenTTL, MaxAccessTokenTTL)
	}
	if cfg.RevocationCacheTTL > time.Minute {
		return nil, bad("RevocationCacheTTL %v exceeds one minute", cfg.RevocationCacheTTL)
	}
	if err := setDur(&cfg.RevocationFallbackTTL, min(DefaultRevocationFallbackTTL, cfg.RevocationCacheTTL), "RevocationFallbackTTL"); err != nil {
		return nil, err
	}
	if cfg.RevocationFallbackTTL > cfg.RevocationCacheTTL {
		return nil, bad("RevocationFallbackTTL %v exceeds RevocationCacheTTL %v", cfg.RevocationFallbackTTL, cfg.RevocationCacheTTL)
	}
	if cfg.IdleTimeout > cfg.AbsoluteTimeout {
		return nil, bad("IdleTimeout exceeds AbsoluteTimeout")
	}
	if cfg.TouchInterval >= cfg.IdleTimeout {
		return nil, bad("TouchInterval must be shorter than IdleTimeout")
	}
	if cfg.ConcurrentRefreshGrace > time.Minute {
		return nil, bad("ConcurrentRefreshGrace %v exceeds one minute", cfg.ConcurrentRefreshGrace)
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.TokenCacheSize == 0 {
		cfg.TokenCacheSize = DefaultTokenCacheSize
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if !validCookieName(cfg.CookieName) {
		return nil, bad("invalid CookieName %q", cfg.CookieName)
	}
	m := &Manager{cfg: cfg, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger,
		tel: telemetry.New("session", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, TenantMetrics: cfg.TenantMetrics})}
	if m.now == nil {
		m.now = time.Now
	}
	if m.rand == nil {
		m.rand = rand.Reader
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.cookieName = cfg.CookieName
	if !cfg.AllowInsecureCookie {
		m.cookieName = "__Host-" + cfg.CookieName
	}
	if cfg.Audience == "" {
		m.cfg.Audience = cfg.Issuer
	}
	m.buildParseOptions()
	if len(cfg.SigningKeys) > 0 && cfg.Memberships == nil {
		return nil, bad("Memberships is required with SigningKeys: refresh reads the member's current roles")
	}
	if len(cfg.SigningKeys) > 0 {
		if err := m.SetSigningKeys(cfg.SigningKeys); err != nil {
			return nil, err
		}
	}
	fallback := cfg.RevocationCacheTTL
	if cfg.RevocationBus != nil {
		fallback = cfg.RevocationFallbackTTL
	}
	m.revCache = newRevocationCache(cfg.RevocationCacheTTL, fallback, 4*max(cfg.TokenCacheSize, 1024))
	if cfg.TokenCacheSize > 0 {
		m.tokCache = newTokenCache(cfg.TokenCacheSize)
	}
	return m, nil
}

func validCookieName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

// CookieName returns the name of the session cookie as sent to browsers.
func (m *Manager) CookieName() string { return m.cookieName }

// newBearer returns a fresh 256-bit URL-safe bearer value.
func (m *Manager) newBearer() (string, error) {
	var b [tokenBytes]byte
	if _, err := io.ReadFull(m.rand, b[:]); err != nil {
		return "", fmt.Errorf("session: read random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// wellFormed reports whether v has the exact shape of a bearer value this
// package issues, so malformed input is rejected before any store access.
func wellFormed(v string) bool {
	if len(v) != tokenLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// policy is the effective lifetime settings of one organization.
type policy struct {
	idle, absolute, access, refresh time.Duration
	maxSessions                     int
}

// policyFor reads the organization's overrides. A missing organization or
// a nil OrgStore yields the configured defaults.
func (m *Manager) policyFor(ctx context.Context, orgID string) (policy, error) {
	return m.policyOf(ctx, orgID, nil)
}

// policyOf is policyFor with the organization the caller already read for
// this request: known is used instead of a read when it is the organization
// orgID, and ignored otherwise (nil, or another organization). A nil
// OrgStore yields the configured defaults whatever known says.
func (m *Manager) policyOf(ctx context.Context, orgID string, known *sso.Organization) (policy, error) {
	p := policy{idle: m.cfg.IdleTimeout, absolute: m.cfg.AbsoluteTimeout, access: m.cfg.AccessTokenTTL,
		refresh: m.cfg.RefreshTokenTTL, maxSessions: m.cfg.MaxSessions}
	if m.cfg.Orgs == nil || orgID == "" {
		return p, nil
	}
	o := known
	if o == nil || o.ID != orgID {
		var err error
		o, err = m.cfg.Orgs.GetOrg(ctx, orgID)
		if errors.Is(err, sso.ErrNotFound) {
			return p, nil
		}
		if err != nil {
			return p, fmt.Errorf("session: read organization: %w", err)
		}
	}
	sp := o.Settings.Session
	if sp.IdleTimeout > 0 {
		p.idle = sp.IdleTimeout
	}
	if sp.AbsoluteTimeout > 0 {
		p.absolute = sp.AbsoluteTimeout
	}
	if p.idle > p.absolute {
		p.idle = p.absolute
	}
	if sp.AccessTokenTTL > 0 {
		p.access = min(sp.AccessTokenTTL, MaxAccessTokenTTL)
	}
	if sp.RefreshTokenTTL > 0 {
		p.refresh = sp.RefreshTokenTTL
	}
	if sp.MaxSessions != 0 {
		p.maxSessions = sp.MaxSessions
	}
	return p, nil
}

func (m *Manager) clientIP(r *http.Request) string {
	if m.cfg.ClientIP != nil {
		return m.cfg.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func actorFrom(ctx context.Context) sso.Actor {
	if p, ok := sso.PrincipalFrom(ctx); ok {
		return sso.Actor{Type: sso.ActorAdmin, ID: p.UserID}
	}
	return sso.Actor{Type: sso.ActorSystem}
}

// audit appends e, filling ID and Time. Failures are logged: an audit
// write never turns a completed security action into an error.
func (m *Manager) audit(ctx context.Context, e *sso.Event) {
	e.ID = opaque.NewID("evt_")
	e.Time = m.now()
	if err := m.cfg.Events.AppendEvent(ctx, e); err != nil {
		m.log.ErrorContext(ctx, "session: audit event not stored", "type", e.Type, "err", err)
	}
}

// Sweep deletes expired sessions, token families and revocation records
// when the stores implement Sweeper, and returns the number of sessions
// deleted. Call it periodically (e.g. every few minutes) from one
// background goroutine; it is safe to run on every replica.
func (m *Manager) Sweep(ctx context.Context) (int, error) {
	now := m.now()
	n := 0
	seen := map[any]bool{}
	for _, st := range []any{m.cfg.Store, m.cfg.Tokens, m.cfg.Revocations} {
		sw, ok := st.(Sweeper)
		if !ok || st == nil || seen[st] {
			continue
		}
		seen[st] = true
		k, err := sw.SweepExpired(ctx, now)
		if err != nil {
			return n, fmt.Errorf("session: sweep: %w", err)
		}
		n += k
	}
	return n, nil
}
