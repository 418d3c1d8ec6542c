package emailcode

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/ssokit/ssokit/internal/localorg"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// complete uses challenge c (atomically: of concurrent uses one wins),
// resolves its user (creating a sign-up's), picks the organization,
// applies SSO enforcement and issues the session with method.
func (m *Manager) complete(w http.ResponseWriter, r *http.Request, c *Challenge, method sso.AuthMethod) (*sso.SessionGrant, string, error) {
	ctx := r.Context()
	invalid := errCodeInvalid
	if method == MethodLink {
		invalid = errLinkInvalid
	}
	c, err := m.cfg.Store.TakeChallenge(ctx, c.ID)
	if errors.Is(err, sso.ErrNotFound) {
		return nil, "", m.failed(ctx, method, "", invalid)
	} else if err != nil {
		return nil, "", err
	}
	if m.boundTo(r, c) {
		m.setCookie(w, "", -1)
	}
	u, err := m.account(ctx, c)
	if err != nil {
		if errors.Is(err, sso.ErrNotFound) {
			err = invalid
		}
		return nil, "", m.failed(ctx, method, c.UserID, err)
	}
	if m.cfg.Joiner != nil {
		if err := m.cfg.Joiner(ctx, u); err != nil {
			return nil, "", fmt.Errorf("emailcode: join: %w", err)
		}
	}
	org, mem, err := m.pickOrg(ctx, u.ID, c.Org)
	if err == nil {
		err = m.allowed(ctx, org, u.ID, method)
	}
	if err != nil {
		e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err),
			Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID}, Target: sso.Target{Type: "user", ID: u.ID},
			Details: map[string]string{"method": string(method)}}
		if org != nil {
			e.OrgID = org.ID
		}
		m.audit(ctx, e)
		return nil, "", err
	}
	g := &sso.SessionGrant{UserID: u.ID, OrgID: org.ID, Org: org, Roles: slices.Clone(mem.Roles), Member: mem, Method: method, MFA: false}
	if err := m.cfg.Sessions.IssueSession(w, r, g); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			// The break-glass flag was withdrawn during the login.
			return nil, "", m.ssoRequired(org)
		}
		if errors.Is(err, sso.ErrAccessDenied) {
			// The membership was suspended or removed during the login.
			return nil, "", deny(ReasonAccessDenied, sso.ErrAccessDenied)
		}
		return nil, "", fmt.Errorf("emailcode: issue session: %w", err)
	}
	m.audit(ctx, &sso.Event{OrgID: org.ID, Type: sso.EventLoginSucceeded, Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID},
		Target: sso.Target{Type: "user", ID: u.ID}, Details: map[string]string{"method": string(method), "break_glass": fmt.Sprint(mem.BreakGlass)}})
	return g, c.ReturnTo, nil
}

// account returns the user of c: the account it was sent for, which must
// still have that verified address, or for a sign-up a new user with the
// address verified (the code proved it), unless a verified account
// appeared meanwhile. ErrNotFound means no account may sign in.
func (m *Manager) account(ctx context.Context, c *Challenge) (*sso.User, error) {
	if c.UserID != "" {
		u, err := m.cfg.Users.GetUser(ctx, c.UserID)
		if err != nil {
			return nil, err
		}
		if !u.EmailVerified || u.Email != c.Email {
			return nil, fmt.Errorf("emailcode: the account's address changed: %w", sso.ErrNotFound)
		}
		return u, nil
	}
	if u, err := m.cfg.Store.FindVerifiedUser(ctx, c.Email); err == nil {
		return u, nil
	} else if !errors.Is(err, sso.ErrNotFound) {
		return nil, err
	}
	if m.cfg.AllowSignUp == nil || !m.cfg.AllowSignUp(ctx, c.Email) {
		return nil, fmt.Errorf("emailcode: sign-up not allowed: %w", sso.ErrNotFound)
	}
	now := m.now()
	u := &sso.User{ID: opaque.NewID("usr_"), Email: c.Email, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := m.cfg.Users.CreateUser(ctx, u); err != nil {
		return nil, err
	}
	m.audit(ctx, &sso.Event{Type: EventSignedUp, Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID}, Target: sso.Target{Type: "user", ID: u.ID},
		Details: map[string]string{"method": string(MethodCode)}})
	return u, nil
}

// allowed applies the organization's plan (FeatureCode, FeatureLink),
// its choice of sign-in methods (sso.Organization.SignInVerdict) and SSO
// enforcement to a sign-in into org by method.
func (m *Manager) allowed(ctx context.Context, org *sso.Organization, userID string, method sso.AuthMethod) error {
	switch org.SignInVerdict(method) {
	case sso.SignInNotInPlan:
		return deny(ReasonFeature, sso.ErrAccessDenied)
	case sso.SignInTurnedOff:
		return deny(ReasonMethodDisabled, sso.ErrAccessDenied)
	}
	if err := m.cfg.Enforcer.LocalLoginAllowed(ctx, org.ID, userID); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			return m.ssoRequired(org)
		}
		return err
	}
	return nil
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

// ssoRequired is the refusal of a sign-in into org, which enforces SSO:
// it names the URL that starts org's SSO.
func (m *Manager) ssoRequired(org *sso.Organization) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: ReasonSSORequired,
		Err: &sso.SSORequiredError{OrgID: org.ID, URL: m.cfg.SSOLoginPath + url.PathEscape(org.Slug)}}
}
