package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ssokit/ssokit/sso"
)

// kindCheck is the ceremony of a passkey confirming its signed-in user.
const kindCheck = "check"

// ReasonNoPasskey refuses a check for a user without passkeys.
const ReasonNoPasskey = "no_passkey"

// HasPasskey reports whether the user has a passkey.
func (m *Manager) HasPasskey(ctx context.Context, userID string) (bool, error) {
	cs, err := m.cfg.Store.ListCredentials(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("passkey: list credentials: %w", err)
	}
	return len(cs) > 0, nil
}

// BeginCheck starts an assertion by one of the user's own passkeys (its
// allowCredentials lists them) with user verification required: the
// user signed in as sessionID confirms who they are as a second factor
// (package mfa uses it, see mfa.Config.Passkeys). It returns the ceremony
// ID, bound to the user and the session, and the options for
// navigator.credentials.get; a user without passkeys gets no_passkey.
func (m *Manager) BeginCheck(ctx context.Context, userID, sessionID string) (string, *protocol.CredentialAssertion, error) {
	wu, creds, err := m.loadUser(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	if len(creds) == 0 {
		return "", nil, deny(ReasonNoPasskey, sso.ErrNotFound, nil)
	}
	assertion, sd, err := m.wa.BeginLogin(wu, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return "", nil, fmt.Errorf("passkey: begin check: %w", err)
	}
	id, err := m.saveCeremony(ctx, userID, sessionID, kindCheck, sd)
	return id, assertion, err
}

// FinishCheck verifies the assertion (body: the PublicKeyCredential JSON)
// against a ceremony BeginCheck started for the same user and session: the signature
// of one of the user's passkeys (its userHandle theirs), user verification
// performed, the signature counter not gone backwards. Refusals are
// *sso.ValidationError values (ceremony_invalid, malformed_request,
// passkey_invalid, passkey_cloned) wrapping sso.ErrAccessDenied or
// sso.ErrInvalidInput; the caller counts them towards its lockout.
func (m *Manager) FinishCheck(ctx context.Context, userID, sessionID, ceremonyID string, body []byte) error {
	sd, err := m.takeCeremony(ctx, ceremonyID, kindCheck, userID, sessionID)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return deny(ReasonMalformed, sso.ErrInvalidInput, err)
	}
	wu, creds, err := m.loadUser(ctx, userID)
	if err != nil {
		return err
	}
	if h := parsed.Response.UserHandle; len(h) > 0 && !bytes.Equal(h, UserHandle(userID)) {
		return deny(ReasonInvalid, sso.ErrAccessDenied, errors.New("passkey: userHandle of another user"))
	}
	cred, err := m.wa.ValidateLogin(wu, *sd, parsed)
	if err != nil {
		return deny(ReasonInvalid, sso.ErrAccessDenied, err)
	}
	if !cred.Flags.UserVerified {
		return deny(ReasonInvalid, sso.ErrAccessDenied, errors.New("passkey: user verification not performed"))
	}
	if cred.Authenticator.CloneWarning {
		return deny(ReasonCloned, sso.ErrAccessDenied, nil)
	}
	i := slices.IndexFunc(creds, func(c *Credential) bool { return bytes.Equal(c.ID, cred.ID) })
	if i < 0 {
		return deny(ReasonUnknown, sso.ErrAccessDenied, errors.New("passkey: credential vanished"))
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return fmt.Errorf("passkey: encode credential: %w", err)
	}
	if err := m.cfg.Store.UpdateUse(ctx, creds[i].ID, creds[i].SignCount, cred.Authenticator.SignCount, data, m.now()); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			return deny(ReasonCloned, sso.ErrAccessDenied, err)
		}
		return fmt.Errorf("passkey: record use: %w", err)
	}
	return nil
}
