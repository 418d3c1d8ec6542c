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
	"reflect"
	"slices"
	"strings"
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

// Issue creates a new session for g and sets its cookie on w. Any session
// the request presented is ended first, so a planted session ID never
// survives a login (no fixation). It returns the new session. The session
// policy comes from g.Org when that is the organization g.OrgID (login
// completion passes the one it read), and from Config.Orgs otherwise.
func (m *Manager) Issue(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) (*Session, error) {
	if g == nil || g.UserID == "" || g.OrgID == "" {
		return nil, fmt.Errorf("%w: session: grant needs a user and an organization", sso.ErrInvalidInput)
	}
	ctx := r.Context()
	org, err := m.admitNetwork(ctx, r, g.OrgID, g.UserID, g.Org, "login")
	if err != nil {
		return nil, err
	}
	if err := m.endPresented(r); err != nil {
		return nil, err
	}
	if err := m.endReplaced(ctx, g); err != nil {
		return nil, err
	}
	now := m.now()
	if !g.NotAfter.IsZero() && !now.Before(g.NotAfter) {
		return nil, fmt.Errorf("%w: session: the IdP's session bound has passed", sso.ErrInvalidInput)
	}
	mfaAt := g.MFAAt
	if mfaAt.After(now) {
		// An IdP dates its own MFA (AuthnInstant, auth_time): a time after
		// the login must not pass for a second factor verified here later.
		mfaAt = now
	}
	s := &Session{
		UserID: g.UserID, OrgID: g.OrgID, ConnectionID: g.ConnectionID, Method: g.Method,
		Roles: slices.Clone(g.Roles), MFA: g.MFA, MFAAt: mfaAt, AuthAt: now,
		IP: truncate(m.clientIP(r), 64), UserAgent: truncate(r.UserAgent(), 512),
		IdPSessionIndex: g.IdPSessionIndex, IdPSubject: g.IdPSubject,
		// create caps the absolute expiry with this bound.
		ExpiresAt: g.NotAfter,
	}
	if s.IdPLogoutHint, err = m.sealLogoutHint(s, g.IdPLogoutHint); err != nil {
		return nil, err
	}
	writes := g.Writes
	if g.Member != nil || (org != nil && org.ID == g.OrgID) {
		if writes == nil {
			writes = &sso.LoginWrites{}
		}
		writes.Member = g.Member
		if org != nil && org.ID == g.OrgID {
			writes.Org = org
		}
	}
	return m.issueGuarded(ctx, w, r, s, org, writes, now)
}

// issueAttempts bounds how often issueGuarded writes a login's session
// when the organization or membership keeps changing under it.
const issueAttempts = 4

// issueGuarded creates s with writes. When the write finds the
// organization saved since the login read it (sso.ErrOrgChanged), it
// applies the login's checks again to the organization as it is now; when
// it finds the membership changed (sso.ErrMembershipChanged), it takes the
// member's current roles (asMemberNow). Either may refuse the login.
func (m *Manager) issueGuarded(ctx context.Context, w http.ResponseWriter, r *http.Request, s *Session, org *sso.Organization,
	writes *sso.LoginWrites, now time.Time) (*Session, error) {
	for range issueAttempts {
		created, err := m.create(ctx, w, s, org, writes, now)
		switch {
		case errors.Is(err, sso.ErrOrgChanged):
			org, err = m.readmit(ctx, r, s, writes)
		case errors.Is(err, sso.ErrMembershipChanged):
			err = m.asMemberNow(ctx, s, org, writes)
		default:
			return created, err
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: session: the organization or membership kept changing during the login", sso.ErrUnavailable)
}

// readmit applies a login's checks to its organization as stored now,
// after the login's write found it saved since the login read it: the
// network policy, and for a local sign-in method SSO enforcement and the
// organization's choice of methods. It returns the organization and
// points writes at it.
func (m *Manager) readmit(ctx context.Context, r *http.Request, s *Session, writes *sso.LoginWrites) (*sso.Organization, error) {
	org, err := m.orgNow(ctx, s.OrgID, sso.ErrOrgChanged)
	if err != nil {
		return nil, err
	}
	if org, err = m.admitNetwork(ctx, r, s.OrgID, s.UserID, org, "login"); err != nil {
		return nil, err
	}
	if err := m.localAdmits(ctx, s, org, writes.Member); err != nil {
		return nil, err
	}
	m.log.InfoContext(ctx, "session: the organization changed during the login; its checks passed again",
		"org_id", s.OrgID, "user_id", s.UserID)
	writes.Org = org
	return org, nil
}

// orgNow reads organization id as stored now, for a login whose write
// failed with cause; without Config.Orgs the login fails with cause.
func (m *Manager) orgNow(ctx context.Context, id string, cause error) (*sso.Organization, error) {
	if m.cfg.Orgs == nil {
		return nil, fmt.Errorf("session: create: %w", cause)
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("%w: session: read organization: %w", sso.ErrUnavailable, err)
	}
	return org, nil
}

// localAdmits applies SSO enforcement and the organization's choice of
// sign-in methods to s, with mem the membership as the login holds it
// (read when nil). A local login (sso.AuthMethod.Local) into an
// organization that enforces SSO needs an active break-glass member; a
// sign-in method the organization turned off is refused, except a password
// to a break-glass member. A session switched in from another organization
// needs an organization that does not enforce SSO; logins through an IdP
// pass. Logins, re-checks and SwitchOrg all apply these rules here.
func (m *Manager) localAdmits(ctx context.Context, s *Session, org *sso.Organization, mem *sso.Membership) error {
	if s.Method == sso.AuthSwitch && org.EnforcesSSO() {
		// A session switched in from another organization is not a login
		// through this organization's IdP.
		return &sso.ValidationError{Protocol: Protocol, Reason: "sso_required", Err: sso.ErrSSORequired}
	}
	if !s.Method.Local() {
		return nil
	}
	if mem == nil && m.cfg.Memberships != nil {
		cur, err := m.cfg.Memberships.GetMembership(ctx, s.OrgID, s.UserID)
		if err != nil && !errors.Is(err, sso.ErrNotFound) {
			return fmt.Errorf("%w: session: read membership: %w", sso.ErrUnavailable, err)
		}
		mem = cur
	}
	breakGlass := mem != nil && mem.BreakGlass && mem.Active()
	if org.EnforcesSSO() && !breakGlass {
		return &sso.ValidationError{Protocol: Protocol, Reason: "sso_required", Err: sso.ErrSSORequired}
	}
	if slices.Contains(sso.LocalSignInMethods(), s.Method) && org.SignInVerdict(s.Method) != sso.SignInAllowed &&
		!(s.Method == sso.AuthPassword && breakGlass) {
		return &sso.ValidationError{Protocol: Protocol, Reason: "method_disabled", Err: sso.ErrAccessDenied}
	}
	return nil
}

// asMemberNow prepares s for another write after its login's write found
// the membership changed since the login read it
// (sso.ErrMembershipChanged): with the roles the member holds now when the
// membership is still active, or a refusal naming the membership's state,
// or sso_required (method_disabled) when a local login that rested on the
// break-glass flag lost it.
func (m *Manager) asMemberNow(ctx context.Context, s *Session, org *sso.Organization, writes *sso.LoginWrites) error {
	if m.cfg.Memberships == nil {
		return fmt.Errorf("session: create: %w", sso.ErrMembershipChanged)
	}
	cur, err := m.cfg.Memberships.GetMembership(ctx, s.OrgID, s.UserID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonMembershipRemoved, Err: sso.ErrAccessDenied}
	case err != nil:
		return fmt.Errorf("%w: session: read membership: %w", sso.ErrUnavailable, err)
	case !cur.Active():
		return &sso.ValidationError{Protocol: Protocol, Reason: "membership_" + string(cur.Status), Err: sso.ErrAccessDenied}
	}
	if writes.Member.BreakGlass && !cur.BreakGlass {
		if org == nil || org.ID != s.OrgID {
			if org, err = m.orgNow(ctx, s.OrgID, sso.ErrMembershipChanged); err != nil {
				return err
			}
		}
		if err := m.localAdmits(ctx, s, org, cur); err != nil {
			return err
		}
	}
	m.log.InfoContext(ctx, "session: the membership changed during the login; issuing with its current roles",
		"org_id", s.OrgID, "user_id", s.UserID)
	s.Roles, writes.Member = slices.Clone(cur.Roles), cur
	return nil
}

// IssueSession implements sso.SessionIssuer.
func (m *Manager) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	_, err := m.Issue(w, r, g)
	return err
}

// create stores s with a fresh ID, token and lifetimes (CreatedAt now,
// keeping s.AuthAt) and sets the cookie. org, when it is s's organization,
// supplies the lifetimes without a read (see policyOf); nil reads it.
// writes, when the store is a LoginWriter, are written in the session's
// transaction and marked Written; otherwise what they guard is confirmed
// once the session is written (confirmWrites).
func (m *Manager) create(ctx context.Context, w http.ResponseWriter, s *Session, org *sso.Organization, writes *sso.LoginWrites, now time.Time) (*Session, error) {
	p, err := m.policyOf(ctx, s.OrgID, org)
	if err != nil {
		return nil, err
	}
	bearer, err := m.newBearer()
	if err != nil {
		return nil, err
	}
	s.ID = opaque.NewID("ses_")
	s.TokenHash = opaque.Hash(bearer)
	s.CreatedAt, s.LastSeenAt = now, now
	if s.AuthAt.IsZero() {
		s.AuthAt = now
	}
	// A re-issued session keeps the absolute deadline of the login it
	// descends from, and never outlives a bound already set on it (the
	// IdP's SessionNotOnOrAfter, or the deadline of the session it
	// replaces).
	exp := s.AuthAt.Add(p.absolute)
	if !s.ExpiresAt.IsZero() && s.ExpiresAt.Before(exp) {
		exp = s.ExpiresAt
	}
	s.ExpiresAt = exp
	s.IdleTimeout = p.idle
	limit := p.maxSessions
	if limit < 0 {
		limit = 0
	}
	if writes != nil && !writes.Written && limit > 0 && m.eventsWithSessions() {
		writes.Evicted = evictionEvent(s, limit, now)
	}
	evicted, err := m.insert(ctx, s, limit, writes)
	if err != nil {
		return nil, fmt.Errorf("session: create: %w", err)
	}
	m.sessionsChanged(ctx, 1-len(evicted))
	for _, e := range evicted {
		m.ended(ctx, e, now)
		if writes == nil || !writes.Written || writes.Evicted == nil {
			ev := evictionEvent(e, limit, now)
			ev.Target.ID = e.ID
			m.audit(ctx, ev)
		}
		if m.cfg.OnSessionEvicted != nil {
			m.cfg.OnSessionEvicted(ctx, e.Info())
		}
	}
	if err := m.confirmWrites(ctx, s, writes); err != nil {
		// No cookie names s: ending it is tidiness, not safety.
		if endErr := m.end(ctx, s); endErr != nil {
			m.log.WarnContext(ctx, "session: could not end a session its login's re-check refused", "session_id", s.ID, "err", endErr)
		}
		return nil, err
	}
	m.setCookie(w, bearer, s.ExpiresAt)
	return s, nil
}

// evictionEvent is the audit event of a session of s's user and
// organization ended by the session limit, without its ID and target ID
// (sso.LoginWrites.Evicted).
func evictionEvent(s *Session, limit int, now time.Time) *sso.Event {
	return &sso.Event{ID: opaque.NewID("evt_"), OrgID: s.OrgID, Time: now, Type: EventLimitExceeded,
		Actor: sso.Actor{Type: sso.ActorSystem}, Target: sso.Target{Type: "session"},
		Outcome: sso.OutcomeSuccess, Reason: "session_limit",
		Details: map[string]string{"user_id": s.UserID, "limit": fmt.Sprint(limit)}}
}

// eventsWithSessions reports whether the audit trail is the session
// store's own, so a LoginWriter can append the events of a login's
// evictions in the session's transaction.
func (m *Manager) eventsWithSessions() bool {
	if _, ok := m.cfg.Store.(LoginWriter); !ok || m.cfg.Events == nil {
		return false
	}
	ev, st := any(sso.BaseEventStore(m.cfg.Events)), any(m.cfg.Store)
	t := reflect.TypeOf(ev)
	return t == reflect.TypeOf(st) && t.Comparable() && ev == st
}

// insert creates s, with writes in the same transaction when the store is a
// LoginWriter.
func (m *Manager) insert(ctx context.Context, s *Session, limit int, writes *sso.LoginWrites) ([]*Session, error) {
	lw, ok := m.cfg.Store.(LoginWriter)
	if writes == nil || writes.Written || !ok {
		return m.cfg.Store.CreateSession(ctx, s, limit)
	}
	evicted, err := lw.CreateLoginSession(ctx, s, limit, writes)
	if err == nil {
		writes.Written = true
	}
	return evicted, err
}

// ended revokes what hangs off a session that was removed from the store:
// its refresh-token families and the access tokens naming it.
func (m *Manager) ended(ctx context.Context, s *Session, now time.Time) error {
	var errs []error
	if m.cfg.Tokens != nil {
		errs = append(errs, m.cfg.Tokens.RevokeSessionTokens(ctx, s.ID, now))
	}
	if m.cfg.Revocations != nil {
		errs = append(errs, m.revoke(ctx, revKey{kind: revSession, id: s.ID}, now))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("session: revoke tokens of session: %w", err)
	}
	return nil
}

// endPresented deletes every valid session a cookie of r names: normally
// one; when cookies were tossed in under the same name, all of them, so a
// logout or login never leaves the legitimate one alive.
func (m *Manager) endPresented(r *http.Request) error {
	for _, v := range m.cookieValues(r) {
		s, err := m.lookup(r.Context(), v)
		if err != nil {
			return err
		}
		if s == nil {
			continue
		}
		if err := m.end(r.Context(), s); err != nil {
			return err
		}
	}
	return nil
}

// end deletes s and revokes its tokens.
func (m *Manager) end(ctx context.Context, s *Session) error {
	if err := m.cfg.Store.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, sso.ErrNotFound) {
		return fmt.Errorf("session: delete: %w", err)
	} else if err == nil {
		m.sessionsChanged(ctx, -1)
	}
	return m.ended(ctx, s, m.now())
}

func (m *Manager) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	c := &http.Cookie{
		Name: m.cookieName, Value: value, Path: "/", HttpOnly: true,
		Secure: !m.cfg.AllowInsecureCookie, SameSite: http.SameSiteLaxMode,
	}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires.UTC()
	}
	http.SetCookie(w, c)
}

// ClearCookie expires the session cookie on w.
func (m *Manager) ClearCookie(w http.ResponseWriter) { m.setCookie(w, "", time.Time{}) }

// lookupCookie returns the valid session named by r's cookie, nil when there
// is none (or it is malformed, unknown, expired, or ambiguous because r
// carries several cookies of that name), or an error wrapping
// sso.ErrUnavailable when the store failed. Malformed cookies never reach
// the store.
func (m *Manager) lookupCookie(r *http.Request) (*Session, error) {
	v, ok := m.cookieValue(r)
	if !ok {
		return nil, nil
	}
	return m.lookup(r.Context(), v)
}

// lookup returns the valid session of the bearer value v, nil when v is
// malformed, unknown or expired.
func (m *Manager) lookup(ctx context.Context, v string) (*Session, error) {
	if !wellFormed(v) {
		return nil, nil
	}
	s, err := m.cfg.Store.FindSession(ctx, opaque.Hash(v))
	if errors.Is(err, sso.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: session: find: %w", sso.ErrUnavailable, err)
	}
	if !s.Valid(m.now()) {
		return nil, nil
	}
	return s, nil
}

// cookieValue returns the value of the session cookie in r without parsing
// (and allocating) every other cookie. ok is false when there is none or
// when there are several: a second cookie of the same name comes from
// cookie tossing (a sibling subdomain or a path-scoped cookie, which the
// browser sends first), and picking either could log the user into the
// attacker's session. Quoted values are not accepted: the cookie this
// package sets is never quoted.
func (m *Manager) cookieValue(r *http.Request) (value string, ok bool) {
	n := 0
	m.eachCookie(r, func(v string) {
		if n == 0 {
			value = v
		}
		n++
	})
	return value, n == 1
}

// cookieValues returns the values of every session cookie in r.
func (m *Manager) cookieValues(r *http.Request) []string {
	var out []string
	m.eachCookie(r, func(v string) { out = append(out, v) })
	return out
}

func (m *Manager) eachCookie(r *http.Request, f func(v string)) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			name, val, ok := strings.Cut(part, "=")
			if ok && name == m.cookieName {
				f(val)
			}
		}
	}
}

// Current returns the valid session of r's cookie, or ErrNoSession.
func (m *Manager) Current(r *http.Request) (*Session, error) {
	s, err := m.fromCookie(r)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ErrNoSession
	}
	return s, nil
}

// Logout ends the request's session (and its token families and access
// tokens) and clears the cookie. A request without a session is not an
// error.
func (m *Manager) Logout(w http.ResponseWriter, r *http.Request) error {
	m.ClearCookie(w)
	return m.endPresented(r)
}

// Reissue rotates the request's session after a privilege change (for
// example new roles): a new ID and cookie, the old session ended. mutate,
// when non-nil, edits the new session before it is stored.
func (m *Manager) Reissue(w http.ResponseWriter, r *http.Request, mutate func(*Session)) (*Session, error) {
	return m.reissue(w, r, mutate, nil, nil)
}

// reissue is Reissue; with member, the membership the new session's roles
// were copied from, and org, the organization its checks read, the session
// is written only while they are unchanged (sso.LoginWrites.Member, Org),
// else as issueGuarded decides.
func (m *Manager) reissue(w http.ResponseWriter, r *http.Request, mutate func(*Session), member *sso.Membership, org *sso.Organization) (*Session, error) {
	old, err := m.Current(r)
	if err != nil {
		return nil, err
	}
	ns := *old
	ns.Roles = slices.Clone(old.Roles)
	if mutate != nil {
		mutate(&ns)
	}
	if err := m.end(r.Context(), old); err != nil {
		return nil, err
	}
	if member == nil && org == nil {
		return m.create(r.Context(), w, &ns, nil, nil, m.now())
	}
	if org != nil && org.ID != ns.OrgID {
		org = nil
	}
	return m.issueGuarded(r.Context(), w, r, &ns, org, &sso.LoginWrites{Member: member, Org: org}, m.now())
}

// ElevateMFA implements sso.MFAElevator: it records a completed second
// factor and rotates the session.
func (m *Manager) ElevateMFA(w http.ResponseWriter, r *http.Request, at time.Time) error {
	_, err := m.Reissue(w, r, func(s *Session) { s.MFA, s.MFAAt = true, at })
	return err
}

// RevokeUser implements sso.SessionRevoker: it ends every session and
// refresh-token family of the user, in every organization, and revokes
// their access tokens (which stop on every replica as soon as the
// RevocationBus delivers the news, and within RevocationCacheTTL without
// one). It is a user-level action: a password reset of the global account,
// the user's own "sign out everywhere", a platform operator's lock. An
// organization's action (its administrators, directory or policy) must use
// RevokeOrgSessions, which leaves the user's other organizations alone.
func (m *Manager) RevokeUser(ctx context.Context, userID string) error {
	now := m.now()
	var errs []error
	if n, err := m.cfg.Store.DeleteUserSessions(ctx, userID); err != nil {
		errs = append(errs, err)
	} else {
		m.sessionsChanged(ctx, -n)
	}
	if m.cfg.Tokens != nil {
		errs = append(errs, m.cfg.Tokens.RevokeUserTokens(ctx, userID, now))
	}
	if m.cfg.Revocations != nil {
		errs = append(errs, m.revoke(ctx, revKey{kind: revUser, id: userID}, now))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("session: revoke user: %w", err)
	}
	return nil
}

// ListUserSessions returns the user's valid sessions, oldest first, for a
// "your devices" page.
func (m *Manager) ListUserSessions(ctx context.Context, userID string) ([]sso.SessionInfo, error) {
	ss, err := m.cfg.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	now := m.now()
	out := []sso.SessionInfo{}
	for _, s := range ss {
		if s.Valid(now) {
			out = append(out, s.Info())
		}
	}
	return out, nil
}

// RevokeUserSession ends one of the user's own sessions. A session of
// another user is reported as sso.ErrNotFound.
func (m *Manager) RevokeUserSession(ctx context.Context, userID, sessionID string) error {
	s, err := m.cfg.Store.GetSession(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	if s.UserID != userID {
		return fmt.Errorf("session: revoke: %w", sso.ErrNotFound)
	}
	return m.end(ctx, s)
}

// RevokeOtherSessions ends every session of the user except keepID ("sign
// out other devices"), in every organization: a user-level action the user
// takes for themself. Pass "" to end them all.
func (m *Manager) RevokeOtherSessions(ctx context.Context, userID, keepID string) error {
	ss, err := m.cfg.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("session: list: %w", err)
	}
	var errs []error
	for _, s := range ss {
		if s.ID != keepID {
			errs = append(errs, m.end(ctx, s))
		}
	}
	return errors.Join(errs...)
}

// ListSessions implements sso.SessionAdmin: the valid sessions of userID
// in orgID.
func (m *Manager) ListSessions(ctx context.Context, orgID, userID string) ([]sso.SessionInfo, error) {
	all, err := m.ListUserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, s := range all {
		if s.OrgID == orgID {
			out = append(out, s)
		}
	}
	return out, nil
}

// RevokeSession implements sso.SessionAdmin: an administrator of orgID ends
// one session. A session of another organization is sso.ErrNotFound. The
// audit event names the principal in ctx, if any, as the actor.
func (m *Manager) RevokeSession(ctx context.Context, orgID, sessionID string) error {
	s, err := m.cfg.Store.GetSession(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	if s.OrgID != orgID {
		return fmt.Errorf("session: revoke: %w", sso.ErrNotFound)
	}
	if err := m.end(ctx, s); err != nil {
		return err
	}
	m.audit(ctx, &sso.Event{OrgID: orgID, Type: sso.EventSessionRevoked, Actor: actorFrom(ctx),
		Target: sso.Target{Type: "session", ID: s.ID}, Outcome: sso.OutcomeSuccess, Reason: "admin_revoked",
		Details: map[string]string{"user_id": s.UserID}})
	return nil
}

// ForceLogout ends every session in orgID of userID, with the token
// families of those sessions: an administrator's force-logout within their
// own organization. Sessions the user holds in other organizations are not
// touched.
func (m *Manager) ForceLogout(ctx context.Context, orgID, userID string) error {
	ss, err := m.cfg.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return fmt.Errorf("session: list: %w", err)
	}
	var errs []error
	n := 0
	for _, s := range ss {
		if s.OrgID == orgID {
			errs = append(errs, m.end(ctx, s))
			n++
		}
	}
	m.audit(ctx, &sso.Event{OrgID: orgID, Type: sso.EventSessionRevoked, Actor: actorFrom(ctx),
		Target: sso.Target{Type: "user", ID: userID}, Outcome: sso.OutcomeSuccess, Reason: "force_logout",
		Details: map[string]string{"sessions": fmt.Sprint(n)}})
	return errors.Join(errs...)
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
