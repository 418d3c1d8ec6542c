package mfa

import (
	"context"
	"errors"
	"time"

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

// maxClockSkew is how far in the future a time recorded on a session may
// be (replica clocks differ). A later MFAAt was not set by a check of ours;
// it is an IdP's claim and never counts.
const maxClockSkew = time.Minute

// mfaOrigin is where a session's MFA flag comes from.
type mfaOrigin int

const (
	// mfaNone: the session has no second factor.
	mfaNone mfaOrigin = iota
	// mfaLocal: a TOTP, WebAuthn or recovery-code check by this package
	// (or the local login's own second step), recorded by the Elevator.
	mfaLocal
	// mfaIdP: asserted by the organization's IdP at the SSO login; it counts
	// for Require and StepUp only while the organization sets TrustIdPMFA,
	// and never for managing factors.
	mfaIdP
	// mfaUntrusted: a flag with no check of ours behind it that no
	// organization setting can vouch for (carried across an organization
	// switch, or dated in the future). It never counts.
	mfaUntrusted
)

// originOfMFA classifies p's MFA flag at now. A local check is always
// recorded after the login it completes (Elevator.ElevateMFA at the time of
// the check), whereas login completion records an IdP's MFA at the IdP's
// authentication time, at or before the session's AuthAt. A session that
// entered its organization by a switch (sso.AuthSwitch) logged in nowhere
// here: its AuthAt is the login in the other organization, session
// SwitchOrg clears its MFA, so only a check recorded after that login
// counts, and nothing on it is ever IdP-asserted.
func originOfMFA(p *sso.Principal, now time.Time) mfaOrigin {
	switch {
	case !p.MFA:
		return mfaNone
	case p.MFAAt.After(now.Add(maxClockSkew)):
		return mfaUntrusted
	case p.Method == sso.AuthSwitch:
		if !p.MFAAt.IsZero() && p.MFAAt.After(p.AuthAt) {
			return mfaLocal
		}
		return mfaUntrusted
	case !p.Method.Local() && p.Method != "" && !p.MFAAt.After(p.AuthAt):
		// An SSO login (its method is the protocol's name): the MFA was the IdP's.
		return mfaIdP
	}
	return mfaLocal
}

// freshLocalMFA reports whether p's session verified one of its user's
// factors locally within d.
func (m *Manager) freshLocalMFA(p *sso.Principal, d time.Duration) bool {
	now := m.now()
	return originOfMFA(p, now) == mfaLocal && !p.MFAAt.IsZero() && now.Sub(p.MFAAt) <= d
}

// recentLogin reports whether p's session logged in to its organization
// itself (not by a switch) within Config.RecentLogin.
func (m *Manager) recentLogin(p *sso.Principal) bool {
	now := m.now()
	return p.Method != sso.AuthSwitch && !p.AuthAt.IsZero() &&
		!p.AuthAt.After(now.Add(maxClockSkew)) && now.Sub(p.AuthAt) <= m.cfg.RecentLogin
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
// factor. While the user has an active factor, it is requireReverification.
// For the first factor, a local verification within Config.RecentMFA (a
// recovery code, when Config.RequireReenrollmentAfterRecovery removed the
// factor) or a login of the session's own within Config.RecentLogin is
// needed. Access tokens are refused.
func (m *Manager) authorizeEnrolment(ctx context.Context, p *sso.Principal, factor string) error {
	if p.Kind != sso.PrincipalSession {
		m.refuse(ctx, p, actionEnrol, factor, ErrReauthenticationRequired)
		return ErrReauthenticationRequired
	}
	enrolled, err := m.enrolled(ctx, p.UserID)
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
