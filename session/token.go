package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Protocol is the sso.Protocol of the *sso.ValidationError values this
// package returns for rejected tokens.
const Protocol sso.Protocol = "session"

// Rejection reasons of access and refresh tokens (the Reason of the
// *sso.ValidationError).
const (
	ReasonMalformed         = "malformed"
	ReasonSignature         = "signature_invalid"
	ReasonExpired           = "expired"
	ReasonRevoked           = "revoked"
	ReasonUnknownToken      = "unknown_token"
	ReasonRefreshReused     = "refresh_reused"
	ReasonConcurrentRefresh = "concurrent_refresh"
	ReasonClientMismatch    = "client_mismatch"
	ReasonOrgMismatch       = "org_mismatch"
	// ReasonSessionEnded refuses a refresh token whose browser session
	// ended without revoking it: the session timed out (idle or absolute)
	// or is gone from the store. The family is revoked with it.
	ReasonSessionEnded = "session_ended"
	// ReasonMembershipRemoved refuses a login whose membership was removed
	// while it was being completed; a suspended or deactivated one is
	// refused as "membership_suspended" or "membership_deactivated".
	ReasonMembershipRemoved = "membership_removed"
)

// maxTokenSize bounds an access token; longer input is rejected unparsed.
const maxTokenSize = 4096

// Claims are the verified claims of an access token.
type Claims struct {
	ID        string
	Subject   string
	OrgID     string
	SessionID string
	ClientID  string
	Roles     []string
	Scopes    []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// Client is true for a client-credentials token: Subject, SessionID
	// and ClientID are the API client's ID.
	Client bool
	// Actor is the client acting for Subject in an exchanged token (the
	// RFC 8693 "act" claim's sub).
	Actor string
}

// TokenPair is what IssueTokens and Refresh return.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	// ExpiresIn is the access token's lifetime.
	ExpiresIn time.Duration
	Scopes    []string
}

// TokenOptions are the per-grant options of IssueTokens.
type TokenOptions struct {
	// ClientID binds the refresh token to an OAuth client: refreshing with a
	// different client_id fails.
	ClientID string
	// Scopes are recorded in the tokens' "scope" claim.
	Scopes []string
}

func (m *Manager) tokensEnabled() bool { return m.keys.Load() != nil && m.cfg.Tokens != nil }

// IssueTokens starts a new refresh-token family for session s and returns
// its first access and refresh token. The family lives no longer than s:
// see Refresh.
func (m *Manager) IssueTokens(ctx context.Context, s *Session, opts TokenOptions) (*TokenPair, error) {
	if !m.tokensEnabled() {
		return nil, ErrTokensDisabled
	}
	if s == nil || s.ID == "" || s.UserID == "" {
		return nil, fmt.Errorf("%w: session: IssueTokens needs a stored session", sso.ErrInvalidInput)
	}
	p, err := m.policyFor(ctx, s.OrgID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	if !s.Valid(now) {
		return nil, fmt.Errorf("%w: session: IssueTokens needs a session that has not ended", sso.ErrInvalidInput)
	}
	bearer, err := m.newBearer()
	if err != nil {
		return nil, err
	}
	rt := &RefreshToken{
		Hash: opaque.Hash(bearer), FamilyID: opaque.NewID("fam_"), UserID: s.UserID, OrgID: s.OrgID,
		SessionID: s.ID, ClientID: opts.ClientID, Roles: slices.Clone(s.Roles), Scopes: slices.Clone(opts.Scopes),
		CreatedAt: now, ExpiresAt: capAt(now.Add(p.refresh), s.ExpiresAt),
	}
	if err := m.cfg.Tokens.CreateRefreshToken(ctx, rt); err != nil {
		return nil, fmt.Errorf("session: store refresh token: %w", err)
	}
	ttl := sessionTTL(p.access, s, now)
	at, err := m.signAccess(rt, now, ttl)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, RefreshToken: bearer, ExpiresIn: ttl, Scopes: rt.Scopes}, nil
}

// capAt is t, or bound when bound is set and earlier.
func capAt(t, bound time.Time) time.Time {
	if !bound.IsZero() && bound.Before(t) {
		return bound
	}
	return t
}

// sessionTTL is an access token's lifetime ttl, cut to end with session s
// (nil for a token bound to none): no token outlives its session's
// absolute expiry.
func sessionTTL(ttl time.Duration, s *Session, now time.Time) time.Duration {
	if s == nil || s.ExpiresAt.IsZero() {
		return ttl
	}
	return capAt(now.Add(ttl), s.ExpiresAt).Sub(now)
}

// signAccess signs an access token carrying rt's grant.
// tokenExtras are the claims of client and exchanged tokens beyond a
// refresh family's: another audience, the acting client (RFC 8693 "act"),
// and the client principal marker.
type tokenExtras struct {
	audience string
	actor    string
	client   bool
}

func (m *Manager) signAccess(rt *RefreshToken, now time.Time, ttl time.Duration) (string, error) {
	return m.signToken(rt, tokenExtras{}, now, ttl)
}

func (m *Manager) signToken(rt *RefreshToken, x tokenExtras, now time.Time, ttl time.Duration) (string, error) {
	kr := m.keys.Load()
	e := kr.signer(now)
	if e == nil {
		return "", fmt.Errorf("%w: session: no signing key is active", sso.ErrInvalidConfig)
	}
	roles := rt.Roles
	if roles == nil {
		roles = []string{}
	}
	aud := m.cfg.Audience
	if x.audience != "" {
		aud = x.audience
	}
	b := jwt.NewBuilder().
		Issuer(m.cfg.Issuer).Audience([]string{aud}).Subject(rt.UserID).
		IssuedAt(now).Expiration(now.Add(ttl)).JwtID(opaque.NewID("")).
		Claim("org", rt.OrgID).Claim("sid", rt.SessionID).Claim("roles", roles).
		Claim("scope", strings.Join(rt.Scopes, " "))
	if rt.ClientID != "" {
		b = b.Claim("client_id", rt.ClientID)
	}
	if x.actor != "" {
		b = b.Claim("act", map[string]string{"sub": x.actor})
	}
	if x.client {
		b = b.Claim("token_use", "client")
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("session: build access token: %w", err)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.TypeKey, accessTokenType)
	signed, err := jwt.Sign(tok, jwt.WithKey(e.alg, e.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("session: sign access token: %w", err)
	}
	return string(signed), nil
}

// VerifyAccessToken checks an access token's signature (by its kid, with
// the algorithm configured for that key), type, issuer, audience, expiry and
// the revocation of its user and session, and returns its claims. Failures
// are *sso.ValidationError values with a Reason constant of this package.
// The returned Claims may be shared with the cache and must be treated as
// read-only.
// A token verified before is served from a bounded cache keyed by its hash,
// never past its expiry and never past a revocation.
func (m *Manager) VerifyAccessToken(ctx context.Context, token string) (_ *Claims, err error) {
	defer func() { m.tokenRejected(ctx, err) }()
	kr := m.keys.Load()
	if kr == nil {
		return nil, ErrTokensDisabled
	}
	if len(token) == 0 || len(token) > maxTokenSize {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed}
	}
	now := m.now()
	var key [32]byte
	if m.tokCache != nil {
		key = sha256.Sum256([]byte(token))
		if c, ok := m.tokCache.get(key); ok {
			if !now.Before(c.ExpiresAt) {
				m.tokCache.remove(key)
				return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonExpired}
			}
			if err := m.checkRevoked(ctx, c); err != nil {
				return nil, err
			}
			return c, nil
		}
	}
	tok, err := jwt.ParseString(token, m.parseOpts...)
	if err != nil {
		switch {
		case errors.Is(err, jwt.ErrTokenExpired()):
			return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonExpired, Err: err}
		case errors.Is(err, errKey), jws.IsVerificationError(err):
			// errKey: unknown or inactive kid, wrong alg or typ.
			return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonSignature, Err: err}
		}
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Err: err}
	}
	c, err := claimsOf(tok)
	if err != nil {
		return nil, err
	}
	if err := m.checkRevoked(ctx, c); err != nil {
		return nil, err
	}
	if m.tokCache != nil {
		m.tokCache.put(key, c)
	}
	return c, nil
}

// buildParseOptions prepares the jwx options of VerifyAccessToken once;
// the key provider and clock read the Manager's current keys and time.
func (m *Manager) buildParseOptions() {
	m.parseOpts = []jwt.ParseOption{
		jwt.WithKeyProvider(keyProvider{m: m}),
		jwt.WithValidate(true),
		jwt.WithClock(jwt.ClockFunc(m.now)),
		jwt.WithIssuer(m.cfg.Issuer), jwt.WithAudience(m.cfg.Audience),
		jwt.WithRequiredClaim(jwt.IssuedAtKey), jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.SubjectKey), jwt.WithRequiredClaim(jwt.JwtIDKey),
		jwt.WithRequiredClaim("sid"), jwt.WithRequiredClaim("org"),
	}
}

func claimsOf(tok jwt.Token) (*Claims, error) {
	c := &Claims{ID: tok.JwtID(), Subject: tok.Subject(), IssuedAt: tok.IssuedAt(), ExpiresAt: tok.Expiration()}
	str := func(name string) (string, bool) {
		v, ok := tok.Get(name)
		if !ok {
			return "", true
		}
		s, ok := v.(string)
		return s, ok
	}
	var ok1, ok2, ok3, ok4 bool
	c.OrgID, ok1 = str("org")
	c.SessionID, ok2 = str("sid")
	c.ClientID, ok3 = str("client_id")
	scope, ok4 := str("scope")
	if !ok1 || !ok2 || !ok3 || !ok4 || c.Subject == "" || c.OrgID == "" || c.SessionID == "" {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Err: errors.New("session: bad claim types")}
	}
	if c.ExpiresAt.Sub(c.IssuedAt) > MaxAccessTokenTTL {
		// No token this package signs lives longer; a longer one was not
		// minted here (or by a leaked retired key).
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Err: errors.New("session: token lifetime exceeds the maximum")}
	}
	if scope != "" {
		c.Scopes = strings.Fields(scope)
	}
	use, ok := str("token_use")
	if !ok || (use != "" && use != "client") {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Err: errors.New("session: bad token_use")}
	}
	c.Client = use == "client"
	if v, ok := tok.Get("act"); ok {
		act, ok := v.(map[string]any)
		sub, _ := act["sub"].(string)
		if !ok || sub == "" {
			return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Err: errors.New("session: bad act claim")}
		}
		c.Actor = sub
	}
	if v, ok := tok.Get("roles"); ok {
		list, ok := v.([]any)
		if !ok {
			return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Err: errors.New("session: roles is not a list")}
		}
		c.Roles = make([]string, 0, len(list))
		for _, r := range list {
			s, ok := r.(string)
			if !ok {
				return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed, Err: errors.New("session: role is not a string")}
			}
			c.Roles = append(c.Roles, s)
		}
	}
	return c, nil
}

// checkRevoked rejects a token whose user was revoked at or after the
// second it was issued in, or whose session ended.
func (m *Manager) checkRevoked(ctx context.Context, c *Claims) error {
	at, err := m.revokedAt(ctx, revKey{kind: revUser, id: c.Subject})
	if err != nil {
		return err
	}
	if !at.IsZero() && c.IssuedAt.Unix() <= at.Unix() {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonRevoked}
	}
	at, err = m.revokedAt(ctx, revKey{kind: revSession, id: c.SessionID})
	if err != nil {
		return err
	}
	if !at.IsZero() {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonRevoked}
	}
	return nil
}

// revokedAt reads a subject's revocation time through the cache. A read
// that raced with an eviction of the subject (a revocation heard from
// another replica) is returned but not cached: it may predate the
// revocation.
func (m *Manager) revokedAt(ctx context.Context, subject revKey) (time.Time, error) {
	now := m.now()
	if at, ok := m.revCache.get(subject, now); ok {
		return at, nil
	}
	gen := m.revCache.generation(subject)
	at, err := m.cfg.Revocations.GetRevocation(ctx, subject.String())
	if errors.Is(err, sso.ErrNotFound) {
		at, err = time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: session: read revocation: %w", sso.ErrUnavailable, err)
	}
	m.revCache.put(subject, at, now, gen)
	return at, nil
}

// LoadBearer is middleware that authenticates a request carrying
// "Authorization: Bearer <access token>": a valid token puts an
// sso.Principal of kind access_token (or client, for an API client's
// token) in the context. A request without an Authorization header, or
// with another scheme, passes through unauthenticated (combine with
// Require); a present but invalid bearer token is answered 401 at once,
// with no detail.
func (m *Manager) LoadBearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		const prefix = "bearer "
		scheme, _, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "bearer") {
			// Another scheme (HTTP Basic of an API client at the token
			// endpoint, say) is not this middleware's to judge.
			next.ServeHTTP(w, r)
			return
		}
		if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
			m.bearerFail(w, r, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed})
			return
		}
		c, err := m.VerifyAccessToken(r.Context(), strings.TrimSpace(h[len(prefix):]))
		if err != nil {
			m.bearerFail(w, r, err)
			return
		}
		if _, err := m.admitNetwork(r.Context(), r, c.OrgID, c.Subject, nil, "access_token"); err != nil {
			m.fail(w, r, err)
			return
		}
		// AuthAt stays zero: a refreshed token's iat says nothing about when
		// the user last authenticated, so RequireRecentAuth refuses bearer
		// principals.
		p := &sso.Principal{Kind: sso.PrincipalAccessToken, SessionID: c.SessionID, UserID: c.Subject,
			OrgID: c.OrgID, Roles: c.Roles, Scopes: c.Scopes, ClientID: c.ClientID}
		if c.Client {
			p = &sso.Principal{Kind: sso.PrincipalClient, OrgID: c.OrgID, Scopes: c.Scopes, ClientID: c.ClientID}
		}
		next.ServeHTTP(w, r.WithContext(sso.WithPrincipal(r.Context(), p)))
	})
}

func (m *Manager) bearerFail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *sso.ValidationError
	if errors.As(err, &ve) || errors.Is(err, ErrTokensDisabled) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		m.fail(w, r, fmt.Errorf("%w: %w", ErrNoSession, err))
		return
	}
	m.fail(w, r, err)
}

// tokenCache is a bounded map of verified access tokens keyed by the
// SHA-256 of the token. When full, an arbitrary entry is evicted.
type tokenCache struct {
	mu  sync.RWMutex
	max int
	m   map[[32]byte]*Claims
}

func newTokenCache(n int) *tokenCache {
	return &tokenCache{max: n, m: make(map[[32]byte]*Claims, min(n, 1024))}
}

func (c *tokenCache) get(k [32]byte) (*Claims, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *tokenCache) put(k [32]byte, v *Claims) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
	c.mu.Unlock()
}

func (c *tokenCache) remove(k [32]byte) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// revKey names a revocation subject without building its string form on
// the hot path.
type revKey struct {
	kind uint8
	id   string
}

const (
	revUser uint8 = iota + 1
	revSession
)

// String returns the subject as stored: "user:<id>" or "session:<id>".
func (k revKey) String() string {
	if k.kind == revUser {
		return "user:" + k.id
	}
	return "session:" + k.id
}

// revocationCache caches subjects' revocation times: for ttl while live
// (a RevocationBus is listening, or none is configured), for fallback
// otherwise. Evictions advance a generation, kept per stripe of subjects
// and for the whole cache, so that a store read that began before an
// eviction cannot put its possibly stale result back.
type revocationCache struct {
	mu            sync.RWMutex
	ttl, fallback time.Duration
	live          atomic.Bool
	max           int
	m             map[revKey]revEntry
	epoch         uint64
	gens          [revStripes]uint64
}

// revStripes is the number of per-subject generation counters.
const revStripes = 64

type revEntry struct {
	at      time.Time
	fetched time.Time
}

// revGen is a point in the eviction history of one subject.
type revGen struct{ epoch, stripe uint64 }

// newRevocationCache returns a cache of at most n subjects. With
// fallback equal to ttl the live flag makes no difference.
func newRevocationCache(ttl, fallback time.Duration, n int) *revocationCache {
	return &revocationCache{ttl: ttl, fallback: fallback, max: n, m: make(map[revKey]revEntry)}
}

func stripe(subject revKey) int {
	h := uint32(2166136261) ^ uint32(subject.kind)
	for i := 0; i < len(subject.id); i++ {
		h = (h ^ uint32(subject.id[i])) * 16777619
	}
	return int(h % revStripes)
}

func (c *revocationCache) get(subject revKey, now time.Time) (time.Time, bool) {
	ttl := c.fallback
	if c.live.Load() {
		ttl = c.ttl
	}
	c.mu.RLock()
	e, ok := c.m[subject]
	c.mu.RUnlock()
	if !ok || now.Sub(e.fetched) >= ttl || now.Before(e.fetched) {
		return time.Time{}, false
	}
	return e.at, true
}

// generation returns the eviction point of subject to pass to put.
func (c *revocationCache) generation(subject revKey) revGen {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return revGen{epoch: c.epoch, stripe: c.gens[stripe(subject)]}
}

// put caches at as fetched at now, unless subject (or the whole cache)
// was evicted since gen was taken.
func (c *revocationCache) put(subject revKey, at, now time.Time, gen revGen) {
	st := stripe(subject)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != gen.epoch || c.gens[st] != gen.stripe {
		return
	}
	if len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[subject] = revEntry{at: at, fetched: now}
}

func (c *revocationCache) forget(subject revKey) {
	st := stripe(subject)
	c.mu.Lock()
	delete(c.m, subject)
	c.gens[st]++
	c.mu.Unlock()
}

// flush forgets every subject.
func (c *revocationCache) flush() {
	c.mu.Lock()
	clear(c.m)
	c.epoch++
	c.mu.Unlock()
}
