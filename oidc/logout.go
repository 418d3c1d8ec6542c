package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// backChannelLogoutEvent is the events member a logout token must carry.
const backChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// ServeBackChannelLogout handles an OIDC Back-Channel Logout 1.0 request
// for the connection with the given ID: it verifies the logout_token
// (signature with the connection's keys and algorithm allowlist, iss, aud,
// iat freshness, exp, the backchannel-logout event, no nonce, sub or sid,
// a jti not seen before) and ends the sessions it names through
// Config.OnLogout, or else Config.Sessions. Per section 2.8 it
// answers 200 when the logout succeeded, also when no session matched (the
// user was already logged out, section 2.7), and 400 with an OAuth-style
// JSON error when the token is invalid or the logout failed; 503 when the
// token cannot be checked because the IdP's metadata or keys or the replay
// cache are unavailable. With neither OnLogout nor Sessions set
// the route answers 404.
func (rp *RP) ServeBackChannelLogout(w http.ResponseWriter, r *http.Request, connectionID string) {
	w.Header().Set("Cache-Control", "no-store")
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
	r.Body = http.MaxBytesReader(w, r.Body, int64(rp.cfg.MaxTokenBytes)+4096)
	if err := r.ParseForm(); err != nil {
		rp.logoutError(w, r, conn, invalid(ReasonBadRequest, err))
		return
	}
	sub, sid, err := rp.verifyLogoutToken(r, conn, r.PostForm.Get("logout_token"))
	if err != nil {
		rp.logoutError(w, r, conn, err)
		return
	}
	if err := rp.endSessions(ctx, conn, sub, sid); err != nil {
		rp.log.ErrorContext(ctx, "oidc: back-channel logout failed", "connection", conn.ID, "err", err)
		writeOAuthError(w, http.StatusBadRequest, "logout_failed")
		return
	}
	w.WriteHeader(http.StatusOK)
}

// endSessions ends the sessions a verified logout token names: through the
// OnLogout hook when set, else through Sessions with the
// connection's organization and ID, the token's sub and its sid as the one
// session index.
func (rp *RP) endSessions(ctx context.Context, conn *sso.Connection, sub, sid string) error {
	if rp.cfg.OnLogout != nil {
		return rp.cfg.OnLogout(ctx, conn, sub, sid)
	}
	l := &sso.IdPLogout{OrgID: conn.OrgID, ConnectionID: conn.ID, Subject: sub}
	if sid != "" {
		l.SessionIndexes = []string{sid}
	}
	n, err := rp.cfg.Sessions.EndIdPSessions(ctx, l)
	if err != nil {
		return fmt.Errorf("oidc: end IdP sessions: %w", err)
	}
	rp.log.InfoContext(ctx, "oidc: back-channel logout", "connection", conn.ID, "ended", n)
	return nil
}

func (rp *RP) logoutError(w http.ResponseWriter, r *http.Request, conn *sso.Connection, err error) {
	rp.log.WarnContext(r.Context(), "oidc: logout token rejected", "connection", conn.ID, "reason", sso.ReasonOf(err), "err", err)
	if errors.Is(err, sso.ErrUnavailable) {
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable")
		return
	}
	writeOAuthError(w, http.StatusBadRequest, "invalid_request")
}

func writeOAuthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"error":%q}`, code)
}

// verifyLogoutToken validates a logout token (OIDC Back-Channel Logout 1.0
// section 2.6) and returns its sub and sid.
func (rp *RP) verifyLogoutToken(r *http.Request, conn *sso.Connection, raw string) (string, string, error) {
	ctx := r.Context()
	if raw == "" {
		return "", "", invalid(ReasonLogoutTokenInvalid, errors.New("oidc: logout_token missing"))
	}
	m, err := rp.metadataFor(ctx, conn)
	if err != nil {
		return "", "", upstreamFailure(ReasonDiscoveryFailed, err)
	}
	t, tc, _, _, err := rp.verifySigned(ctx, conn, m, raw)
	if err != nil {
		return "", "", err
	}
	var c struct {
		Sub    string                     `json:"sub"`
		Sid    string                     `json:"sid"`
		JTI    string                     `json:"jti"`
		Nonce  *json.RawMessage           `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(t.payload, &c); err != nil {
		return "", "", invalid(ReasonLogoutTokenInvalid, err)
	}
	now, skew := rp.now(), rp.cfg.MaxClockSkew
	ev, hasEvent := c.Events[backChannelLogoutEvent]
	switch {
	case !tc.IAT.set:
		return "", "", invalid(ReasonIATMissing, nil)
	case tc.IAT.t.After(now.Add(skew)):
		return "", "", invalid(ReasonIATInFuture, nil)
	case now.Sub(tc.IAT.t) > rp.cfg.MaxIDTokenAge+skew:
		return "", "", invalid(ReasonTokenTooOld, nil)
	case !hasEvent || !strings.HasPrefix(strings.TrimSpace(string(ev)), "{"):
		return "", "", invalid(ReasonLogoutTokenInvalid, errors.New("oidc: backchannel-logout event missing"))
	case c.Nonce != nil:
		return "", "", invalid(ReasonLogoutTokenInvalid, errors.New("oidc: logout token carries a nonce"))
	case c.Sub == "" && c.Sid == "":
		return "", "", invalid(ReasonLogoutTokenInvalid, errors.New("oidc: logout token has neither sub nor sid"))
	case c.JTI == "" || len(c.JTI) > 256:
		return "", "", invalid(ReasonLogoutTokenInvalid, errors.New("oidc: logout token jti missing"))
	case (tc.AZP != "" || multipleAudiences(tc.Audience)) && tc.AZP != ConfigOf(conn).ClientID:
		return "", "", mismatch(ReasonAZPMismatch, ConfigOf(conn).ClientID, tc.AZP)
	}
	key := "bcl:" + opaque.Hash(conn.ID+"\x00"+tc.Issuer+"\x00"+c.JTI)
	if err := rp.cfg.Store.UseOnce(ctx, key, tc.IAT.t.Add(rp.cfg.MaxIDTokenAge+2*skew)); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			return "", "", invalid(ReasonReplayed, err)
		}
		return "", "", fmt.Errorf("oidc: replay cache: %w", err)
	}
	return c.Sub, c.Sid, nil
}
