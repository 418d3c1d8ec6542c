package invite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Info is what the accept page shows about an invitation.
type Info struct {
	OrgName string
	Email   string
	Roles   []string
	// SSO reports whether the organization enforces single sign-on:
	// joining it means signing in through its IdP.
	SSO bool
}

// Inspect returns what the accept page shows about token, without using
// it. Refusals: token_invalid, token_expired.
func (m *Manager) Inspect(ctx context.Context, token string) (*Info, error) {
	inv, err := m.find(ctx, token)
	if err != nil {
		return nil, err
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return nil, err
	}
	return &Info{OrgName: org.Name, Email: inv.Email, Roles: slices.Clone(inv.Roles), SSO: org.EnforcesSSO()}, nil
}

// find returns the live, pending invitation of token.
func (m *Manager) find(ctx context.Context, token string) (*Invitation, error) {
	invalid := refuse(ReasonTokenInvalid, "token", "This invitation link is invalid or was already used; ask for a new invitation.", sso.ErrInvalidInput)
	if token == "" || len(token) > 256 {
		return nil, invalid
	}
	inv, err := m.cfg.Store.FindInvitation(ctx, opaque.Hash(token))
	if errors.Is(err, sso.ErrNotFound) {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	if inv.Status == StatusExpired || (inv.Status == StatusPending && !m.now().Before(inv.ExpiresAt)) {
		return nil, refuse(ReasonTokenExpired, "token", "This invitation has expired; ask the organization's admin to resend it.", sso.ErrExpired)
	}
	if inv.Status != StatusPending {
		return nil, invalid
	}
	return inv, nil
}

// claim marks inv accepted by userID, stored with its event (see change);
// of concurrent claims of one invitation one wins, the others fail with
// ErrConflict.
func (m *Manager) claim(ctx context.Context, inv *Invitation, userID string, now time.Time) error {
	old := inv.TokenHash
	inv.Status, inv.TokenHash, inv.AcceptedBy, inv.UpdatedAt = StatusAccepted, "accepted:"+inv.ID, userID, now
	ev := &sso.Event{OrgID: inv.OrgID, Type: EventAccepted, Actor: sso.Actor{Type: sso.ActorUser, ID: userID},
		Target: sso.Target{Type: "invitation", ID: inv.ID}, Details: map[string]string{"user_id": userID, "roles": fmt.Sprint(inv.Roles)}}
	return m.change(ctx, func(s Store) error { return s.UpdateInvitation(ctx, inv, old) }, ev)
}

// Accept uses an invitation, once. userID is the signed-in user, or empty.
// A signed-in user must hold the invited address, verified (otherwise
// wrong_account, and the invitation stays usable). Without a session, an
// address whose account belongs to an organization must sign in first
// (sign_in_required); an account in no organization (it cannot sign in
// yet) and a new address are proved by the emailed token, a new address
// getting a user with the address verified. A user whose membership the
// organization suspended or deactivated is refused (membership_inactive,
// and the invitation stays usable): an invitation does not reactivate a
// member. The user becomes an active member with the invited roles. It
// returns the organization and the membership; signing in to it is the
// host's next step, under the organization's policies (an organization
// that enforces SSO admits the new member only through its IdP).
func (m *Manager) Accept(ctx context.Context, token, userID string) (*sso.Organization, *sso.Membership, error) {
	inv, err := m.find(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	u, err := m.acceptingUser(ctx, inv, userID)
	if err != nil {
		m.audit(ctx, &sso.Event{OrgID: inv.OrgID, Type: EventAcceptRefused, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err),
			Target: sso.Target{Type: "invitation", ID: inv.ID}, Details: map[string]string{"user_id": userID}})
		return nil, nil, err
	}
	now := m.now()
	newUser := u == nil
	if newUser {
		u = &sso.User{ID: opaque.NewID("usr_"), Email: inv.Email, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	}
	// Claim the invitation first, with its event: of concurrent accepts one
	// wins. The new account's ID is chosen before, so the claim names it.
	if err := m.claim(ctx, inv, u.ID, now); errors.Is(err, sso.ErrConflict) {
		return nil, nil, refuse(ReasonTokenInvalid, "token", "This invitation link was already used.", sso.ErrInvalidInput)
	} else if err != nil {
		return nil, nil, err
	}
	if newUser {
		if err := m.cfg.Users.CreateUser(ctx, u); err != nil {
			return nil, nil, err
		}
	}
	mem, err := m.join(ctx, inv.OrgID, u.ID, inv.Roles)
	if err != nil {
		return nil, nil, err
	}
	org, err := m.cfg.Orgs.GetOrg(ctx, inv.OrgID)
	if err != nil {
		return nil, nil, err
	}
	return org, mem, nil
}

// acceptingUser returns the user accepting inv: the signed-in one when
// allowed, nil for a new account.
func (m *Manager) acceptingUser(ctx context.Context, inv *Invitation, userID string) (*sso.User, error) {
	if userID != "" {
		u, err := m.cfg.Users.GetUser(ctx, userID)
		if err != nil {
			return nil, err
		}
		if !u.EmailVerified || u.Email != inv.Email {
			return nil, refuse(ReasonWrongAccount, "token", "This invitation is for "+inv.Email+"; sign out and accept it signed in as that address.", sso.ErrForbidden)
		}
		return u, m.notInactive(ctx, inv.OrgID, u.ID)
	}
	u, err := m.cfg.Store.FindVerifiedUser(ctx, inv.Email)
	if err == nil {
		// An account that belongs to no organization cannot sign in yet
		// (a session belongs to one): the token proves its address as it
		// would a new one's.
		ms, err := m.cfg.Members.ListUserMemberships(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(ms, (*sso.Membership).Active) {
			return u, m.notInactive(ctx, inv.OrgID, u.ID)
		}
		return nil, refuse(ReasonSignInRequired, "token", "An account with "+inv.Email+" exists; sign in as it, then open the invitation again.", sso.ErrForbidden)
	} else if !errors.Is(err, sso.ErrNotFound) {
		return nil, err
	}
	return nil, nil
}

// notInactive refuses an invitation into orgID for userID when the
// organization suspended or deactivated the user's membership: join
// reactivates none (that is an admin's decision, or the directory's), so
// accepting would burn the invitation and leave a member who still cannot
// sign in. The invitation stays usable for after a reactivation.
func (m *Manager) notInactive(ctx context.Context, orgID, userID string) error {
	mem, err := m.cfg.Members.GetMembership(ctx, orgID, userID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return nil
	case err != nil:
		return err
	case !mem.Active():
		return refuse(ReasonMembershipInactive, "token", "Your membership in this organization is suspended, and an invitation cannot restore it. "+
			"Ask the organization's admin to reactivate it, then open this invitation again.", sso.ErrForbidden)
	}
	return nil
}

// join makes userID an active member of orgID with roles, or adds the
// roles to an existing membership (reactivating none: a suspended member
// stays suspended).
func (m *Manager) join(ctx context.Context, orgID, userID string, roles []string) (*sso.Membership, error) {
	now := m.now()
	_, err := m.cfg.Members.GetMembership(ctx, orgID, userID)
	if errors.Is(err, sso.ErrNotFound) {
		mem := &sso.Membership{OrgID: orgID, UserID: userID, Roles: slices.Clone(roles), Status: sso.MembershipActive,
			Source: sso.SourceAdmin, JoinedAt: now, UpdatedAt: now}
		return mem, m.cfg.Members.CreateMembership(ctx, mem)
	} else if err != nil {
		return nil, err
	}
	// Only the roles change, on the membership as stored when it is
	// written: a suspension or role change committed meanwhile stays.
	return sso.EditMembership(ctx, m.cfg.Members, &sso.MembershipEdit{OrgID: orgID, UserID: userID, Edit: func(mem *sso.Membership) error {
		for _, r := range roles {
			if !slices.Contains(mem.Roles, r) {
				mem.Roles = append(mem.Roles, r)
			}
		}
		mem.UpdatedAt = now
		return nil
	}})
}
