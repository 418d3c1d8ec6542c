package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// RefreshOptions bind a refresh request to its caller.
type RefreshOptions struct {
	// ClientID is the requesting client; it must equal the client the family
	// was issued to.
	ClientID string
	// OrgID, when non-empty, is the organization the request is made for
	// (e.g. from the host's tenant routing); a token of another
	// organization is rejected.
	OrgID string
}

// Refresh redeems a refresh token: it is rotated (single use) and a new
// access and refresh token of the same family are returned.
//
// A family lives no longer than the browser session it was issued from
// (RefreshToken.SessionID): once that session idled out (no activity for
// its IdleTimeout), passed its absolute expiry or is gone from the store,
// the refresh fails with ReasonSessionEnded and the session is ended as a
// logout would end it, with every family and access token of it. (A
// family, and every access token, is issued to expire no later than its
// session's absolute expiry, so past that the refresh fails with
// ReasonExpired.) A
// successful refresh counts as activity of the session, as a page view
// through Load does (LastSeenAt, written at most once per
// Config.TouchInterval): a client that only uses tokens keeps its session
// alive while it refreshes within the idle timeout, and never past the
// absolute expiry. A client that refreshes only when its access token
// expires therefore needs an access-token lifetime shorter than the idle
// timeout. A family bound to no session (empty SessionID, which no grant
// of this package creates) is not checked against one.
//
// Presenting a token that was already used is treated as theft (RFC 9700
// §4.14.2): the whole family is revoked, including the newest token, and a
// token.refresh_reused audit event is recorded. Of concurrent presentations
// of one token exactly one wins in every store; the losers are reuse under
// the same rule, unless Config.ConcurrentRefreshGrace is set, in which case
// a loser within that window gets ReasonConcurrentRefresh and the family
// lives on.
//
// Every failure is a *sso.ValidationError (answered invalid_grant by the
// token endpoint), or wraps sso.ErrUnavailable when the store failed.
func (m *Manager) Refresh(ctx context.Context, refreshToken string, opts RefreshOptions) (_ *TokenPair, err error) {
	ctx, span := m.tel.Start(ctx, "session.refresh")
	defer func() { telemetry.End(span, sso.ReasonOf(err), err) }()
	if !m.tokensEnabled() {
		return nil, ErrTokensDisabled
	}
	if !wellFormed(refreshToken) {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMalformed}
	}
	hash := opaque.Hash(refreshToken)
	old, err := m.cfg.Tokens.GetRefreshToken(ctx, hash)
	if errors.Is(err, sso.ErrNotFound) {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonUnknownToken}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: session: read refresh token: %w", sso.ErrUnavailable, err)
	}
	now := m.now()
	switch {
	case !old.RevokedAt.IsZero():
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonRevoked}
	case !old.UsedAt.IsZero():
		return nil, m.reused(ctx, old, now.Sub(old.UsedAt))
	case !now.Before(old.ExpiresAt):
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonExpired}
	case old.ClientID != opts.ClientID:
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonClientMismatch, Want: old.ClientID, Got: opts.ClientID}
	case opts.OrgID != "" && old.OrgID != opts.OrgID:
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonOrgMismatch, Want: old.OrgID, Got: opts.OrgID}
	}
	c := &Claims{Subject: old.UserID, SessionID: old.SessionID, IssuedAt: old.CreatedAt}
	if err := m.checkRevoked(ctx, c); err != nil {
		var ve *sso.ValidationError
		if errors.As(err, &ve) {
			_ = m.cfg.Tokens.RevokeFamily(ctx, old.FamilyID, now)
		}
		return nil, err
	}
	s, err := m.boundSession(ctx, old, now)
	if err != nil {
		return nil, err
	}
	roles, err := m.liveRoles(ctx, old, now)
	if err != nil {
		return nil, err
	}
	p, err := m.policyFor(ctx, old.OrgID)
	if err != nil {
		return nil, err
	}
	bearer, err := m.newBearer()
	if err != nil {
		return nil, err
	}
	next := *old
	next.Hash, next.CreatedAt, next.UsedAt, next.RevokedAt = opaque.Hash(bearer), now, time.Time{}, time.Time{}
	next.Roles, next.Scopes = roles, slices.Clone(old.Scopes)
	switch err := m.cfg.Tokens.RotateRefreshToken(ctx, hash, &next); {
	case errors.Is(err, ErrTokenUsed):
		return nil, m.reused(ctx, old, 0)
	case errors.Is(err, ErrTokenRevoked):
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonRevoked, Err: err}
	case errors.Is(err, sso.ErrNotFound):
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonUnknownToken, Err: err}
	case err != nil:
		return nil, fmt.Errorf("%w: session: rotate refresh token: %w", sso.ErrUnavailable, err)
	}
	if s != nil {
		m.touch(ctx, s, now)
	}
	ttl := sessionTTL(p.access, s, now)
	at, err := m.signAccess(&next, now, ttl)
	if err != nil {
		return nil, err
	}
	return &TokenPair{AccessToken: at, RefreshToken: bearer, ExpiresIn: ttl, Scopes: next.Scopes}, nil
}

// boundSession returns the browser session old's family was issued from,
// valid at now, or nil for a family bound to no session (SessionID empty).
// A session that idled out, passed its absolute expiry or is gone from the
// store fired nothing when it stopped, so it is ended here as a logout
// would end it (every family of it and the access tokens naming it
// revoked, a timed-out row deleted) and the refresh fails with
// ReasonSessionEnded. It costs one read by session ID.
func (m *Manager) boundSession(ctx context.Context, old *RefreshToken, now time.Time) (*Session, error) {
	if old.SessionID == "" {
		return nil, nil
	}
	s, err := m.cfg.Store.GetSession(ctx, old.SessionID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		err = m.ended(ctx, &Session{ID: old.SessionID}, now)
	case err != nil:
		return nil, fmt.Errorf("%w: session: read session: %w", sso.ErrUnavailable, err)
	case s.Valid(now):
		return s, nil
	default:
		err = m.end(ctx, s)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", sso.ErrUnavailable, err)
	}
	return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonSessionEnded,
		Err: errors.New("session: the session of the token family ended")}
}

// liveRoles returns the roles the member holds now: a refresh never mints
// a role copied at issue time that the membership has since lost. A member
// who left or was suspended gets ReasonRevoked and the family is revoked.
func (m *Manager) liveRoles(ctx context.Context, old *RefreshToken, now time.Time) ([]string, error) {
	mem, err := m.cfg.Memberships.GetMembership(ctx, old.OrgID, old.UserID)
	switch {
	case errors.Is(err, sso.ErrNotFound) || (err == nil && !mem.Active()):
		if err := m.cfg.Tokens.RevokeFamily(ctx, old.FamilyID, now); err != nil {
			return nil, fmt.Errorf("%w: session: revoke family: %w", sso.ErrUnavailable, err)
		}
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonRevoked, Err: errors.New("session: membership is not active")}
	case err != nil:
		return nil, fmt.Errorf("%w: session: read membership: %w", sso.ErrUnavailable, err)
	}
	return slices.Clone(mem.Roles), nil
}

// reused applies the reuse policy to a second presentation of old, made
// since (or, for a race loser, at about the same time as) its rotation.
func (m *Manager) reused(ctx context.Context, old *RefreshToken, since time.Duration) error {
	if g := m.cfg.ConcurrentRefreshGrace; g > 0 && since <= g {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonConcurrentRefresh, Err: ErrTokenUsed}
	}
	m.tel.RefreshReuse.Add(ctx, 1, m.tel.MetricAttrs(old.OrgID, ""))
	now := m.now()
	if err := m.cfg.Tokens.RevokeFamily(ctx, old.FamilyID, now); err != nil {
		m.log.ErrorContext(ctx, "session: revoking a reused refresh-token family failed", "family", old.FamilyID, "err", err)
	}
	m.audit(ctx, &sso.Event{OrgID: old.OrgID, Type: EventRefreshReused,
		Actor: sso.Actor{Type: sso.ActorUser, ID: old.UserID}, Target: sso.Target{Type: "token_family", ID: old.FamilyID},
		Outcome: sso.OutcomeFailure, Reason: ReasonRefreshReused,
		Details: map[string]string{"session_id": old.SessionID, "client_id": old.ClientID}})
	return &sso.ValidationError{Protocol: Protocol, Reason: ReasonRefreshReused, Err: ErrTokenUsed}
}

// TokenHandlerOptions configure TokenHandler.
type TokenHandlerOptions struct {
	// OrgOf, when set, returns the organization the request is for (from
	// the host's tenant routing); refresh tokens of other organizations are
	// rejected.
	OrgOf func(r *http.Request) string
}

// TokenHandler returns an OAuth 2.0 token endpoint: POST
// application/x-www-form-urlencoded with one of the grants
//
//   - refresh_token: refresh_token and (for bound families) client_id;
//   - client_credentials (with Config.Clients): an API client
//     authenticated by HTTP Basic or client_id and client_secret, and an
//     optional scope, for a token in the client's own name;
//   - urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693, with
//     Config.Clients): an authenticated client allowed to exchange, a
//     subject_token (a user's access token of the client's organization)
//     with subject_token_type ...:access_token, an audience from the
//     organization's ExchangeAudiences and an optional narrower scope.
//
// It answers JSON (access_token, token_type, expires_in, scope, and
// refresh_token or issued_token_type), or an RFC 6749 §5.2 error
// (invalid_request, invalid_client, invalid_grant, invalid_scope,
// invalid_target, unsupported_grant_type) with a short description.
func (m *Manager) TokenHandler(opts TokenHandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tf, err := parseTokenForm(w, r, opts)
		var out map[string]any
		if err == nil {
			switch tf.f.Get("grant_type") {
			case GrantRefreshToken:
				out, err = m.refreshGrant(r.Context(), tf)
			case GrantClientCredentials:
				out, err = m.withClients(r.Context(), tf, m.clientCredentials)
			case GrantTokenExchange:
				out, err = m.withClients(r.Context(), tf, m.tokenExchange)
			default:
				err = badRequest("unsupported_grant_type", "use refresh_token, client_credentials or token exchange")
			}
		}
		if err != nil {
			m.tokenEndpointError(w, r, err)
			return
		}
		w.Header().Set("Pragma", "no-cache")
		writeJSON(w, http.StatusOK, out)
	})
}

// singleValued are the token endpoint's parameters that may appear once.
var singleValued = []string{"grant_type", "refresh_token", "client_id", "client_secret", "scope",
	"subject_token", "subject_token_type", "requested_token_type", "audience", "actor_token", "actor_token_type", "resource"}

// parseTokenForm reads the form of a token request.
func parseTokenForm(w http.ResponseWriter, r *http.Request, opts TokenHandlerOptions) (tokenForm, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return tokenForm{}, &oauthError{status: http.StatusMethodNotAllowed, code: "invalid_request", desc: "use POST"}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "application/x-www-form-urlencoded") {
		return tokenForm{}, badRequest("invalid_request", "send application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return tokenForm{}, badRequest("invalid_request", "the form does not parse")
	}
	for _, k := range singleValued {
		if len(r.PostForm[k]) > 1 {
			return tokenForm{}, badRequest("invalid_request", k+" appears more than once")
		}
	}
	return tokenForm{r: r, f: r.PostForm, opts: opts}, nil
}

// withClients runs a grant that needs API clients, or refuses it as
// unsupported when they are off.
func (m *Manager) withClients(ctx context.Context, tf tokenForm, grant func(context.Context, tokenForm) (map[string]any, error)) (map[string]any, error) {
	if m.cfg.Clients == nil || !m.tokensEnabled() {
		return nil, badRequest("unsupported_grant_type", "API clients are not enabled")
	}
	return grant(ctx, tf)
}

// refreshGrant is the refresh_token grant.
func (m *Manager) refreshGrant(ctx context.Context, tf tokenForm) (map[string]any, error) {
	if tf.f.Get("refresh_token") == "" {
		return nil, badRequest("invalid_request", "refresh_token is required")
	}
	ro := RefreshOptions{ClientID: tf.f.Get("client_id")}
	if tf.opts.OrgOf != nil {
		ro.OrgID = tf.opts.OrgOf(tf.r)
	}
	pair, err := m.Refresh(ctx, tf.f.Get("refresh_token"), ro)
	var ve *sso.ValidationError
	switch {
	case errors.As(err, &ve):
		return nil, badRequest("invalid_grant", "the refresh token is invalid, expired or used")
	case errors.Is(err, ErrTokensDisabled):
		return nil, badRequest("unsupported_grant_type", "API tokens are not enabled")
	case err != nil:
		return nil, err
	}
	return map[string]any{"access_token": pair.AccessToken, "token_type": "Bearer",
		"expires_in": int(pair.ExpiresIn.Seconds()), "refresh_token": pair.RefreshToken,
		"scope": strings.Join(pair.Scopes, " ")}, nil
}

// tokenEndpointError answers err as an RFC 6749 §5.2 error.
func (m *Manager) tokenEndpointError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	switch {
	case errors.As(err, &oe):
		if oe.code == "invalid_client" {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
	case errors.Is(err, sso.ErrUnavailable):
		m.log.ErrorContext(r.Context(), "session: token endpoint", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
	default:
		m.log.ErrorContext(r.Context(), "session: token endpoint", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
	}
}
