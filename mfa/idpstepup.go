package mfa

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// Bounds of a step-up's max_age at the IdP.
const (
	minIdPStepUpAge = time.Minute
	maxIdPStepUpAge = time.Hour
)

// CodeStepUpAtIdPUnavailable is the JSON error of GET /step-up/idp when
// the session cannot step up at its IdP (not an SSO session, or the
// organization asks for the local factor).
const CodeStepUpAtIdPUnavailable = "mfa_step_up_at_idp_unavailable"

// idpStepUpConn returns the connection a step-up of p goes back to when
// its organization asks for step-ups at the IdP (sso.MFAPolicy.StepUpAtIdP
// with TrustIdPMFA): the active connection of p's organization that made
// p's session, with a starter configured. It returns nil, nil when the
// local factor applies.
func (m *Manager) idpStepUpConn(ctx context.Context, p *sso.Principal, org *sso.Organization) (*sso.Connection, error) {
	if m.cfg.Starters == nil || m.cfg.Connections == nil || org == nil || p.ConnectionID == "" ||
		p.Method == "" || p.Method.Local() || p.Method == sso.AuthSwitch || p.SessionID == "" {
		return nil, nil
	}
	if pol := org.Settings.MFA; !pol.TrustIdPMFA || !pol.StepUpAtIdP {
		return nil, nil
	}
	conn, err := m.cfg.Connections.GetConnection(ctx, p.ConnectionID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("mfa: load connection: %w", err)
	case conn.OrgID != p.OrgID || conn.Status != sso.ConnectionActive || string(conn.Protocol) != string(p.Method) ||
		m.cfg.Starters[conn.Protocol] == nil:
		return nil, nil
	}
	return conn, nil
}

// ServeIdPStepUp answers GET /step-up/idp: it sends a session made by an
// SSO connection back to that connection's IdP for a step-up, asking for
// MFA and an authentication no older than max_age seconds (default
// Config.RecentMFA, within one minute to one hour), bound to this session
// (sso.StepUp); the login completes at return_to. A session that must
// step up locally gets 409 {"error": "mfa_step_up_at_idp_unavailable"}.
// Require and StepUp redirect browsers here when the organization asks
// for step-ups at the IdP.
func (m *Manager) ServeIdPStepUp(w http.ResponseWriter, r *http.Request) {
	p, ok := sso.PrincipalFrom(r.Context())
	if !ok {
		writeJSONError(w, http.StatusUnauthorized, CodeUnauthenticated)
		return
	}
	maxAge := m.cfg.RecentMFA
	if v := r.URL.Query().Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "field": "max_age",
				"message": "max_age must be a positive number of seconds"})
			return
		}
		maxAge = min(max(time.Duration(n)*time.Second, minIdPStepUpAge), maxIdPStepUpAge)
	}
	ctx := r.Context()
	org, err := m.cfg.Orgs.GetOrg(ctx, p.OrgID)
	if err != nil && !errors.Is(err, sso.ErrNotFound) {
		m.log.ErrorContext(ctx, "mfa: step-up policy lookup failed", "error", err)
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
		return
	}
	conn, err := m.idpStepUpConn(ctx, p, org)
	if err != nil {
		m.log.ErrorContext(ctx, "mfa: step-up connection lookup failed", "error", err)
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if conn == nil {
		writeJSONError(w, http.StatusConflict, CodeStepUpAtIdPUnavailable)
		return
	}
	now := m.now()
	opts := sso.StartOptions{
		ReturnTo: returnto.Safe(r.URL.Query().Get("return_to"), ""), RequireMFA: true, MaxAge: maxAge, ForceAuthn: true,
		StepUp: &sso.StepUp{SessionID: p.SessionID, UserID: p.UserID, OrgID: p.OrgID, ConnectionID: conn.ID, MaxAge: maxAge, At: now},
	}
	if err := m.cfg.Starters[conn.Protocol].StartLogin(w, r, conn, opts); err != nil {
		m.log.ErrorContext(ctx, "mfa: step-up at the IdP not started", "connection", conn.ID, "reason", sso.ReasonOf(err), "error", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "upstream_unavailable",
			"message": "your organization's sign-in service could not be reached; try again in a moment"})
	}
}

// idpStepUpURL is where a browser that must step up at its IdP goes:
// Config.IdPStepUpURL (the package's GET /step-up/idp) with max_age when
// positive; deny adds return_to.
func (m *Manager) idpStepUpURL(maxAge time.Duration) string {
	if maxAge <= 0 {
		return m.cfg.IdPStepUpURL
	}
	return m.cfg.IdPStepUpURL + "?max_age=" + strconv.Itoa(int(maxAge/time.Second))
}

// CodeStepUpAtIdPRequired is the JSON error of POST /verify, /recovery,
// /totp/confirm's elevation and /webauthn/login/* for a session that must
// prove its second factor at its IdP: its organization asks for step-ups
// there (sso.MFAPolicy.StepUpAtIdP with TrustIdPMFA) without the local
// fallback (StepUpLocalFallback off), and the session was made by one of
// its active SSO connections. The answer's step_up_url is where to go.
const CodeStepUpAtIdPRequired = "mfa_step_up_at_idp_required"

// ReasonLocalFactorNotAllowed is the reason of the mfa.failed event of a
// local factor refused by CodeStepUpAtIdPRequired.
const ReasonLocalFactorNotAllowed = "local_factor_not_allowed"

// localFactorRefused reports whether p's session may not satisfy its
// organization's MFA with a local factor: the organization asks for
// step-ups at the IdP without the local fallback and the session can step
// up there (idpStepUpConn). Sessions that cannot (local sign-ins,
// switches, a connection gone) keep the local factor.
func (m *Manager) localFactorRefused(ctx context.Context, p *sso.Principal) (bool, error) {
	if m.cfg.Starters == nil || m.cfg.Connections == nil || p.ConnectionID == "" {
		return false, nil
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, p.OrgID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("mfa: step-up policy lookup: %w", err)
	case org.Settings.MFA.StepUpLocalFallback:
		return false, nil
	}
	conn, err := m.idpStepUpConn(ctx, p, org)
	return conn != nil, err
}

// ErrStepUpAtIdPRequired is returned, wrapped, by VerifyTOTP,
// UseRecoveryCode, BeginWebAuthnLogin and FinishWebAuthnLogin for a
// session that must prove its second factor at its IdP
// (localFactorRefused), before any code or credential is checked; the
// refusal is audited as mfa.failed with ReasonLocalFactorNotAllowed. The
// HTTP handlers answer it with 409 CodeStepUpAtIdPRequired and the IdP
// step-up URL; a host calling these methods itself must not elevate the
// session either, and can send the user to StepUpAtIdPURL.
var ErrStepUpAtIdPRequired = fmt.Errorf("mfa: the organization confirms a second factor at its identity provider: %w", sso.ErrForbidden)

// errStepUpPolicyLookup reports that whether a local factor is allowed
// could not be read: the factor is refused, as unavailable.
var errStepUpPolicyLookup = errors.New("mfa: step-up policy lookup failed")

// requireLocalFactor refuses a local factor p's session may not use
// (localFactorRefused), audited, with an error wrapping
// ErrStepUpAtIdPRequired.
func (m *Manager) requireLocalFactor(ctx context.Context, p *sso.Principal) error {
	refused, err := m.localFactorRefused(ctx, p)
	if err != nil {
		return fmt.Errorf("%w: %w", errStepUpPolicyLookup, err)
	}
	if !refused {
		return nil
	}
	m.audit(ctx, p, EventFailed, sso.OutcomeFailure, ReasonLocalFactorNotAllowed, nil)
	return ErrStepUpAtIdPRequired
}

// answerFactorErr answers an error of a local factor's method: a refusal by
// requireLocalFactor as 409 CodeStepUpAtIdPRequired with the IdP step-up
// URL, a failed policy lookup as 503, anything else through the error
// handler.
func (m *Manager) answerFactorErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrStepUpAtIdPRequired):
		writeJSON(w, http.StatusConflict, map[string]string{"error": CodeStepUpAtIdPRequired, "step_up_url": m.cfg.IdPStepUpURL,
			"message": "Your organization confirms a second factor at its identity provider, not here. Sign in there again to continue."})
	case errors.Is(err, errStepUpPolicyLookup):
		m.log.ErrorContext(r.Context(), "mfa: step-up policy lookup failed", "error", err)
		writeJSONError(w, http.StatusServiceUnavailable, "unavailable")
	default:
		m.errorFn(w, r, err)
	}
}
