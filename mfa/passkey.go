package mfa

import (
	"context"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/ssokit/ssokit/sso"
)

// PasskeyChecker lets a user's passkeys serve as their second factor
// (Config.Passkeys); sso/passkey's Manager implements it. A passkey signs
// in with user verification, which is already multi-factor, so a user who
// has one is asked to verify with it rather than to enrol a factor here.
type PasskeyChecker interface {
	// HasPasskey reports whether the user has a passkey.
	HasPasskey(ctx context.Context, userID string) (bool, error)
	// BeginCheck starts an assertion by one of the user's passkeys with
	// user verification required, for the session sessionID, returning
	// the ceremony ID and the options for navigator.credentials.get.
	BeginCheck(ctx context.Context, userID, sessionID string) (string, *protocol.CredentialAssertion, error)
	// FinishCheck verifies the assertion against a ceremony of the same
	// user and session: one of the user's own passkeys, with user
	// verification. A refusal of the assertion is an *sso.ValidationError.
	FinishCheck(ctx context.Context, userID, sessionID, ceremonyID string, body []byte) error
}

// ReasonPasskeyInvalid refuses a passkey check that failed verification
// (another user's passkey, no user verification, a replayed or expired
// ceremony, a counter gone backwards).
const ReasonPasskeyInvalid = "passkey_invalid"

// BeginPasskeyCheck starts a check of p's user by one of their passkeys as
// a second factor (Config.Passkeys). It returns the ceremony ID and the
// options for navigator.credentials.get. A user without passkeys, or a
// Manager without Config.Passkeys, gets not_enrolled; a session that must
// step up at its IdP is refused with ErrStepUpAtIdPRequired.
func (m *Manager) BeginPasskeyCheck(ctx context.Context, p *sso.Principal) (string, *protocol.CredentialAssertion, error) {
	if err := m.requireLocalFactor(ctx, p); err != nil {
		return "", nil, err
	}
	if m.cfg.Passkeys == nil {
		return "", nil, invalid(ReasonNotEnrolled, nil)
	}
	if _, err := m.checkLock(ctx, p); err != nil {
		return "", nil, err
	}
	id, opts, err := m.cfg.Passkeys.BeginCheck(ctx, p.UserID, p.SessionID)
	if isValidation(err) {
		return "", nil, invalid(ReasonNotEnrolled, err)
	} else if err != nil {
		return "", nil, fmt.Errorf("mfa: begin passkey check: %w", err)
	}
	return id, opts, nil
}

// FinishPasskeyCheck verifies the assertion (body: the PublicKeyCredential
// JSON) of a check BeginPasskeyCheck started. A refusal counts towards the
// lockout and is audited, like a wrong code; on success the caller
// elevates the session (the HTTP handler does, through Config.Elevator).
func (m *Manager) FinishPasskeyCheck(ctx context.Context, p *sso.Principal, ceremonyID string, body []byte) (err error) {
	ctx, span := m.verifySpan(ctx, p, "passkey")
	defer func() { endVerify(span, err) }()
	if err := m.requireLocalFactor(ctx, p); err != nil {
		return err
	}
	if m.cfg.Passkeys == nil {
		return invalid(ReasonNotEnrolled, nil)
	}
	dirty, err := m.checkLock(ctx, p)
	if err != nil {
		return err
	}
	if err := m.cfg.Passkeys.FinishCheck(ctx, p.UserID, p.SessionID, ceremonyID, body); err != nil {
		if isValidation(err) {
			return m.fail(ctx, p, "passkey", invalid(ReasonPasskeyInvalid, err))
		}
		return fmt.Errorf("mfa: passkey check: %w", err)
	}
	return m.succeed(ctx, p, "passkey", dirty)
}

// hasPasskey reports whether the user has a passkey that can verify here.
func (m *Manager) hasPasskey(ctx context.Context, userID string) (bool, error) {
	if m.cfg.Passkeys == nil {
		return false, nil
	}
	has, err := m.cfg.Passkeys.HasPasskey(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("mfa: passkeys: %w", err)
	}
	return has, nil
}

// anyFactor reports whether the user has a factor that verifies here: one
// of this package's or a passkey.
func (m *Manager) anyFactor(ctx context.Context, userID string) (bool, error) {
	if own, err := m.enrolled(ctx, userID); err != nil || own {
		return own, err
	}
	return m.hasPasskey(ctx, userID)
}
