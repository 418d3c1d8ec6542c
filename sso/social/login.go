package social

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/internal/localorg"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// VerifiedAccount is what a provider verified about a person: the stable
// subject, the email and whether the provider verified it, and names.
type VerifiedAccount struct {
	Subject       string
	Email         string
	EmailVerified bool
	// EmailVerifiedOnce says the provider verified Email only when it was
	// added to the account (Provider.EmailVerifiedOnce): it proves nothing
	// about who reads the mailbox now, so it links, creates and admits
	// nothing.
	EmailVerifiedOnce bool
	GivenName         string
	FamilyName        string
	Name              string
}

// plan is what a sign-in will write once every check passed; nothing is
// written before.
type plan struct {
	user     *sso.User
	newUser  bool
	identity *Identity // non-nil when the identity is new
	org      *sso.Organization
	mem      *sso.Membership // nil when offer admits the user
	offer    *Offer
}

// SignIn signs in the person acct describes, as verified by the provider
// named provider, into the organization with slug org (empty: the user's
// only one), and issues the session through Config.Sessions with Method
// "social" and MFA false.
//
// The account is found by the provider's subject; a new subject links to
// the one existing user whose email is verified and equal to a verified
// provider email, or creates a user when a pending invitation or an
// auto-join policy (Config.Admission) admits the address. An unverified
// email never links or creates anything (email_not_verified). An
// organization that enforces SSO admits only its active break-glass
// members (otherwise *SSORequiredError with the path to its SSO) and is
// never joined by a social sign-in. The organization's plan must include
// the "social" feature (feature_disabled) and the organization must not
// have turned social sign-in off (method_disabled, see
// sso.Organization.SignInVerdict). Every outcome is audited.
func (m *Manager) SignIn(w http.ResponseWriter, r *http.Request, provider string, acct *VerifiedAccount, org string) (*sso.SessionGrant, error) {
	ctx, finish := m.tel.StartSignIn(r.Context(), string(Method), provider)
	r = r.WithContext(ctx)
	g, orgID, err := m.signIn(w, r, provider, withNormalEmail(acct), org)
	finish(orgID, sso.ReasonOf(err), err)
	return g, err
}

// signIn is SignIn without the telemetry; it returns the organization
// chosen so far.
func (m *Manager) signIn(w http.ResponseWriter, r *http.Request, provider string, acct *VerifiedAccount, org string) (*sso.SessionGrant, string, error) {
	ctx := r.Context()
	pl, err := m.plan(ctx, provider, acct, org)
	if err != nil {
		userID, orgID := "", ""
		if pl != nil && !pl.newUser && pl.user != nil {
			userID = pl.user.ID
		}
		if pl != nil && pl.org != nil {
			orgID = pl.org.ID
		}
		m.failed(r, provider, userID, orgID, err)
		return nil, orgID, err
	}
	err = m.write(ctx, provider, acct, pl)
	if errors.Is(err, errIdentityRace) {
		// A concurrent first sign-in of the same account linked it first:
		// sign in through its identity now.
		if pl, err = m.plan(ctx, provider, acct, org); err == nil {
			err = m.write(ctx, provider, acct, pl)
		} else if pl == nil || pl.user == nil || pl.org == nil {
			m.failed(r, provider, "", "", err)
			return nil, "", err
		}
	}
	if err != nil {
		m.failed(r, provider, pl.user.ID, pl.org.ID, err)
		return nil, pl.org.ID, err
	}
	g := &sso.SessionGrant{UserID: pl.user.ID, OrgID: pl.org.ID, Org: pl.org, Roles: slices.Clone(pl.mem.Roles), Member: pl.mem, Method: Method}
	if err := m.cfg.Sessions.IssueSession(w, r, g); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			// The break-glass flag was withdrawn during the login.
			err = m.ssoRequired(pl.org)
			m.failed(r, provider, pl.user.ID, pl.org.ID, err)
			return nil, pl.org.ID, err
		}
		if errors.Is(err, sso.ErrAccessDenied) {
			// The membership was suspended or removed during the login.
			err = deny(ReasonAccessDenied, sso.ErrAccessDenied, err)
			m.failed(r, provider, pl.user.ID, pl.org.ID, err)
			return nil, pl.org.ID, err
		}
		return nil, pl.org.ID, fmt.Errorf("social: issue session: %w", err)
	}
	m.audit(ctx, &sso.Event{OrgID: pl.org.ID, Type: sso.EventLoginSucceeded, Actor: sso.Actor{Type: sso.ActorUser, ID: pl.user.ID},
		Target: sso.Target{Type: "user", ID: pl.user.ID}, IP: m.cfg.ClientIP(r),
		Details: map[string]string{"method": string(Method), "provider": provider, "break_glass": fmt.Sprint(pl.mem.BreakGlass)}})
	return g, pl.org.ID, nil
}

// failed audits a refused social sign-in, in the organization orgID
// when the sign-in got as far as choosing one.
func (m *Manager) failed(r *http.Request, provider, userID, orgID string, err error) {
	e := &sso.Event{OrgID: orgID, Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err), IP: m.cfg.ClientIP(r),
		Details: map[string]string{"method": string(Method), "provider": provider}}
	if userID != "" {
		e.Actor, e.Target = sso.Actor{Type: sso.ActorUser, ID: userID}, sso.Target{Type: "user", ID: userID}
	}
	var se *SSORequiredError
	if errors.As(err, &se) {
		e.OrgID = se.OrgID
	}
	m.audit(r.Context(), e)
}

// plan resolves the user and the organization and runs every check,
// writing nothing. On an error it returns the plan so far (for the audit).
func (m *Manager) plan(ctx context.Context, provider string, acct *VerifiedAccount, slug string) (*plan, error) {
	pl := &plan{}
	id, err := m.cfg.Store.GetIdentity(ctx, provider, acct.Subject)
	switch {
	case err == nil:
		if pl.user, err = m.cfg.Users.GetUser(ctx, id.UserID); err != nil {
			return nil, err
		}
	case !errors.Is(err, sso.ErrNotFound):
		return nil, err
	default:
		if err := m.linkTarget(ctx, provider, acct, pl); err != nil {
			return nil, err
		}
	}
	if err := m.pickOrg(ctx, acct, pl, slug); err != nil {
		return pl, err
	}
	switch pl.org.SignInVerdict(Method) {
	case sso.SignInNotInPlan:
		return pl, deny(ReasonFeature, sso.ErrAccessDenied, nil)
	case sso.SignInTurnedOff:
		return pl, deny(ReasonMethodDisabled, sso.ErrAccessDenied, nil)
	}
	if pl.offer != nil {
		// Joining: never into an organization that enforces SSO.
		if pl.org.EnforcesSSO() {
			return pl, m.ssoRequired(pl.org)
		}
		return pl, nil
	}
	if err := m.cfg.Enforcer.LocalLoginAllowed(ctx, pl.org.ID, pl.user.ID); err != nil {
		if errors.Is(err, sso.ErrSSORequired) {
			return pl, m.ssoRequired(pl.org)
		}
		return pl, err
	}
	return pl, nil
}

// ssoRequired is the refusal that routes to org's SSO.
func (m *Manager) ssoRequired(org *sso.Organization) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: ReasonSSORequired,
		Err: &SSORequiredError{OrgID: org.ID, Redirect: m.cfg.SSOLoginPath + url.PathEscape(org.Slug)}}
}

// linkTarget finds the user a new (provider, subject) belongs to: the one
// user whose verified email equals the provider's verified email, or a new
// user. An unverified or missing email links and creates nothing, and
// neither does one the provider verified only once (link_required): the
// account must be linked from its user's session.
func (m *Manager) linkTarget(ctx context.Context, provider string, acct *VerifiedAccount, pl *plan) error {
	switch {
	case acct.Email == "":
		return deny(ReasonNoEmail, sso.ErrAccessDenied, nil)
	case !acct.EmailVerified:
		return deny(ReasonEmailNotVerified, sso.ErrForbidden, nil)
	case acct.EmailVerifiedOnce:
		return deny(ReasonLinkRequired, sso.ErrForbidden, nil)
	}
	users, err := m.cfg.Store.FindUsersByEmail(ctx, acct.Email)
	if err != nil {
		return err
	}
	users = slices.DeleteFunc(users, func(u *sso.User) bool { return !u.EmailVerified })
	now := m.now()
	switch len(users) {
	case 0:
		pl.newUser = true
		pl.user = &sso.User{ID: opaque.NewID("usr"), Email: acct.Email, EmailVerified: true, GivenName: trunc(acct.GivenName),
			FamilyName: trunc(acct.FamilyName), DisplayName: trunc(acct.Name), CreatedAt: now, UpdatedAt: now}
	case 1:
		pl.user = users[0]
	default:
		return deny(ReasonAmbiguous, sso.ErrConflict, nil)
	}
	pl.identity = &Identity{Provider: provider, Subject: acct.Subject, UserID: pl.user.ID, Email: acct.Email,
		EmailVerified: true, CreatedAt: now, LastLoginAt: now}
	return nil
}

// pickOrg chooses the organization: the one named, else the user's only
// active membership, else an Admission offer for the verified address.
func (m *Manager) pickOrg(ctx context.Context, acct *VerifiedAccount, pl *plan, slug string) error {
	userID := ""
	if !pl.newUser {
		userID = pl.user.ID
	}
	res, err := localorg.Pick(ctx, m.cfg.Orgs, m.cfg.Members, userID, slug)
	switch {
	case err != nil:
		return err
	case res.Outcome == localorg.NotMember && res.Org == nil:
		return deny(ReasonAccessDenied, sso.ErrAccessDenied, nil)
	case res.Outcome == localorg.NotMember:
		return m.admit(ctx, acct, pl, res.Org.ID)
	case res.Outcome == localorg.NoOrganization:
		return m.admit(ctx, acct, pl, "")
	case res.Outcome == localorg.Ambiguous:
		return deny(ReasonOrgRequired, sso.ErrInvalidInput, nil)
	}
	pl.org, pl.mem = res.Org, res.Membership
	return nil
}

// admit asks Config.Admission for a way in for the provider-verified
// address (into orgID when not empty). Only a verified address that is the
// user's own email is offered anything, and never one the provider
// verified only once: an invitation or a domain is for whoever reads the
// mailbox now.
func (m *Manager) admit(ctx context.Context, acct *VerifiedAccount, pl *plan, orgID string) error {
	noOrg := deny(ReasonNoOrganization, sso.ErrNotProvisioned, nil)
	if orgID != "" {
		noOrg = deny(ReasonAccessDenied, sso.ErrAccessDenied, nil)
	}
	if m.cfg.Admission == nil || !acct.EmailVerified || acct.EmailVerifiedOnce || acct.Email != pl.user.Email || !pl.user.EmailVerified {
		return noOrg
	}
	o, err := m.cfg.Admission.Offer(ctx, acct.Email)
	if errors.Is(err, sso.ErrNotFound) {
		return noOrg
	} else if err != nil {
		return fmt.Errorf("social: admission: %w", err)
	}
	if orgID != "" && o.OrgID != orgID {
		return noOrg
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, o.OrgID)
	if err != nil {
		return err
	}
	pl.org, pl.offer = org, o
	return nil
}

// write stores what the plan decided: the new user, the new identity (or
// the login on an existing one) and the accepted offer.
func (m *Manager) write(ctx context.Context, provider string, acct *VerifiedAccount, pl *plan) error {
	if pl.newUser {
		if err := m.cfg.Users.CreateUser(ctx, pl.user); err != nil {
			return fmt.Errorf("social: create user: %w", err)
		}
	}
	if pl.identity != nil {
		if err := m.cfg.Store.CreateIdentity(ctx, pl.identity); err != nil {
			if errors.Is(err, sso.ErrConflict) {
				m.dropRacedUser(ctx, pl)
				return fmt.Errorf("%w: %w", errIdentityRace, err)
			}
			return fmt.Errorf("social: link identity: %w", err)
		}
		m.audit(ctx, &sso.Event{OrgID: pl.org.ID, Type: EventLinked, Actor: sso.Actor{Type: sso.ActorUser, ID: pl.user.ID},
			Target: sso.Target{Type: "user", ID: pl.user.ID}, Details: map[string]string{"provider": provider, "new_user": fmt.Sprint(pl.newUser)}})
	} else if err := m.cfg.Store.TouchIdentity(ctx, provider, acct.Subject, acct.Email, acct.EmailVerified, m.now()); err != nil {
		return fmt.Errorf("social: record login: %w", err)
	}
	if pl.offer != nil {
		mem, err := m.cfg.Admission.Accept(ctx, pl.offer, pl.user)
		if errors.Is(err, sso.ErrConflict) {
			// A concurrent first sign-in of this user accepted first.
			if cur, gerr := m.cfg.Members.GetMembership(ctx, pl.offer.OrgID, pl.user.ID); gerr == nil && cur.Active() {
				mem, err = cur, nil
			}
		}
		if errors.Is(err, ErrJoinRequested) {
			return deny(ReasonJoinRequested, sso.ErrNotProvisioned, err)
		} else if err != nil {
			return fmt.Errorf("social: accept %s: %w", pl.offer.Via, err)
		}
		pl.mem = mem
	}
	return nil
}

// errIdentityRace reports that the provider account was linked by a
// concurrent sign-in between this one's plan and its write.
var errIdentityRace = errors.New("social: the account was linked by a concurrent sign-in")

// dropRacedUser deletes the user pl created for an account that a
// concurrent sign-in linked first: left behind, a second user with the
// same verified email would make every later sign-in by that email
// ambiguous. The winner may have linked the account to this very user (it
// found it by email once created), and another sign-in may have linked
// its own account to it: a user with an identity is kept.
func (m *Manager) dropRacedUser(ctx context.Context, pl *plan) {
	if !pl.newUser {
		return
	}
	ctx = context.WithoutCancel(ctx)
	ids, err := m.cfg.Store.ListUserIdentities(ctx, pl.user.ID)
	if err == nil && len(ids) == 0 {
		err = m.cfg.Users.DeleteUser(ctx, pl.user.ID)
	}
	if err != nil {
		m.log.ErrorContext(ctx, "social: user of a raced first sign-in not deleted", "user_id", pl.user.ID, "err", err)
	}
}

// EventLinked is the audit event type of a social identity linked to a
// user (a new user or an existing one with the same verified email).
const EventLinked = "social.linked"

// withNormalEmail returns a copy of acct with its email in the form every
// other way in stores (normalize.Email: the domain in IDNA ASCII, lower
// case), so that the same address from a provider and from SCIM, an
// invitation or an emailed code is one address. An email that is not an
// address counts as none.
func withNormalEmail(acct *VerifiedAccount) *VerifiedAccount {
	c := *acct
	if c.Email == "" {
		return &c
	}
	addr, _, err := normalize.Email(c.Email)
	if err != nil {
		c.Email, c.EmailVerified = "", false
		return &c
	}
	c.Email = addr
	return &c
}

// trunc bounds a provider-supplied name.
func trunc(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 256 {
		s = s[:256]
	}
	return s
}
