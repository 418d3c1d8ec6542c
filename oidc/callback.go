package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ssokit/ssokit/internal/loaded"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// ServeCallback handles the redirect back from the IdP for the connection
// with the given ID (empty when the request came to a connection's own
// RedirectURI: the flow names the connection, and the request path must
// end that URI's path): it consumes the flow named by state, checks the
// browser binding, the connection, the RFC 9207 iss parameter, redeems the
// code with the PKCE verifier, verifies the ID token (and userinfo) and
// hands the profile to the Completer. Every rejection is reported to
// Completer.Fail and rendered by the ErrorHandler.
func (rp *RP) ServeCallback(w http.ResponseWriter, r *http.Request, connectionID string) {
	ctx, op := rp.tel.StartOp(r.Context(), "oidc.callback", string(Protocol))
	defer rp.tel.EndLogin(ctx, op)
	r = r.WithContext(ctx)
	var rawIDToken string
	login, conn, flow, err := rp.callback(r, connectionID, &rawIDToken)
	if login != nil {
		// The completer (or the host's session issuer) may keep it as the
		// id_token_hint of RP-initiated logout; see IDToken.
		r = r.WithContext(withIDToken(r.Context(), rawIDToken))
	}
	if conn != nil {
		op.SetTenant(conn.OrgID, conn.ID)
		// conn was read from Connections in this request: the completer
		// need not read it again when Connections is its own store.
		r = r.WithContext(loaded.WithConnection(r.Context(), rp.cfg.Connections, conn))
	}
	if err != nil {
		op.Fail(err, sso.ReasonOf(err))
		rp.fail(w, r, conn, flow, err)
		return
	}
	if err := rp.cfg.Completer.Complete(w, r, login); err != nil {
		op.Fail(err, sso.ReasonOf(err))
		rp.log.InfoContext(r.Context(), "oidc: login completion refused", "connection", conn.ID, "reason", sso.ReasonOf(err))
		rp.cfg.ErrorHandler(w, r, err)
	}
}

// fail reports a failed callback. A test login's failure is recorded with
// its diagnosis and the admin's browser goes back to the test's return
// address (where the result is shown), never to the end-user error page.
func (rp *RP) fail(w http.ResponseWriter, r *http.Request, conn *sso.Connection, f *Flow, err error) {
	test := f != nil && f.Test
	var connID string
	if conn != nil {
		connID = conn.ID
	}
	rp.log.WarnContext(r.Context(), "oidc: login rejected", "connection", connID, "reason", sso.ReasonOf(err), "err", err)
	reported := err
	if test {
		reported = diagnosis(err)
	}
	rp.cfg.Completer.Fail(r, &sso.LoginFailure{Connection: conn, Protocol: Protocol, Test: test, Err: reported})
	if rp.refuseStepUp(w, r, f, err) {
		return
	}
	if test && conn != nil {
		if to := returnto.Safe(f.ReturnTo, ""); to != "" {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
	}
	rp.cfg.ErrorHandler(w, r, err)
}

// refuseStepUp hands the refused answer to a step-up login (the IdP
// reported no MFA, or an authentication too old) to the completer's
// refusal page when it has one (sso.StepUpRefuser), and reports whether
// that wrote the response. Other failures keep the error page.
func (rp *RP) refuseStepUp(w http.ResponseWriter, r *http.Request, f *Flow, err error) bool {
	ref, ok := rp.cfg.Completer.(sso.StepUpRefuser)
	if !ok || f == nil || f.Test || f.StepUp.IsZero() {
		return false
	}
	if reason := sso.ReasonOf(err); reason != ReasonMFANotPerformed && reason != ReasonAuthnTooOld {
		return false
	}
	return ref.RefuseStepUp(w, r, sso.StepUpOf(f.StepUp), f.ReturnTo, err)
}

// maxQueryBytes bounds the callback query string.
const maxQueryBytes = 16 << 10

// callback checks the callback request and returns the verified login; it
// sets *rawIDToken to the ID token it verified.
func (rp *RP) callback(r *http.Request, connID string, rawIDToken *string) (*sso.Login, *sso.Connection, *Flow, error) {
	ctx := r.Context()
	q, state, err := parseCallback(r)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := rp.cfg.Store.TakeFlow(ctx, opaque.Hash(state))
	if err != nil {
		if errors.Is(err, sso.ErrNotFound) {
			return nil, nil, nil, invalid(ReasonStateInvalid, err)
		}
		return nil, nil, nil, fmt.Errorf("oidc: take flow: %w", err)
	}
	c, err := r.Cookie(rp.cookieName())
	if err != nil || !opaque.Equal(opaque.Hash(c.Value), f.BrowserHash) {
		return nil, rp.testConnection(ctx, f), f, invalid(ReasonBrowserMismatch, errors.New("oidc: state was issued to another browser"))
	}
	if err := rp.checkCallbackRoute(r, f, connID); err != nil {
		return nil, rp.testConnection(ctx, f), f, err
	}
	conn, err := rp.cfg.Connections.GetConnection(ctx, f.ConnectionID)
	if err != nil {
		if errors.Is(err, sso.ErrNotFound) {
			return nil, nil, f, invalid(ReasonConnectionUnusable, err)
		}
		return nil, nil, f, err
	}
	if err := usable(conn, f); err != nil {
		return nil, conn, f, err
	}
	if q.Get("error") != "" {
		return nil, conn, f, idpError(q).rejection(ReasonIdPError, "an authorization code")
	}
	m, err := rp.metadataFor(ctx, conn)
	if err != nil {
		return nil, conn, f, upstreamFailure(ReasonDiscoveryFailed, err)
	}
	if err := checkIssuerParam(conn, m, q); err != nil {
		return nil, conn, f, err
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return nil, conn, f, invalid(ReasonCodeMissing, nil)
	}
	p, rawID, err := rp.redeem(ctx, conn, m, f, code)
	if err != nil {
		return nil, conn, f, err
	}
	*rawIDToken = rawID
	return &sso.Login{Connection: conn, Profile: p, ReturnTo: f.ReturnTo, Test: f.Test, LogoutHint: rawID,
		StepUp: sso.StepUpOf(f.StepUp)}, conn, f, nil
}

// parseCallback parses a callback's query and returns it with its state,
// refusing a repeated parameter and a missing or oversized state (an IdP
// error without a state is reported as the IdP's).
func parseCallback(r *http.Request) (url.Values, string, error) {
	if len(r.URL.RawQuery) > maxQueryBytes {
		return nil, "", invalid(ReasonBadRequest, errors.New("oidc: callback query too long"))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, "", invalid(ReasonBadRequest, err)
	}
	for _, k := range []string{"state", "code", "iss", "error"} {
		if len(q[k]) > 1 {
			// RFC 6749 section 3.1: parameters must not repeat; two
			// values would let each check read a different one.
			return nil, "", invalid(ReasonBadRequest, fmt.Errorf("oidc: callback parameter %q repeated", k))
		}
	}
	state := q.Get("state")
	if state == "" {
		if code := q.Get("error"); code != "" {
			return nil, "", invalid(ReasonIdPError, idpError(q))
		}
		return nil, "", invalid(ReasonStateMissing, nil)
	}
	if len(state) > 512 {
		return nil, "", invalid(ReasonStateInvalid, errors.New("oidc: state too long"))
	}
	return q, state, nil
}

// checkIssuerParam checks the callback's iss parameter (RFC 9207): it
// names conn's issuer, and is there when the provider says it sends it.
func checkIssuerParam(conn *sso.Connection, m *metadata, q url.Values) error {
	if q.Has("iss") {
		if iss := q.Get("iss"); !issuerMatches(ConfigOf(conn), iss) {
			return mismatch(ReasonIssuerParamMismatch, ConfigOf(conn).Issuer, iss)
		}
	} else if m.AuthResponseIssSupported {
		return invalid(ReasonIssuerParamMissing, nil)
	}
	return nil
}

// redeem exchanges code for tokens, verifies the ID token against f (its
// nonce, the authentication it asked for), and returns the profile from
// its claims, the UserInfo response and any overage groups, with the raw
// ID token.
func (rp *RP) redeem(ctx context.Context, conn *sso.Connection, m *metadata, f *Flow, code string) (*sso.Profile, string, error) {
	tok, err := rp.exchange(ctx, conn, m, f, code)
	if err != nil {
		return nil, "", err
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, "", invalid(ReasonIDTokenMissing, nil)
	}
	vt, err := rp.verifyIDToken(ctx, conn, m, rawID, f.Nonce, tok.AccessToken)
	if err != nil {
		return nil, "", err
	}
	if err := vt.decode(); err != nil {
		return nil, "", err
	}
	if err := rp.checkAuthn(f, vt.claims); err != nil {
		return nil, "", err
	}
	if err := rp.userInfo(ctx, conn, m, vt, tok.AccessToken); err != nil {
		return nil, "", err
	}
	p := rp.profile(ctx, conn, vt)
	groups, err := rp.overageGroups(ctx, conn, m, vt)
	if err != nil {
		return nil, "", err
	}
	if groups != nil {
		p.Groups = groups
		p.Raw["groups_source"] = []string{"graph"}
	}
	return p, rawID, nil
}

// checkCallbackRoute checks that the callback arrived where the flow's
// redirect URI points: the default route of the flow's connection
// (connID), or, for a connection with its own redirect URI, a request
// (connID "") whose path ends that URI's path.
func (rp *RP) checkCallbackRoute(r *http.Request, f *Flow, connID string) error {
	custom := f.RedirectURI != rp.RedirectURI(f.ConnectionID)
	switch {
	case connID == "" && custom:
		u, err := url.Parse(f.RedirectURI)
		if err != nil || r.URL.Path == "" || r.URL.Path == "/" || !strings.HasSuffix(u.Path, r.URL.Path) {
			return mismatch(ReasonConnectionMismatch, f.RedirectURI, truncate(r.URL.Path, 256))
		}
	case connID == "":
		return mismatch(ReasonConnectionMismatch, f.RedirectURI, truncate(r.URL.Path, 256))
	case f.ConnectionID != connID:
		return mismatch(ReasonConnectionMismatch, f.ConnectionID, connID)
	case custom:
		return mismatch(ReasonConnectionMismatch, f.RedirectURI, rp.RedirectURI(connID))
	}
	return nil
}

// testConnection returns the connection of a test login's flow, so that a
// failure before the connection is checked still reaches the admin's
// diagnostics; nil for other logins or when it cannot be read.
func (rp *RP) testConnection(ctx context.Context, f *Flow) *sso.Connection {
	if !f.Test {
		return nil
	}
	conn, err := rp.cfg.Connections.GetConnection(ctx, f.ConnectionID)
	if err != nil || conn.OrgID != f.OrgID {
		return nil
	}
	return conn
}

// usable checks that the flow's connection still is the one the flow was
// started for: same organization, OIDC, same issuer, and allowed to log in.
func usable(conn *sso.Connection, f *Flow) error {
	switch {
	case conn.Protocol != Protocol || ConfigOf(conn) == nil:
		return invalid(ReasonConnectionUnusable, errors.New("oidc: not an OIDC connection"))
	case conn.OrgID != f.OrgID:
		return mismatch(ReasonConnectionMismatch, f.OrgID, conn.OrgID)
	case ConfigOf(conn).Issuer != f.Issuer:
		return mismatch(ReasonIssuerMismatch, f.Issuer, ConfigOf(conn).Issuer)
	case conn.Status == sso.ConnectionActive:
	case conn.Status == sso.ConnectionDraft && f.Test:
	default:
		return invalid(ReasonConnectionUnusable, errors.New("oidc: connection is not active"))
	}
	return nil
}

func idpError(q url.Values) *IdPError {
	return &IdPError{Code: truncate(q.Get("error"), 128), Description: truncate(q.Get("error_description"), 512), URI: truncate(q.Get("error_uri"), 512)}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// issuerMatches reports whether iss is the connection's issuer, or, for a
// multi-tenant template, the template with an allowed tenant ID.
func issuerMatches(oc *ConnectionConfig, iss string) bool {
	if !strings.Contains(oc.Issuer, TenantPlaceholder) {
		return iss == oc.Issuer
	}
	for _, t := range oc.AllowedTenantIDs {
		if t != "" && iss == strings.ReplaceAll(oc.Issuer, TenantPlaceholder, t) {
			return true
		}
	}
	return false
}

func (rp *RP) exchange(ctx context.Context, conn *sso.Connection, m *metadata, f *Flow, code string) (_ *oauth2.Token, err error) {
	span := rp.startSpan(ctx, "oidc.code_exchange", conn)
	defer func() { telemetry.End(span, sso.ReasonOf(err), err) }()
	var secret string
	var opts []oauth2.AuthCodeOption
	switch ConfigOf(conn).AuthMethod {
	case "", "client_secret_basic", "client_secret_post":
		s, err := rp.cfg.Sealer.Open(ConfigOf(conn).ClientSecretSealed, []byte(conn.ID))
		if err != nil {
			return nil, fmt.Errorf("oidc: open client secret of connection %s: %w", conn.ID, err)
		}
		secret = string(s)
	case "private_key_jwt":
		a, err := rp.clientAssertion(conn, m.TokenURL)
		if err != nil {
			return nil, err
		}
		opts = append(opts,
			oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			oauth2.SetAuthURLParam("client_assertion", a))
	case "none":
	default:
		return nil, fmt.Errorf("%w: oidc: unknown auth method %q", sso.ErrInvalidConfig, ConfigOf(conn).AuthMethod)
	}
	oc := rp.oauth2Config(conn, m, f.RedirectURI, secret)
	opts = append(opts, oauth2.VerifierOption(f.Verifier))
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, rp.client), code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			ie := &IdPError{Code: truncate(re.ErrorCode, 128), Description: truncate(re.ErrorDescription, 512), URI: truncate(re.ErrorURI, 512)}
			if ie.Code == "" {
				ie.Code = fmt.Sprintf("http_%d", re.Response.StatusCode)
			}
			return nil, ie.rejection(ReasonTokenExchange, "tokens for the authorization code")
		}
		ue := classifyTransport(docToken, m.TokenURL, err)
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonTokenExchange, Want: "an answer from the token endpoint",
			Got: ue.what(), Err: withFix(ue, ue.Fix())}
	}
	return tok, nil
}
