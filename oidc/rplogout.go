package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// idTokenKey is the context key of the raw ID token of a login.
type idTokenKey struct{}

// IDToken returns the raw ID token of the login whose request ctx belongs
// to: the callback sets it on the request it hands to Completer.Complete,
// so that a host (or a session issuer) can keep it with the session as the
// id_token_hint of a later [RP.LogoutURL]. It is a credential of the
// user's IdP session: store it like one, never log it.
func IDToken(ctx context.Context) string {
	s, _ := ctx.Value(idTokenKey{}).(string)
	return s
}

func withIDToken(ctx context.Context, raw string) context.Context {
	return context.WithValue(ctx, idTokenKey{}, raw)
}

// LogoutURL returns the URL that ends the user's session at the IdP (OIDC
// RP-Initiated Logout 1.0): the IdP's end_session_endpoint with
// id_token_hint (the login's ID token, see IDToken; empty to omit),
// client_id, the connection's post_logout_redirect_uri when configured
// and state (returned with the redirect; empty to omit). The host ends its
// own session first, then redirects the browser there. An IdP without an
// end_session_endpoint yields an error wrapping sso.ErrNotFound.
func (rp *RP) LogoutURL(ctx context.Context, conn *sso.Connection, idTokenHint, state string) (string, error) {
	if conn == nil || conn.Protocol != Protocol || ConfigOf(conn) == nil {
		return "", fmt.Errorf("%w: oidc: not an OIDC connection", sso.ErrInvalidInput)
	}
	oc := ConfigOf(conn)
	m, err := rp.metadataFor(ctx, conn)
	if err != nil {
		return "", upstreamFailure(ReasonDiscoveryFailed, err)
	}
	if m.EndSessionURL == "" {
		return "", fmt.Errorf("%w: oidc: the IdP publishes no end_session_endpoint", sso.ErrNotFound)
	}
	u, err := url.Parse(m.EndSessionURL)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && rp.cfg.AllowInsecureURLs)) {
		return "", &UpstreamError{Kind: UpstreamMalformed, Doc: docDiscovery, URL: redactURL(m.EndSessionURL),
			Want: "an https end_session_endpoint", Got: "an unusable URL"}
	}
	if len(idTokenHint) > rp.cfg.MaxTokenBytes || len(state) > 512 {
		return "", fmt.Errorf("%w: oidc: id_token_hint or state too long", sso.ErrInvalidInput)
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	q.Set("client_id", oc.ClientID)
	if oc.PostLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", oc.PostLogoutRedirectURI)
		if state != "" {
			q.Set("state", state)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// FrontChannelLogoutURI returns the frontchannel_logout_uri to register at
// the IdP for the connection with the given ID, with
// frontchannel_logout_session_required true.
func (rp *RP) FrontChannelLogoutURI(connectionID string) string {
	return rp.base + "frontchannel-logout/" + url.PathEscape(connectionID)
}

// ServeFrontChannelLogout handles an OIDC Front-Channel Logout 1.0
// request (the IdP's page loads it in an iframe) for the connection with
// the given ID; the answer is never cached and only the issuer's origin
// may frame it (Content-Security-Policy frame-ancestors): iss must be the connection's issuer and sid the IdP
// session to end; the sessions the connection opened with that sid end
// through the path back-channel logout uses (Config.OnLogout, else
// Config.Sessions). It answers 200 when the logout succeeded, also when no
// session matched, 400 for a request without iss and sid or with another
// issuer, 404 when logout is not configured or the connection is not an
// enabled OIDC one.
func (rp *RP) ServeFrontChannelLogout(w http.ResponseWriter, r *http.Request, connectionID string) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	// Only the connection's IdP may frame the answer; until it is known,
	// nobody.
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	if rp.cfg.OnLogout == nil && rp.cfg.Sessions == nil {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	conn, err := rp.cfg.Connections.GetConnection(ctx, connectionID)
	if err != nil || conn.Protocol != Protocol || ConfigOf(conn) == nil || conn.Status == sso.ConnectionDisabled {
		http.NotFound(w, r)
		return
	}
	if o := issuerOrigin(ConfigOf(conn).Issuer); o != "" {
		h.Set("Content-Security-Policy", "frame-ancestors "+o)
	}
	iss, sid, err := frontChannelParams(r, ConfigOf(conn))
	if err != nil {
		rp.log.WarnContext(ctx, "oidc: front-channel logout rejected", "connection", conn.ID, "reason", sso.ReasonOf(err), "err", err)
		http.Error(w, "invalid logout request", http.StatusBadRequest)
		return
	}
	if err := rp.endSessions(ctx, conn, "", sid); err != nil {
		rp.log.ErrorContext(ctx, "oidc: front-channel logout failed", "connection", conn.ID, "iss", iss, "err", err)
		http.Error(w, "logout failed", http.StatusBadRequest)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte("<!doctype html><title>Signed out</title>"))
}

// issuerOrigin is the origin (scheme://host[:port]) of an issuer URL, the
// only page allowed to frame a front-channel logout answer; "" when the
// issuer has none that a CSP source can name.
func issuerOrigin(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsAny(u.Host, "{}*; '\"\t\r\n,") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// frontChannelParams reads and checks the iss and sid of a front-channel
// logout request.
func frontChannelParams(r *http.Request, oc *ConnectionConfig) (string, string, error) {
	if len(r.URL.RawQuery) > 4096 {
		return "", "", invalid(ReasonBadRequest, errors.New("oidc: front-channel logout query too long"))
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || len(q["iss"]) > 1 || len(q["sid"]) > 1 {
		return "", "", invalid(ReasonBadRequest, errors.New("oidc: front-channel logout query malformed or repeated"))
	}
	iss, sid := q.Get("iss"), q.Get("sid")
	switch {
	case iss == "" || sid == "":
		return "", "", invalid(ReasonLogoutRequestInvalid, errors.New("oidc: front-channel logout without iss and sid"))
	case len(sid) > 256:
		return "", "", invalid(ReasonLogoutRequestInvalid, errors.New("oidc: sid too long"))
	case !issuerMatches(oc, iss) && !issuerEquals(oc.Issuer, iss):
		return "", "", mismatch(ReasonIssuerMismatch, oc.Issuer, truncate(iss, 256))
	}
	return iss, sid, nil
}
