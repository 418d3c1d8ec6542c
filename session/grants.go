package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Grant types and token types of TokenHandler.
const (
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	// GrantTokenExchange is OAuth 2.0 Token Exchange (RFC 8693).
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	// TokenTypeAccessToken is the only subject and issued token type of
	// the token exchange.
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// Reasons of refused token exchanges.
const (
	ReasonAudience       = "audience_not_allowed"
	ReasonExchangeDenied = "exchange_not_allowed"
)

// oauthError is an RFC 6749 §5.2 error answer of the token endpoint.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return "session: token endpoint: " + e.code + ": " + e.desc }

func badRequest(code, desc string) error {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

// tokenForm is the parsed request of the token endpoint.
type tokenForm struct {
	r    *http.Request
	f    url.Values
	opts TokenHandlerOptions
}

// client authenticates the calling API client: HTTP Basic (RFC 6749
// §2.3.1) or client_id and client_secret in the form, never both.
func (m *Manager) client(ctx context.Context, tf tokenForm) (*APIClient, error) {
	id, secret, basic := tf.r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || tf.f.Has("client_secret") {
			return nil, badRequest("invalid_request", "send the client's credentials once: HTTP Basic or the form, not both")
		}
	} else {
		id, secret = tf.f.Get("client_id"), tf.f.Get("client_secret")
	}
	c, err := m.authenticateClient(ctx, id, secret)
	var ve *sso.ValidationError
	if errors.As(err, &ve) {
		return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "unknown client, wrong secret or disabled client"}
	}
	if err != nil {
		return nil, err
	}
	if tf.opts.OrgOf != nil {
		if org := tf.opts.OrgOf(tf.r); org != "" && org != c.OrgID {
			return nil, &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: "unknown client, wrong secret or disabled client"}
		}
	}
	return c, nil
}

// clientCredentials issues an access token in the client's own name.
func (m *Manager) clientCredentials(ctx context.Context, tf tokenForm) (map[string]any, error) {
	c, err := m.client(ctx, tf)
	if err != nil {
		return nil, err
	}
	scopes, ok := grantScopes(tf.f.Get("scope"), c.Scopes)
	if !ok {
		return nil, badRequest("invalid_scope", "the client may ask only for the scopes it was given")
	}
	if _, err := m.admitNetwork(ctx, tf.r, c.OrgID, c.ID, nil, "client_credentials"); err != nil {
		return nil, &oauthError{status: http.StatusForbidden, code: "access_denied", desc: "this address is not on the organization's allowlist"}
	}
	p, err := m.policyFor(ctx, c.OrgID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	rt := &RefreshToken{UserID: c.ID, OrgID: c.OrgID, SessionID: c.ID, ClientID: c.ID, Scopes: scopes}
	at, err := m.signToken(rt, tokenExtras{client: true}, now, p.access)
	if err != nil {
		return nil, err
	}
	e := &sso.Event{OrgID: c.OrgID, Type: EventClientToken, Actor: sso.Actor{Type: sso.ActorSystem, ID: c.ID},
		Target: sso.Target{Type: "api_client", ID: c.ID}, Outcome: sso.OutcomeSuccess, IP: m.clientIP(tf.r),
		Details: map[string]string{"scope": strings.Join(scopes, " ")}}
	if m.cfg.Events != nil {
		m.audit(ctx, e)
	}
	return map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(p.access.Seconds()),
		"scope": strings.Join(scopes, " ")}, nil
}

// tokenExchange (RFC 8693) exchanges a user's access token of the client's
// organization for one with a narrower audience and scope, naming the
// client in "act". The audience must be in the organization's
// ExchangeAudiences and the client must be allowed to exchange. Every
// exchange, granted or refused, is audited in the organization.
func (m *Manager) tokenExchange(ctx context.Context, tf tokenForm) (map[string]any, error) {
	c, err := m.client(ctx, tf)
	if err != nil {
		return nil, err
	}
	f := tf.f
	switch {
	case f.Get("subject_token") == "":
		return nil, badRequest("invalid_request", "subject_token is required")
	case f.Get("subject_token_type") != TokenTypeAccessToken:
		return nil, badRequest("invalid_request", "subject_token_type must be "+TokenTypeAccessToken)
	case f.Has("requested_token_type") && f.Get("requested_token_type") != TokenTypeAccessToken:
		return nil, badRequest("invalid_request", "only access tokens are issued")
	case f.Has("actor_token"):
		return nil, badRequest("invalid_request", "actor_token is not supported: the authenticated client is the actor")
	case f.Get("audience") == "":
		return nil, badRequest("invalid_target", "audience is required: name the API the token is for")
	}
	refuse := func(reason, desc string, subject string) error {
		m.auditExchange(ctx, tf.r, c, subject, f.Get("audience"), nil, reason)
		if reason == ReasonAudience {
			return badRequest("invalid_target", desc)
		}
		return badRequest("invalid_grant", desc)
	}
	if !c.Exchange {
		return nil, refuse(ReasonExchangeDenied, "this client may not exchange tokens", "")
	}
	sub, err := m.VerifyAccessToken(ctx, f.Get("subject_token"))
	var ve *sso.ValidationError
	switch {
	case errors.As(err, &ve):
		return nil, refuse(ve.Reason, "the subject token is invalid, expired or revoked", "")
	case err != nil:
		return nil, err
	case sub.OrgID != c.OrgID:
		return nil, refuse(ReasonOrgMismatch, "the subject token belongs to another organization", sub.Subject)
	case sub.Client:
		return nil, refuse(ReasonExchangeDenied, "the subject token must be a user's", sub.Subject)
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, c.OrgID)
	if err != nil {
		return nil, fmt.Errorf("session: read organization: %w", err)
	}
	aud := f.Get("audience")
	if !slices.Contains(org.Settings.ExchangeAudiences, aud) {
		return nil, refuse(ReasonAudience, "the organization does not allow tokens for this audience", sub.Subject)
	}
	allowed := intersect(sub.Scopes, c.Scopes)
	scopes, ok := grantScopes(f.Get("scope"), allowed)
	if !ok {
		m.auditExchange(ctx, tf.r, c, sub.Subject, aud, nil, "invalid_scope")
		return nil, badRequest("invalid_scope", "a token exchange only narrows: ask for scopes both the subject token and the client hold")
	}
	return m.issueExchanged(ctx, tf.r, c, sub, org, aud, scopes)
}

// issueExchanged signs the exchanged token: the subject's user, session and
// roles, the requested audience and scopes, the client as actor, and a
// lifetime no longer than the subject token's remaining one.
func (m *Manager) issueExchanged(ctx context.Context, r *http.Request, c *APIClient, sub *Claims, org *sso.Organization, aud string, scopes []string) (map[string]any, error) {
	p, err := m.policyFor(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	now := m.now()
	ttl := min(p.access, sub.ExpiresAt.Sub(now))
	if ttl < time.Second {
		return nil, badRequest("invalid_grant", "the subject token is about to expire")
	}
	rt := &RefreshToken{UserID: sub.Subject, OrgID: sub.OrgID, SessionID: sub.SessionID, ClientID: c.ID,
		Roles: sub.Roles, Scopes: scopes}
	at, err := m.signToken(rt, tokenExtras{audience: aud, actor: c.ID}, now, ttl)
	if err != nil {
		return nil, err
	}
	m.auditExchange(ctx, r, c, sub.Subject, aud, scopes, "")
	return map[string]any{"access_token": at, "issued_token_type": TokenTypeAccessToken, "token_type": "Bearer",
		"expires_in": int(ttl.Seconds()), "scope": strings.Join(scopes, " ")}, nil
}

func (m *Manager) auditExchange(ctx context.Context, r *http.Request, c *APIClient, subject, aud string, scopes []string, reason string) {
	if m.cfg.Events == nil {
		return
	}
	target := sso.Target{Type: "user", ID: subject}
	if subject == "" {
		target = sso.Target{Type: "api_client", ID: c.ID}
	}
	e := &sso.Event{OrgID: c.OrgID, Type: EventTokenExchanged, Actor: sso.Actor{Type: sso.ActorSystem, ID: c.ID},
		Target: target, Outcome: sso.OutcomeSuccess, IP: m.clientIP(r),
		Details: map[string]string{"audience": aud, "scope": strings.Join(scopes, " "), "client_id": c.ID}}
	if reason != "" {
		e.Outcome, e.Reason = sso.OutcomeFailure, reason
	}
	m.audit(ctx, e)
}

// intersect returns the elements of a that are also in b.
func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
