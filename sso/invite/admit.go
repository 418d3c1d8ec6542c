package invite

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/sso"
)

// Way is a way into an organization for a verified address, found by
// WayIn: a pending invitation, or the auto-join policy of the address's
// verified domain.
type Way struct {
	OrgID string
	// Invitation is the pending invitation, nil for auto-join.
	Invitation *Invitation
	// Policy is the auto-join policy, nil for an invitation.
	Policy *AutoJoin
}

// WayIn returns the way into an organization for email, an address that
// a sign-in already proved the person controls (a provider-verified email,
// never a claimed one): the oldest unexpired pending invitation for it,
// else the auto-join policy (join or approval) of the organization that
// verified its domain. It returns an error wrapping sso.ErrNotFound when
// nothing admits the address.
func (m *Manager) WayIn(ctx context.Context, email string) (*Way, error) {
	addr, domain, err := normalize.Email(email)
	if err != nil {
		return nil, fmt.Errorf("invite: no way in: %w", sso.ErrNotFound)
	}
	invs, err := m.cfg.Store.ListPendingInvitations(ctx, addr)
	if err != nil {
		return nil, err
	}
	now := m.now()
	if i := slices.IndexFunc(invs, func(v *Invitation) bool { return now.Before(v.ExpiresAt) }); i >= 0 {
		return &Way{OrgID: invs[i].OrgID, Invitation: invs[i]}, nil
	}
	d, err := m.cfg.Domains.FindVerifiedDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	p, err := m.Policy(ctx, d.OrgID)
	if err != nil {
		return nil, err
	}
	if p.Mode == ModeOff {
		return nil, fmt.Errorf("invite: auto-join off: %w", sso.ErrNotFound)
	}
	return &Way{OrgID: d.OrgID, Policy: p}, nil
}

// Enter takes the way w for u, whose verified email is the address WayIn
// was asked about: it accepts the invitation (once: of concurrent calls
// one wins, the others fail with reason token_invalid) making u an
// active member with the invited roles (unless the organization suspended
// u: membership_inactive, the invitation left pending), or applies the
// auto-join policy
// (AutoJoin), which makes a join request under ModeApproval.
func (m *Manager) Enter(ctx context.Context, w *Way, u *sso.User) (*Outcome, error) {
	if !u.EmailVerified {
		return nil, deny(ReasonWrongAccount, sso.ErrForbidden)
	}
	if w.Invitation == nil {
		return m.AutoJoin(ctx, u)
	}
	inv := *w.Invitation
	if inv.Email != u.Email {
		return nil, deny(ReasonWrongAccount, sso.ErrForbidden)
	}
	if err := m.notInactive(ctx, inv.OrgID, u.ID); err != nil {
		return nil, err
	}
	if err := m.claim(ctx, &inv, u.ID, m.now()); errors.Is(err, sso.ErrConflict) {
		return nil, deny(ReasonTokenInvalid, sso.ErrConflict)
	} else if err != nil {
		return nil, err
	}
	mem, err := m.join(ctx, inv.OrgID, u.ID, inv.Roles)
	if err != nil {
		return nil, err
	}
	return &Outcome{Joined: mem}, nil
}

// Pending returns the invitation id of orgID while it is pending, or an
// error with reason not_pending once it was accepted or revoked.
func (m *Manager) Pending(ctx context.Context, orgID, id string) (*Invitation, error) {
	return m.pending(ctx, orgID, id)
}
