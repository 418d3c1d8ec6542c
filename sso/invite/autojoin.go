package invite

import (
	"context"
	"errors"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/sso"
)

// Policy returns the organization's auto-join policy (ModeOff when none
// was set).
func (m *Manager) Policy(ctx context.Context, orgID string) (*AutoJoin, error) {
	p, err := m.cfg.Store.GetAutoJoin(ctx, orgID)
	if errors.Is(err, sso.ErrNotFound) {
		return &AutoJoin{OrgID: orgID, Mode: ModeOff}, nil
	}
	return p, err
}

// SetPolicy sets the organization's auto-join policy. role (validated by
// the caller) is required unless mode is ModeOff.
func (m *Manager) SetPolicy(ctx context.Context, orgID string, mode Mode, role string) (*AutoJoin, error) {
	switch mode {
	case ModeOff:
		role = ""
	case ModeJoin, ModeApproval:
		if role == "" {
			return nil, refuse(ReasonModeInvalid, "role", "give the role members join with", sso.ErrInvalidInput)
		}
	default:
		return nil, refuse(ReasonModeInvalid, "mode", `give "off", "join" or "approval"`, sso.ErrInvalidInput)
	}
	p := &AutoJoin{OrgID: orgID, Mode: mode, Role: role, UpdatedAt: m.now()}
	ev := &sso.Event{OrgID: orgID, Type: EventAutoJoinPolicySet, Target: sso.Target{Type: "org", ID: orgID},
		Details: map[string]string{"mode": string(mode), "role": role}}
	if err := m.change(ctx, func(s Store) error { return s.PutAutoJoin(ctx, p) }, ev); err != nil {
		return nil, err
	}
	return p, nil
}

// Outcome says what AutoJoin did.
type Outcome struct {
	// Joined is the membership created under a join policy, or nil.
	Joined *sso.Membership
	// Requested is the join request created under an approval policy, or
	// nil.
	Requested *JoinRequest
}

// AutoJoin applies the auto-join policy of the organization that holds
// the domain of u's email, verified: nothing when the email is not
// verified, the domain is not verified by any organization (an
// organization's unverified claim never admits anyone), the policy is off
// or u is a member already; a membership with the policy's role under
// ModeJoin; a join request under ModeApproval. Each outcome is audited. An
// organization that enforces SSO still admits the new member only through
// its IdP.
func (m *Manager) AutoJoin(ctx context.Context, u *sso.User) (*Outcome, error) {
	out := &Outcome{}
	if !u.EmailVerified {
		return out, nil
	}
	_, domain, err := normalize.Email(u.Email)
	if err != nil {
		return out, nil
	}
	d, err := m.cfg.Domains.FindVerifiedDomain(ctx, domain)
	if errors.Is(err, sso.ErrNotFound) {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	p, err := m.Policy(ctx, d.OrgID)
	if err != nil || p.Mode == ModeOff {
		return out, err
	}
	if _, err := m.cfg.Members.GetMembership(ctx, d.OrgID, u.ID); err == nil {
		return out, nil
	} else if !errors.Is(err, sso.ErrNotFound) {
		return nil, err
	}
	now := m.now()
	if p.Mode == ModeJoin {
		mem := &sso.Membership{OrgID: d.OrgID, UserID: u.ID, Roles: []string{p.Role}, Status: sso.MembershipActive,
			Source: sso.SourceJIT, JoinedAt: now, UpdatedAt: now}
		ev := &sso.Event{OrgID: d.OrgID, Type: EventAutoJoined, Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID},
			Target: sso.Target{Type: "user", ID: u.ID}, Details: map[string]string{"domain": domain, "role": p.Role}}
		// The membership is a core write: with the core store's event
		// binding (audit.EventBinder) it is stored with its event.
		err := record.Change[sso.MembershipStore, sso.Store](ctx, m.cfg.Members, m.cfg.Auditor, now, []*sso.Event{ev}, m.log.ErrorContext,
			func(s sso.MembershipStore) error { return s.CreateMembership(ctx, mem) })
		if errors.Is(err, sso.ErrConflict) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		out.Joined = mem
		return out, nil
	}
	jr := &JoinRequest{ID: opaque.NewID("jr_"), OrgID: d.OrgID, UserID: u.ID, Email: u.Email, Role: p.Role,
		Status: StatusPending, CreatedAt: now, UpdatedAt: now}
	ev := &sso.Event{OrgID: d.OrgID, Type: EventJoinRequested, Actor: sso.Actor{Type: sso.ActorUser, ID: u.ID},
		Target: sso.Target{Type: "join_request", ID: jr.ID}, Details: map[string]string{"domain": domain}}
	if err := m.change(ctx, func(s Store) error { return s.CreateJoinRequest(ctx, jr) }, ev); errors.Is(err, sso.ErrConflict) {
		return out, nil // one is pending already
	} else if err != nil {
		return nil, err
	}
	out.Requested = jr
	return out, nil
}

// JoinRequests lists the organization's join requests in status ("" for
// all), newest first.
func (m *Manager) JoinRequests(ctx context.Context, orgID string, status Status) ([]*JoinRequest, error) {
	return m.cfg.Store.ListJoinRequests(ctx, orgID, status)
}

// Decide approves or denies the pending join request id, once (a second
// decision is not_pending), the decision stored with its event. Approval
// then makes the user an active member with the request's role.
func (m *Manager) Decide(ctx context.Context, orgID, id string, approve bool) (*JoinRequest, error) {
	jr, err := m.cfg.Store.GetJoinRequest(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if jr.Status != StatusPending {
		return nil, deny(ReasonNotPending, sso.ErrConflict)
	}
	jr.Status, jr.DecidedBy, jr.UpdatedAt = StatusDenied, sso.AuditInfoFrom(ctx).Actor.ID, m.now()
	typ := EventJoinDenied
	if approve {
		jr.Status, typ = StatusApproved, EventJoinApproved
	}
	ev := &sso.Event{OrgID: orgID, Type: typ, Target: sso.Target{Type: "user", ID: jr.UserID},
		Details: map[string]string{"join_request": jr.ID, "role": jr.Role}}
	if err := m.change(ctx, func(s Store) error { return s.DecideJoinRequest(ctx, jr) }, ev); errors.Is(err, sso.ErrConflict) {
		return nil, deny(ReasonNotPending, sso.ErrConflict)
	} else if err != nil {
		return nil, err
	}
	if approve {
		if _, err := m.join(ctx, orgID, jr.UserID, []string{jr.Role}); err != nil {
			return nil, err
		}
	}
	return jr, nil
}
