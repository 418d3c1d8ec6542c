package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/ssokit/ssokit/internal/localorg"
	"github.com/ssokit/ssokit/internal/mfactx"
	"github.com/ssokit/ssokit/sso"
)

const (
	kindRegister = "register"
	kindLogin    = "login"
)

// BeginRegistration starts registering a passkey for the signed-in
// principal p: a discoverable credential with user verification, excluding
// the user's existing passkeys. It returns the ceremony ID and the options
// for navigator.credentials.create. p must be a session whose own login,
// by a local method, is within Config.RecentLogin (see mayRegister).
func (m *Manager) BeginRegistration(ctx context.Context, p *sso.Principal) (string, *protocol.CredentialCreation, error) {
	if err := m.mayRegister(ctx, p); err != nil {
		return "", nil, err
	}
	wu, _, err := m.loadUser(ctx, p.UserID)
	if err != nil {
		return "", nil, err
	}
	excl := make([]protocol.CredentialDescriptor, 0, len(wu.creds))
	for _, c := range wu.creds {
		excl = append(excl, c.Descriptor())
	}
	creation, sd, err := m.wa.BeginRegistration(wu, webauthn.WithExclusions(excl))
	if err != nil {
		return "", nil, fmt.Errorf("passkey: begin registration: %w", err)
	}
	id, err := m.saveCeremony(ctx, p.UserID, p.SessionID, kindRegister, sd)
	return id, creation, err
}

// FinishRegistration verifies the authenticator's attestation response
// (body: the PublicKeyCredential JSON) against the ceremony p's session
// began, and stores the passkey under name. p must still pass the rule of
// BeginRegistration.
func (m *Manager) FinishRegistration(ctx context.Context, p *sso.Principal, ceremonyID, name string, body []byte) (*Info, error) {
	if err := m.mayRegister(ctx, p); err != nil {
		return nil, err
	}
	sd, err := m.takeCeremony(ctx, ceremonyID, kindRegister, p.UserID, p.SessionID)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, deny(ReasonMalformed, sso.ErrInvalidInput, err)
	}
	wu, _, err := m.loadUser(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	cred, err := m.wa.CreateCredential(wu, *sd, parsed)
	if err != nil {
		return nil, deny(ReasonInvalid, sso.ErrInvalidInput, err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, fmt.Errorf("passkey: encode credential: %w", err)
	}
	rec := &Credential{ID: cred.ID, UserID: p.UserID, Name: cleanName(name), Data: data, SignCount: cred.Authenticator.SignCount, CreatedAt: m.now()}
	if err := m.cfg.Store.CreateCredential(ctx, rec); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			return nil, deny(ReasonInvalid, sso.ErrConflict, err)
		}
		return nil, fmt.Errorf("passkey: store credential: %w", err)
	}
	i := info(rec)
	m.audit(ctx, &sso.Event{OrgID: p.OrgID, Type: EventRegistered, Actor: sso.Actor{Type: sso.ActorUser, ID: p.UserID},
		Target: sso.Target{Type: "user", ID: p.UserID}, Details: map[string]string{"credential": i.ID}})
	return &i, nil
}

// mayRegister allows p to register a passkey. A passkey signs its user in
// to every organization that allows passkeys, and its user verification
// counts as MFA there, so registering one needs proof that the person is
// the user, not that some organization vouches for them: a session (not an
// access token) whose own login (not an organization switch) was by a
// local method and within Config.RecentLogin. A session an IdP made does
// not qualify: whoever administers one organization's IdP can sign in any
// of its users, and must not gain a way into the users' other
// organizations (threat T-M.9). While the user has a second factor, the
// session must also have verified one (see secondFactorVerified). A
// refusal is audited.
func (m *Manager) mayRegister(ctx context.Context, p *sso.Principal) error {
	if p == nil || p.UserID == "" || p.SessionID == "" {
		return deny(ReasonUnauthenticated, sso.ErrForbidden, nil)
	}
	if p.Kind != sso.PrincipalSession || !mfactx.RecentLocalLogin(p, m.now(), m.cfg.RecentLogin) {
		m.refused(ctx, p, EventRegistered, ReasonReauthenticationRequired)
		return deny(ReasonReauthenticationRequired, sso.ErrForbidden, nil)
	}
	return m.secondFactorVerified(ctx, p, EventRegistered)
}

// secondFactorVerified allows adding (eventType EventRegistered) or
// deleting (EventDeleted) a passkey of p's user. A passkey is a second
// factor (its login counts as MFA), so while the user has one — a passkey,
// or a factor Config.SecondFactor reports — p must be a session that
// verified one here within Config.RecentLogin: otherwise a password alone
// would add a passkey that passes the organization's MFA, or delete the
// user's passkeys to add its own as the first. A refusal is audited.
func (m *Manager) secondFactorVerified(ctx context.Context, p *sso.Principal, eventType string) error {
	has, err := m.hasSecondFactor(ctx, p.UserID)
	if err != nil || !has || m.freshLocalMFA(p) {
		return err
	}
	m.refused(ctx, p, eventType, ReasonReverificationRequired)
	return deny(ReasonReverificationRequired, sso.ErrForbidden, nil)
}

// hasSecondFactor reports whether the user has a passkey or a second
// factor Config.SecondFactor reports.
func (m *Manager) hasSecondFactor(ctx context.Context, userID string) (bool, error) {
	cs, err := m.cfg.Store.ListCredentials(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("passkey: list credentials: %w", err)
	}
	if len(cs) > 0 || m.cfg.SecondFactor == nil {
		return len(cs) > 0, nil
	}
	has, err := m.cfg.SecondFactor(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("passkey: second factors: %w", err)
	}
	return has, nil
}

// freshLocalMFA reports whether p is a session that verified a second
// factor here within Config.RecentLogin (mfactx.FreshLocal: an IdP's MFA,
// and one carried across an organization switch, date from before the
// session's login and do not count).
func (m *Manager) freshLocalMFA(p *sso.Principal) bool {
	return p.Kind == sso.PrincipalSession && mfactx.FreshLocal(p, m.now(), m.cfg.RecentLogin)
}

// refused audits a refused registration or deletion with reason.
func (m *Manager) refused(ctx context.Context, p *sso.Principal, eventType, reason string) {
	m.audit(ctx, &sso.Event{OrgID: p.OrgID, Type: eventType, Outcome: sso.OutcomeFailure, Reason: reason,
		Actor: sso.Actor{Type: sso.ActorUser, ID: p.UserID}, Target: sso.Target{Type: "user", ID: p.UserID},
		Details: map[string]string{"principal": string(p.Kind), "method": string(p.Method)}})
}

// BeginLogin starts a passwordless login: a discoverable-credential
// assertion with an empty allowCredentials, which the page may run with
// mediation "conditional" (autofill). It returns the ceremony ID and the
// options for navigator.credentials.get.
func (m *Manager) BeginLogin(ctx context.Context) (string, *protocol.CredentialAssertion, error) {
	assertion, sd, err := m.wa.BeginDiscoverableLogin()
	if err != nil {
		return "", nil, fmt.Errorf("passkey: begin login: %w", err)
	}
	id, err := m.saveCeremony(ctx, "", "", kindLogin, sd)
	return id, assertion, err
}

// FinishLogin verifies the assertion (body: the PublicKeyCredential JSON)
// against the ceremony, resolves the user from the credential and its
// userHandle, applies the organization's policy (org: a slug, or empty for
// the user's only organization) and issues the session with Method
// "passkey"; the passkey's user verification counts as MFA.
func (m *Manager) FinishLogin(w http.ResponseWriter, r *http.Request, ceremonyID string, body []byte, org string) (*sso.SessionGrant, error) {
	ctx, finish := m.tel.StartSignIn(r.Context(), string(Method), "")
	r = r.WithContext(ctx)
	g, userID, err := m.finishLogin(w, r, ceremonyID, body, org)
	if err != nil {
		e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err),
			Details: map[string]string{"method": string(Method)}}
		if userID != "" {
			e.Actor, e.Target = sso.Actor{Type: sso.ActorUser, ID: userID}, sso.Target{Type: "user", ID: userID}
		}
		var ve *sso.ValidationError
		if errors.As(err, &ve) && ve.Want != "" {
			e.OrgID = ve.Want
		}
		m.audit(ctx, e)
		finish(e.OrgID, e.Reason, err)
		return nil, err
	}
	finish(g.OrgID, "", nil)
	return g, nil
}

func (m *Manager) finishLogin(w http.ResponseWriter, r *http.Request, ceremonyID string, body []byte, slug string) (*sso.SessionGrant, string, error) {
	ctx := r.Context()
	sd, err := m.takeCeremony(ctx, ceremonyID, kindLogin, "", "")
	if err != nil {
		return nil, "", err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, "", deny(ReasonMalformed, sso.ErrInvalidInput, err)
	}
	var stored *Credential
	var lookupErr error // a store failure, not the assertion's fault
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		c, err := m.cfg.Store.GetCredential(ctx, rawID)
		if err != nil {
			if !errors.Is(err, sso.ErrNotFound) {
				lookupErr = fmt.Errorf("passkey: find credential: %w", err)
			}
			return nil, err
		}
		if !bytes.Equal(userHandle, UserHandle(c.UserID)) {
			return nil, errors.New("passkey: userHandle is not the credential owner's")
		}
		wu, creds, err := m.loadUser(ctx, c.UserID)
		if err != nil {
			if !errors.Is(err, sso.ErrNotFound) {
				lookupErr = err
			}
			return nil, err
		}
		i := slices.IndexFunc(creds, func(x *Credential) bool { return bytes.Equal(x.ID, rawID) })
		if i < 0 {
			return nil, fmt.Errorf("passkey: credential vanished: %w", sso.ErrNotFound)
		}
		stored = creds[i]
		return wu, nil
	}
	_, cred, err := m.wa.ValidatePasskeyLogin(handler, *sd, parsed)
	if err != nil {
		if lookupErr != nil {
			return nil, "", lookupErr
		}
		if stored == nil {
			return nil, "", deny(ReasonUnknown, sso.ErrAccessDenied, err)
		}
		return nil, stored.UserID, deny(ReasonInvalid, sso.ErrAccessDenied, err)
	}
	userID := stored.UserID
	if cred.Authenticator.CloneWarning {
		return nil, userID, deny(ReasonCloned, sso.ErrAccessDenied, nil)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return nil, userID, fmt.Errorf("passkey: encode credential: %w", err)
	}
	if err := m.cfg.Store.UpdateUse(ctx, stored.ID, stored.SignCount, cred.Authenticator.SignCount, data, m.now()); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			return nil, userID, deny(ReasonCloned, sso.ErrAccessDenied, err)
		}
		return nil, userID, fmt.Errorf("passkey: record use: %w", err)
	}
	org, mem, err := m.pickOrg(ctx, userID, slug)
	if err != nil {
		return nil, userID, err
	}
	switch org.SignInVerdict(Method) {
	case sso.SignInNotInPlan:
		return nil, userID, &sso.ValidationError{Protocol: Protocol, Reason: ReasonFeature, Want: org.ID, Err: sso.ErrAccessDenied}
	case sso.SignInTurnedOff:
		return nil, userID, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMethodDisabled, Want: org.ID, Err: sso.ErrAccessDenied}
	}
	if err := m.cfg.Enforcer.LocalLoginAllowed(ctx, org.ID, userID); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			return nil, userID, &sso.ValidationError{Protocol: Protocol, Reason: ReasonSSORequired, Want: org.ID,
				Err: &sso.SSORequiredError{OrgID: org.ID, URL: m.cfg.SSOLoginPath + url.PathEscape(org.Slug)}}
		}
		return nil, userID, err
	}
	now := m.now()
	uv := cred.Flags.UserVerified
	g := &sso.SessionGrant{UserID: userID, OrgID: org.ID, Org: org, Roles: slices.Clone(mem.Roles), Member: mem, Method: Method, MFA: uv}
	if uv {
		g.MFAAt = now
	}
	if err := m.cfg.Sessions.IssueSession(w, r, g); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			// The break-glass flag was withdrawn during the login.
			return nil, userID, &sso.ValidationError{Protocol: Protocol, Reason: ReasonSSORequired, Want: org.ID,
				Err: &sso.SSORequiredError{OrgID: org.ID, URL: m.cfg.SSOLoginPath + url.PathEscape(org.Slug)}}
		}
		if errors.Is(err, sso.ErrAccessDenied) {
			// The membership was suspended or removed during the login.
			return nil, userID, deny(ReasonAccessDenied, sso.ErrAccessDenied, err)
		}
		return nil, userID, fmt.Errorf("passkey: issue session: %w", err)
	}
	m.audit(ctx, &sso.Event{OrgID: org.ID, Type: sso.EventLoginSucceeded, Actor: sso.Actor{Type: sso.ActorUser, ID: userID},
		Target: sso.Target{Type: "user", ID: userID}, Details: map[string]string{"method": string(Method), "user_verified": fmt.Sprint(uv),
			"break_glass": fmt.Sprint(mem.BreakGlass)}})
	return g, userID, nil
}

// pickOrg returns the organization named by slug, or the user's only
// active one, with the membership.
func (m *Manager) pickOrg(ctx context.Context, userID, slug string) (*sso.Organization, *sso.Membership, error) {
	res, err := localorg.Pick(ctx, m.cfg.Orgs, m.cfg.Members, userID, slug)
	switch {
	case err != nil:
		return nil, nil, err
	case res.Outcome == localorg.NotMember:
		return nil, nil, deny(ReasonAccessDenied, sso.ErrAccessDenied, nil)
	case res.Outcome == localorg.NoOrganization:
		return nil, nil, deny(ReasonNoOrganization, sso.ErrNotProvisioned, nil)
	case res.Outcome == localorg.Ambiguous:
		return nil, nil, deny(ReasonOrgRequired, sso.ErrInvalidInput, nil)
	}
	return res.Org, res.Membership, nil
}

// Audit event types of passkey management.
const (
	EventRegistered = "passkey.registered"
	EventRenamed    = "passkey.renamed"
	EventDeleted    = "passkey.deleted"
)
