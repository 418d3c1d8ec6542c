package mfa

import (
	"context"
	"errors"
	"time"

	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/sso"
)

// Who may manage a user's factors (threat T-M.9 in SECURITY.md): whoever
// controls one organization's IdP can sign a shared user in there, with an
// MFA the IdP asserts, and switch into another organization. Factors belong
// to the user, not to an organization, so removing the user's factor and
// enrolling one's own there would pass every organization's MFA policy.
// Hence:
//   - disabling a factor, regenerating recovery codes and enrolling a
//     factor while one is active need a local verification of an existing
//     factor on this session within Config.RecentMFA (requireReverification);
//   - enrolling the first factor needs that, or a login of the session's
//     own within Config.RecentLogin, which a switched session does not have
//     (authorizeEnrolment);
//   - access tokens manage nothing.

// freshLocalMFA reports whether p's session verified one of its user's
// factors locally within d.
func (m *Manager) freshLocalMFA(p *sso.Principal, d time.Duration) bool {
	return mfactx.FreshLocal(p, m.now(), d)
}

// recentLogin reports whether p's session logged in to its organization
// itself (not by a switch) within Config.RecentLogin.
func (m *Manager) recentLogin(p *sso.Principal) bool {
	return p.Method != sso.AuthSwitch && mfactx.RecentLogin(p, m.now(), m.cfg.RecentLogin)
}

// Factor-management actions, as audited in the "action" detail of refusals.
const (
	actionDisable    = "disable"
	actionRegenerate = "regenerate_recovery_codes"
	actionEnrol      = "enrol"
)

// requireReverification allows disabling factors and regenerating recovery
// codes: only an interactive session that verified an existing factor
// locally within Config.RecentMFA may. A refusal is audited.
func (m *Manager) requireReverification(ctx context.Context, p *sso.Principal, action, factor string) error {
	var err error
	switch {
	case p.Kind != sso.PrincipalSession:
		err = ErrReauthenticationRequired
	case !m.freshLocalMFA(p, m.cfg.RecentMFA):
		err = ErrReverificationRequired
	default:
		return nil
	}
	m.refuse(ctx, p, action, factor, err)
	return err
}

// authorizeEnrolment allows starting or finishing the enrolment of a
// factor. While the user has an active factor (a passkey included, see
// Config.Passkeys), it is requireReverification.
// For the first factor, a local verification within Config.RecentMFA (a
// recovery code, when Config.RequireReenrollmentAfterRecovery removed the
// factor) or a login of the session's own within Config.RecentLogin is
// needed. Access tokens are refused.
func (m *Manager) authorizeEnrolment(ctx context.Context, p *sso.Principal, factor string) error {
	if p.Kind != sso.PrincipalSession {
		m.refuse(ctx, p, actionEnrol, factor, ErrReauthenticationRequired)
		return ErrReauthenticationRequired
	}
	enrolled, err := m.anyFactor(ctx, p.UserID)
	if err != nil {
		return err
	}
	if enrolled {
		return m.requireReverification(ctx, p, actionEnrol, factor)
	}
	if m.freshLocalMFA(p, m.cfg.RecentMFA) || m.recentLogin(p) {
		return nil
	}
	m.refuse(ctx, p, actionEnrol, factor, ErrReauthenticationRequired)
	return ErrReauthenticationRequired
}

// refuse audits a refused factor-management request: an enrolment or
// regeneration as a failed EventEnrolled, a removal as a failed
// EventDisabled, with the public code as the reason.
func (m *Manager) refuse(ctx context.Context, p *sso.Principal, action, factor string, err error) {
	typ := EventEnrolled
	if action == actionDisable {
		typ = EventDisabled
	}
	details := map[string]string{"action": action, "method": string(p.Method), "principal": string(p.Kind)}
	if factor != "" {
		details["factor"] = factor
	}
	m.audit(ctx, p, typ, sso.OutcomeFailure, publicCode(err), details)
}

// publicCode is the JSON error code of a factor-management refusal.
func publicCode(err error) string {
	switch {
	case errors.Is(err, ErrReauthenticationRequired):
		return CodeReauthenticationRequired
	case errors.Is(err, ErrReverificationRequired):
		return CodeReverificationRequired
	}
	return sso.ReasonOf(err)
}
