package mfa

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Ceremony kinds.
const (
	ceremonyRegister = "register"
	ceremonyLogin    = "login"
)

func (m *Manager) initWebAuthn(c *WebAuthnConfig) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: mfa: WebAuthn: "+format, append([]any{sso.ErrInvalidConfig}, a...)...)
	}
	if c.RPID == "" || len(c.Origins) == 0 {
		return bad("RPID and Origins are required")
	}
	uv := protocol.UserVerificationRequirement(c.UserVerification)
	switch uv {
	case "":
		uv = protocol.VerificationPreferred
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		return bad("unknown UserVerification %q", c.UserVerification)
	}
	name := c.RPDisplayName
	if name == "" {
		name = m.cfg.Issuer
	}
	m.waTTL = c.Timeout
	if m.waTTL <= 0 {
		m.waTTL = 5 * time.Minute
	}
	timeout := webauthn.TimeoutConfig{Enforce: true, Timeout: m.waTTL, TimeoutUVD: m.waTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                   c.RPID,
		RPDisplayName:          name,
		RPOrigins:              append([]string(nil), c.Origins...),
		AttestationPreference:  protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: uv},
		Timeouts:               webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return bad("%v", err)
	}
	m.wa = wa
	return nil
}

// waUser adapts a user and their credentials to webauthn.User.
type waUser struct {
	id      []byte
	name    string
	display string
	creds   []webauthn.Credential
	stored  []*WebAuthnCredential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return u.name }
func (u *waUser) WebAuthnDisplayName() string                { return u.display }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userHandle is the WebAuthn user handle: a hash of the user ID, so it is
// fixed-length (<= 64 bytes) and carries nothing personal.
func userHandle(userID string) []byte {
	h := sha256.Sum256([]byte("ssokit-mfa-user\x00" + userID))
	return h[:]
}

func (m *Manager) loadWAUser(ctx context.Context, userID string) (*waUser, error) {
	u, err := m.cfg.Users.GetUser(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: load user: %w", err)
	}
	stored, err := m.cfg.Store.ListWebAuthnCredentials(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("mfa: list credentials: %w", err)
	}
	wu := &waUser{id: userHandle(userID), name: u.Email, display: u.DisplayName, stored: stored}
	if wu.name == "" {
		wu.name = u.ID
	}
	if wu.display == "" {
		wu.display = wu.name
	}
	for _, s := range stored {
		var c webauthn.Credential
		if err := json.Unmarshal(s.Data, &c); err != nil {
			return nil, fmt.Errorf("mfa: decode credential: %w", err)
		}
		c.Authenticator.SignCount = s.SignCount
		wu.creds = append(wu.creds, c)
	}
	return wu, nil
}

func (m *Manager) saveCeremony(ctx context.Context, p *sso.Principal, kind string, sd *webauthn.SessionData) (string, error) {
	data, err := json.Marshal(sd)
	if err != nil {
		return "", fmt.Errorf("mfa: encode ceremony: %w", err)
	}
	c := &Ceremony{ID: opaque.NewToken(32), UserID: p.UserID, SessionID: p.SessionID, Kind: kind, Data: data, ExpiresAt: m.now().Add(m.waTTL)}
	if err := m.cfg.Store.SaveCeremony(ctx, c); err != nil {
		return "", fmt.Errorf("mfa: store ceremony: %w", err)
	}
	return c.ID, nil
}

// takeCeremony consumes the ceremony and checks it belongs to p's session
// and to kind.
func (m *Manager) takeCeremony(ctx context.Context, p *sso.Principal, id, kind string) (*webauthn.SessionData, error) {
	if id == "" || len(id) > 128 {
		return nil, invalid(ReasonCeremonyInvalid, errors.New("mfa: missing or oversized ceremony ID"))
	}
	c, err := m.cfg.Store.TakeCeremony(ctx, id)
	if errors.Is(err, sso.ErrNotFound) {
		return nil, invalid(ReasonCeremonyInvalid, err)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: take ceremony: %w", err)
	}
	if c.UserID != p.UserID || c.SessionID != p.SessionID || c.Kind != kind {
		return nil, invalid(ReasonCeremonyInvalid, errors.New("mfa: ceremony of another user, session or kind"))
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(c.Data, &sd); err != nil {
		return nil, fmt.Errorf("mfa: decode ceremony: %w", err)
	}
	return &sd, nil
}

// CredentialInfo describes a registered WebAuthn credential for UIs.
type CredentialInfo struct {
	// ID is the base64url credential ID.
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

func credentialInfo(c *WebAuthnCredential) CredentialInfo {
	return CredentialInfo{ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name, CreatedAt: c.CreatedAt, LastUsedAt: c.LastUsedAt}
}

// BeginWebAuthnRegistration starts registering a security key or passkey
// for p's user. It returns the ceremony ID the finish step needs and the
// options to pass to navigator.credentials.create (as JSON). Once the user
// has any active factor, adding one needs a local verification of an
// existing factor within Config.RecentMFA (ErrReverificationRequired); the
// first factor needs that or a login of the session's own within
// Config.RecentLogin, not an organization switch
// (ErrReauthenticationRequired). Access tokens are refused.
func (m *Manager) BeginWebAuthnRegistration(ctx context.Context, p *sso.Principal) (string, *protocol.CredentialCreation, error) {
	if m.wa == nil {
		return "", nil, invalid(ReasonWebAuthnDisabled, nil)
	}
	if err := m.authorizeEnrolment(ctx, p, FactorWebAuthn); err != nil {
		return "", nil, err
	}
	wu, err := m.loadWAUser(ctx, p.UserID)
	if err != nil {
		return "", nil, err
	}
	excl := make([]protocol.CredentialDescriptor, 0, len(wu.creds))
	for _, c := range wu.creds {
		excl = append(excl, c.Descriptor())
	}
	creation, sd, err := m.wa.BeginRegistration(wu, webauthn.WithExclusions(excl))
	if err != nil {
		return "", nil, fmt.Errorf("mfa: begin registration: %w", err)
	}
	id, err := m.saveCeremony(ctx, p, ceremonyRegister, sd)
	if err != nil {
		return "", nil, err
	}
	return id, creation, nil
}

// FinishWebAuthnRegistration verifies the authenticator's attestation
// response (body: the PublicKeyCredential JSON) against the ceremony and
// stores the credential under name. It returns the credential and, when
// the user had no recovery codes, a fresh set to show once. The ceremony is
// bound to the session that began it, and the session must still pass the
// rules of BeginWebAuthnRegistration.
func (m *Manager) FinishWebAuthnRegistration(ctx context.Context, p *sso.Principal, ceremonyID, name string, body []byte) (*CredentialInfo, []string, error) {
	if m.wa == nil {
		return nil, nil, invalid(ReasonWebAuthnDisabled, nil)
	}
	if err := m.authorizeEnrolment(ctx, p, FactorWebAuthn); err != nil {
		return nil, nil, err
	}
	sd, err := m.takeCeremony(ctx, p, ceremonyID, ceremonyRegister)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, nil, invalid(ReasonWebAuthnMalformed, err)
	}
	wu, err := m.loadWAUser(ctx, p.UserID)
	if err != nil {
		return nil, nil, err
	}
	cred, err := m.wa.CreateCredential(wu, *sd, parsed)
	if err != nil {
		return nil, nil, invalid(ReasonWebAuthnInvalid, err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: encode credential: %w", err)
	}
	if len(name) > 64 {
		name = name[:64]
	}
	if name == "" {
		name = "Security key"
	}
	now := m.now()
	rec := &WebAuthnCredential{ID: cred.ID, UserID: p.UserID, Name: name, Data: data, SignCount: cred.Authenticator.SignCount, CreatedAt: now}
	if err := m.cfg.Store.CreateWebAuthnCredential(ctx, rec); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			return nil, nil, invalid(ReasonWebAuthnInvalid, err)
		}
		return nil, nil, fmt.Errorf("mfa: store credential: %w", err)
	}
	m.audit(ctx, p, EventEnrolled, sso.OutcomeSuccess, "", map[string]string{"factor": "webauthn", "credential": credentialInfo(rec).ID})
	n, err := m.cfg.Store.CountRecoveryCodes(ctx, p.UserID)
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: count recovery codes: %w", err)
	}
	info := credentialInfo(rec)
	if n > 0 {
		return &info, nil, nil
	}
	codes, err := m.newRecoveryCodes(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	return &info, codes, nil
}

// BeginWebAuthnLogin starts a WebAuthn assertion of one of p's registered
// credentials as a second factor. It returns the ceremony ID and the
// options for navigator.credentials.get. A session that must step up at
// its IdP is refused with ErrStepUpAtIdPRequired.
func (m *Manager) BeginWebAuthnLogin(ctx context.Context, p *sso.Principal) (string, *protocol.CredentialAssertion, error) {
	if err := m.requireLocalFactor(ctx, p); err != nil {
		return "", nil, err
	}
	if m.wa == nil {
		return "", nil, invalid(ReasonWebAuthnDisabled, nil)
	}
	if _, err := m.checkLock(ctx, p); err != nil {
		return "", nil, err
	}
	wu, err := m.loadWAUser(ctx, p.UserID)
	if err != nil {
		return "", nil, err
	}
	if len(wu.creds) == 0 {
		return "", nil, invalid(ReasonNotEnrolled, nil)
	}
	assertion, sd, err := m.wa.BeginLogin(wu)
	if err != nil {
		return "", nil, fmt.Errorf("mfa: begin login: %w", err)
	}
	id, err := m.saveCeremony(ctx, p, ceremonyLogin, sd)
	if err != nil {
		return "", nil, err
	}
	return id, assertion, nil
}

// FinishWebAuthnLogin verifies an assertion (body: the PublicKeyCredential
// JSON) against the ceremony: challenge, origin, RP ID, user presence,
// signature, and a signature counter that must grow (a regression is
// refused as a possible cloned authenticator). Every rejection counts
// towards the lockout and is audited. A session that must step up at its
// IdP is refused with ErrStepUpAtIdPRequired before the ceremony is taken.
func (m *Manager) FinishWebAuthnLogin(ctx context.Context, p *sso.Principal, ceremonyID string, body []byte) (err error) {
	ctx, span := m.verifySpan(ctx, p, "webauthn")
	defer func() { endVerify(span, err) }()
	if err := m.requireLocalFactor(ctx, p); err != nil {
		return err
	}
	if m.wa == nil {
		return invalid(ReasonWebAuthnDisabled, nil)
	}
	dirty, err := m.checkLock(ctx, p)
	if err != nil {
		return err
	}
	sd, err := m.takeCeremony(ctx, p, ceremonyID, ceremonyLogin)
	if err != nil {
		if isValidation(err) {
			return m.fail(ctx, p, "webauthn", err)
		}
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return m.fail(ctx, p, "webauthn", invalid(ReasonWebAuthnMalformed, err))
	}
	wu, err := m.loadWAUser(ctx, p.UserID)
	if err != nil {
		return err
	}
	cred, err := m.wa.ValidateLogin(wu, *sd, parsed)
	if err != nil {
		return m.fail(ctx, p, "webauthn", invalid(ReasonWebAuthnInvalid, err))
	}
	if cred.Authenticator.CloneWarning {
		return m.fail(ctx, p, "webauthn", invalid(ReasonCounterRegression, nil))
	}
	var stored *WebAuthnCredential
	for _, s := range wu.stored {
		if string(s.ID) == string(cred.ID) {
			stored = s
		}
	}
	if stored == nil {
		return m.fail(ctx, p, "webauthn", invalid(ReasonWebAuthnInvalid, errors.New("mfa: credential vanished")))
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return fmt.Errorf("mfa: encode credential: %w", err)
	}
	err = m.cfg.Store.UpdateWebAuthnUse(ctx, p.UserID, cred.ID, stored.SignCount, cred.Authenticator.SignCount, data, m.now())
	switch {
	case errors.Is(err, sso.ErrConflict):
		// Another assertion with this credential won the race.
		return m.fail(ctx, p, "webauthn", invalid(ReasonCounterRegression, err))
	case errors.Is(err, sso.ErrNotFound):
		return m.fail(ctx, p, "webauthn", invalid(ReasonWebAuthnInvalid, err))
	case err != nil:
		return fmt.Errorf("mfa: record credential use: %w", err)
	}
	return m.succeed(ctx, p, "webauthn", dirty)
}
