package mfa

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Status is a user's second-factor state, for account settings pages.
type Status struct {
	// Enrolled is true when the user has an active TOTP factor or a WebAuthn
	// credential.
	Enrolled bool `json:"enrolled"`
	// TOTP is true when a TOTP factor is active; TOTPPending when an
	// enrolment awaits confirmation.
	TOTP        bool `json:"totp"`
	TOTPPending bool `json:"totp_pending"`
	// WebAuthn lists the registered security keys and passkeys.
	WebAuthn []CredentialInfo `json:"webauthn"`
	// Passkey is true when the user has a passkey that verifies as a
	// second factor here (Config.Passkeys; POST /passkey/begin).
	Passkey bool `json:"passkey"`
	// RecoveryCodes is the number of unused recovery codes.
	RecoveryCodes int `json:"recovery_codes"`
	// SessionMFA and SessionMFAAt describe the current session.
	SessionMFA   bool      `json:"session_mfa"`
	SessionMFAAt time.Time `json:"session_mfa_at,omitzero"`
	// Policy is the policy decision for the session (see Evaluate), and
	// EnrollmentDue the grace period's end when one applies.
	Policy        string    `json:"policy"`
	EnrollmentDue time.Time `json:"enrollment_due,omitzero"`
}

// Status returns p's second-factor state.
func (m *Manager) Status(ctx context.Context, p *sso.Principal) (*Status, error) {
	st := &Status{WebAuthn: []CredentialInfo{}, SessionMFA: p.MFA, SessionMFAAt: p.MFAAt}
	f, err := m.cfg.Store.GetTOTP(ctx, p.UserID)
	switch {
	case err == nil:
		st.TOTP, st.TOTPPending = f.Active, !f.Active
	case !errors.Is(err, sso.ErrNotFound):
		return nil, fmt.Errorf("mfa: load factor: %w", err)
	}
	creds, err := m.cfg.Store.ListWebAuthnCredentials(ctx, p.UserID)
	if err != nil {
		return nil, fmt.Errorf("mfa: list credentials: %w", err)
	}
	for _, c := range creds {
		st.WebAuthn = append(st.WebAuthn, credentialInfo(c))
	}
	st.Enrolled = st.TOTP || len(creds) > 0
	if st.Passkey, err = m.hasPasskey(ctx, p.UserID); err != nil {
		return nil, err
	}
	if st.RecoveryCodes, err = m.cfg.Store.CountRecoveryCodes(ctx, p.UserID); err != nil {
		return nil, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	d, err := m.evaluate(ctx, p, func() (bool, error) { return st.Enrolled || st.Passkey, nil })
	if err != nil {
		return nil, err
	}
	st.Policy, st.EnrollmentDue = d.Requirement.String(), d.Deadline
	return st, nil
}

// Factor names for Disable.
const (
	FactorTOTP     = "totp"
	FactorWebAuthn = "webauthn"
	FactorAll      = "all"
)

// Disable removes a factor of p's user: FactorTOTP, one WebAuthn credential
// (FactorWebAuthn with its base64url ID) or every factor (FactorAll). When
// no factor remains the recovery codes are deleted too. p must be a session
// that verified one of the user's existing factors locally (TOTP, WebAuthn
// or a recovery code) within Config.RecentMFA: an IdP-asserted MFA or one
// carried across an organization switch is refused with
// ErrReverificationRequired, an access token with
// ErrReauthenticationRequired. It is audited, refusals too.
func (m *Manager) Disable(ctx context.Context, p *sso.Principal, factor, credentialID string) error {
	if err := m.requireReverification(ctx, p, actionDisable, factor); err != nil {
		return err
	}
	notFound := func(err error) bool { return errors.Is(err, sso.ErrNotFound) }
	switch factor {
	case FactorTOTP:
		if err := m.cfg.Store.DeleteTOTP(ctx, p.UserID); err != nil {
			if notFound(err) {
				return invalid(ReasonNotEnrolled, err)
			}
			return fmt.Errorf("mfa: delete factor: %w", err)
		}
	case FactorWebAuthn:
		id, err := base64.RawURLEncoding.DecodeString(credentialID)
		if err != nil || len(id) == 0 {
			return fmt.Errorf("%w: mfa: malformed credential ID", sso.ErrInvalidInput)
		}
		if err := m.cfg.Store.DeleteWebAuthnCredential(ctx, p.UserID, id); err != nil {
			if notFound(err) {
				return invalid(ReasonNotEnrolled, err)
			}
			return fmt.Errorf("mfa: delete credential: %w", err)
		}
	case FactorAll, "":
		factor = FactorAll
		if err := m.cfg.Store.DeleteTOTP(ctx, p.UserID); err != nil && !notFound(err) {
			return fmt.Errorf("mfa: delete factor: %w", err)
		}
		creds, err := m.cfg.Store.ListWebAuthnCredentials(ctx, p.UserID)
		if err != nil {
			return fmt.Errorf("mfa: list credentials: %w", err)
		}
		for _, c := range creds {
			if err := m.cfg.Store.DeleteWebAuthnCredential(ctx, p.UserID, c.ID); err != nil && !notFound(err) {
				return fmt.Errorf("mfa: delete credential: %w", err)
			}
		}
	default:
		return fmt.Errorf("%w: mfa: unknown factor %q", sso.ErrInvalidInput, factor)
	}
	enrolled, err := m.enrolled(ctx, p.UserID)
	if err != nil {
		return err
	}
	if !enrolled {
		if err := m.cfg.Store.DeleteRecoveryCodes(ctx, p.UserID); err != nil {
			return fmt.Errorf("mfa: delete recovery codes: %w", err)
		}
	}
	m.audit(ctx, p, EventDisabled, sso.OutcomeSuccess, "", map[string]string{"factor": factor})
	return nil
}
