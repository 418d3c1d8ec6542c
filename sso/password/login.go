package password

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/ssokit/ssokit/internal/localorg"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/sso"
)

// Authenticate checks email and password for a login from client address
// ip, under the throttle, and returns the user. An unknown email and a
// wrong password get the same error (reason invalid_credentials) after the
// same work: an unknown email is checked against a dummy hash made with
// the configured parameters. A throttled login is refused (reason
// rate_limited, wrapping *ThrottleError) without checking the password.
// A hash made with weaker parameters than the configured ones is replaced.
// A user whose email is not verified is refused (email_not_verified).
func (m *Manager) Authenticate(ctx context.Context, email, pw, ip string) (*sso.User, error) {
	addr, _, err := normalize.Email(email)
	if err != nil {
		return nil, refuse(ReasonEmailInvalid, "email", "Enter an email address such as jane@example.com.", sso.ErrInvalidInput)
	}
	// The attempt counts as a failure from here on: a wrong password, an
	// unknown email and a store error leave it counted.
	att, until, err := m.begin(ctx, m.keys(addr, ip), m.now())
	if err != nil {
		return nil, err
	}
	if att == nil {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonRateLimited, Err: &ThrottleError{Until: until}}
	}
	// No stored password is longer than maxPasswordBytes: a longer input
	// is checked cut to that length (the same work) and never matches.
	tooLong := len(pw) > maxPasswordBytes
	if tooLong {
		pw = pw[:maxPasswordBytes]
	}
	pw = nfkc(pw)
	cred, err := m.cfg.Store.FindCredential(ctx, addr)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		// The same work as a known email with a wrong password.
		_, _, _ = verifyHash(pw, m.dummy)
		return nil, errInvalidCredentials
	case err != nil:
		return nil, err
	}
	ok, params, err := verifyHash(pw, cred.Hash)
	if err != nil {
		return nil, fmt.Errorf("password: credential of %s: %w", cred.UserID, err)
	}
	if !ok || tooLong {
		return nil, errInvalidCredentials
	}
	if err := m.succeeded(ctx, att); err != nil {
		return nil, err
	}
	if params.weakerThan(m.cfg.Params) {
		m.upgrade(ctx, cred, pw)
	}
	u, err := m.cfg.Users.GetUser(ctx, cred.UserID)
	if err != nil {
		return nil, err
	}
	if !u.EmailVerified {
		return nil, deny(ReasonEmailNotVerified, sso.ErrForbidden)
	}
	return u, nil
}

// upgrade replaces cred's hash with one made with the configured
// parameters. A concurrent change wins; failures are logged, not returned,
// because the login itself succeeded.
func (m *Manager) upgrade(ctx context.Context, cred *Credential, pw string) {
	h, err := hashPassword(pw, m.cfg.Params, m.cfg.Rand)
	if err == nil {
		next := *cred
		next.Hash, next.UpdatedAt = h, m.now()
		err = m.cfg.Store.UpdateCredential(ctx, &next, cred.Hash)
	}
	if err != nil && !errors.Is(err, sso.ErrConflict) {
		m.log.WarnContext(ctx, "password: hash upgrade failed", "user_id", cred.UserID, "err", err)
	}
}

// LoginRequest is a password login.
type LoginRequest struct {
	Email    string
	Password string
	// Org is the slug of the organization to sign in to. It may be empty
	// when the user is an active member of at most one organization.
	Org string
}

// Login authenticates req, picks the organization, applies SSO enforcement
// (only break-glass members of an organization that enforces SSO may sign
// in with a password: reason sso_required otherwise), and issues a session
// through Config.Sessions with Method "password" and MFA false, so the
// organization's MFA policy asks for a second factor. Every outcome is
// audited. It writes only the session cookie on w.
func (m *Manager) Login(w http.ResponseWriter, r *http.Request, req LoginRequest) (*sso.SessionGrant, error) {
	ctx, finish := m.tel.StartSignIn(r.Context(), string(Method), "")
	g, orgID, err := m.login(w, r.WithContext(ctx), req)
	finish(orgID, sso.ReasonOf(err), err)
	return g, err
}

// login is Login without the telemetry; it returns the organization
// chosen, when the login got that far.
func (m *Manager) login(w http.ResponseWriter, r *http.Request, req LoginRequest) (*sso.SessionGrant, string, error) {
	ctx := m.requestCtx(r)
	u, err := m.Authenticate(ctx, req.Email, req.Password, m.cfg.ClientIP(r))
	if err != nil {
		m.audit(ctx, &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err),
			Details: map[string]string{"method": string(Method)}})
		return nil, "", err
	}
	if m.cfg.Joiner != nil {
		if err := m.cfg.Joiner(ctx, u); err != nil {
			return nil, "", fmt.Errorf("password: join: %w", err)
		}
	}
	org, mem, err := m.pickOrg(ctx, u.ID, req.Org)
	if err == nil {
		err = m.allowed(ctx, org, mem)
	}
	if err != nil {
		e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err),
			Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID}, Target: sso.Target{Type: "user", ID: u.ID},
			Details: map[string]string{"method": string(Method)}}
		if org != nil {
			e.OrgID = org.ID
		}
		m.audit(ctx, e)
		return nil, e.OrgID, err
	}
	g, err := m.issue(w, r.WithContext(ctx), u, org, mem, sso.EventLoginSucceeded)
	return g, org.ID, err
}

// allowed applies SSO enforcement and the organization's choice of
// sign-in methods (sso.Organization.SignInVerdict: an organization that
// turned passwords off refuses them, reason method_disabled, except to its
// break-glass members, who keep the password for when every other way is
// broken) to a password login of member mem into org.
func (m *Manager) allowed(ctx context.Context, org *sso.Organization, mem *sso.Membership) error {
	if err := m.cfg.Enforcer.LocalLoginAllowed(ctx, org.ID, mem.UserID); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			return m.ssoRequired(org)
		}
		return err
	}
	if org.SignInVerdict(Method) != sso.SignInAllowed && !mem.BreakGlass {
		return deny(ReasonMethodDisabled, sso.ErrAccessDenied)
	}
	return nil
}

// ssoRequired is the refusal of a password login into org, which
// enforces SSO: it names the URL that starts org's SSO.
func (m *Manager) ssoRequired(org *sso.Organization) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: ReasonSSORequired,
		Err: &sso.SSORequiredError{OrgID: org.ID, URL: m.cfg.SSOLoginPath + url.PathEscape(org.Slug)}}
}

// issue issues the session of a password login and records eventType.
func (m *Manager) issue(w http.ResponseWriter, r *http.Request, u *sso.User, org *sso.Organization, mem *sso.Membership, eventType string) (*sso.SessionGrant, error) {
	ctx := r.Context()
	g := &sso.SessionGrant{UserID: u.ID, OrgID: org.ID, Org: org, Roles: slices.Clone(mem.Roles), Member: mem, Method: Method, MFA: false}
	if err := m.cfg.Sessions.IssueSession(w, r, g); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			// The break-glass flag was withdrawn during the login.
			return nil, m.ssoRequired(org)
		}
		if errors.Is(err, sso.ErrAccessDenied) {
			// The membership was suspended or removed during the login.
			return nil, deny(ReasonAccessDenied, sso.ErrAccessDenied)
		}
		return nil, fmt.Errorf("password: issue session: %w", err)
	}
	m.audit(ctx, &sso.Event{OrgID: org.ID, Type: eventType, Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID},
		Target: sso.Target{Type: "user", ID: u.ID}, Details: map[string]string{"method": string(Method), "break_glass": fmt.Sprint(mem.BreakGlass)}})
	return g, nil
}

// pickOrg returns the organization of a sign-in and the user's
// membership: the one named by slug, or the user's only active one.
func (m *Manager) pickOrg(ctx context.Context, userID, slug string) (*sso.Organization, *sso.Membership, error) {
	res, err := localorg.Pick(ctx, m.cfg.Orgs, m.cfg.Members, userID, slug)
	switch {
	case err != nil:
		return nil, nil, err
	case res.Outcome == localorg.NotMember:
		return res.Org, nil, deny(ReasonAccessDenied, sso.ErrAccessDenied)
	case res.Outcome == localorg.NoOrganization:
		return nil, nil, deny(ReasonNoOrganization, sso.ErrNotProvisioned)
	case res.Outcome == localorg.Ambiguous:
		return nil, nil, refuse(ReasonOrgRequired, "org", "You belong to several organizations: name the one to sign in to.", sso.ErrInvalidInput)
	}
	return res.Org, res.Membership, nil
}
