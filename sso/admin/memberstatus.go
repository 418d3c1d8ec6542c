package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// guardMemberChange refuses a suspension or removal of m that would lock
// the organization or its caller out: the owner (transfer ownership
// first) and the caller's own membership, and any change while the
// organization's directory manages its members.
func (h *Handler) guardMemberChange(ctx context.Context, org *sso.Organization, m *sso.Membership) error {
	switch {
	case org.Settings.DirectorySync:
		return &Refusal{Reason: "directory_managed", Message: "the organization's directory (SCIM) manages its members; change the user there", Err: sso.ErrConflict}
	case m.HasRole(RoleOwner):
		return &Refusal{Reason: "owner_protected", Message: "the owner cannot be suspended or removed; transfer ownership first", Err: sso.ErrConflict}
	case sso.AuditInfoFrom(ctx).Actor.ID == m.UserID:
		return &Refusal{Reason: "self_protected", Message: "you cannot suspend or remove yourself; ask another admin", Err: sso.ErrConflict}
	}
	return nil
}

// sync brings m's live sessions and tokens in line with its change.
func (h *Handler) sync(ctx context.Context, m *sso.Membership) error {
	if h.cfg.Sync == nil {
		return nil
	}
	if err := h.cfg.Sync.SyncMembership(ctx, m); err != nil {
		return fmt.Errorf("admin: sync sessions after a membership change: %w", err)
	}
	return nil
}

// setMemberStatus answers PUT /members/{user}/status: "suspended" stops
// the member from signing in to the organization and ends their sessions
// in it at once; "active" lets a suspended member in again.
func (h *Handler) setMemberStatus(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req MemberStatusRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	to := sso.MembershipStatus(req.Status)
	if to != sso.MembershipActive && to != sso.MembershipSuspended {
		return &InputError{Field: "status", Problem: `give "active" or "suspended"`}
	}
	ctx := r.Context()
	m, err := h.member(r, org)
	if err != nil {
		return err
	}
	if m.Status != to {
		if err := h.guardMemberChange(ctx, org, m); err != nil {
			return err
		}
		if to == sso.MembershipActive && m.Status != sso.MembershipSuspended {
			return &Refusal{Reason: "not_suspended", Message: "only a suspended member can be made active again", Err: sso.ErrConflict}
		}
		m.Status, m.UpdatedAt = to, h.cfg.Now().UTC()
		typ := EventMemberSuspended
		if to == sso.MembershipActive {
			typ = EventMemberReactivated
		}
		if err := h.change(ctx, func(s Store) error { return s.UpdateMembership(ctx, m) },
			&sso.Event{OrgID: org.ID, Type: typ, Target: sso.Target{Type: "user", ID: m.UserID}}); err != nil {
			return err
		}
		if err := h.sync(ctx, m); err != nil {
			return err
		}
	}
	mi, err := h.memberInfo(r, m)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, mi)
	return nil
}

// removeMember answers DELETE /members/{user}: the membership is deleted
// (the user and their other organizations stay) and their sessions in the
// organization end.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	ctx := r.Context()
	m, err := h.member(r, org)
	if err != nil {
		return err
	}
	if err := h.guardMemberChange(ctx, org, m); err != nil {
		return err
	}
	if err := h.change(ctx, func(s Store) error { return s.DeleteMembership(ctx, org.ID, m.UserID) },
		&sso.Event{OrgID: org.ID, Type: EventMemberRemoved, Target: sso.Target{Type: "user", ID: m.UserID},
			Details: map[string]string{"roles": strings.Join(m.Roles, ",")}}); err != nil {
		return err
	}
	m.Status = sso.MembershipDeactivated
	if err := h.sync(ctx, m); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// errNotOwner answers a transfer by anyone but the owner.
var errNotOwner = &Refusal{Reason: "not_owner", Message: "only the organization's owner can transfer ownership", Err: sso.ErrForbidden}

// Refusal is a request the API understood and refuses, with a stable
// Reason ("owner_protected", "not_owner", ...) and a Message saying why
// and what to do. Its status follows Err (sso.ErrConflict 409,
// sso.ErrForbidden 403).
type Refusal struct {
	Reason  string
	Message string
	Err     error
}

// Error returns the message.
func (e *Refusal) Error() string { return "admin: " + e.Message }

// Unwrap returns the sentinel.
func (e *Refusal) Unwrap() error { return e.Err }

// transferOwnership answers POST /ownership: the owner (the caller, a
// tenant admin holding the owner role) hands the owner role to another
// active member and keeps their other roles. The new owner gains the role
// before the old one loses it, so the organization never has no owner.
// Both members' sessions are brought in line with their new roles.
func (h *Handler) transferOwnership(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req OwnershipRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	actor := sso.AuditInfoFrom(ctx).Actor
	if actor.Type != sso.ActorAdmin || actor.ID == "" {
		return errNotOwner
	}
	cur, err := h.cfg.Store.GetMembership(ctx, org.ID, actor.ID)
	if errors.Is(err, sso.ErrNotFound) || (err == nil && (!cur.HasRole(RoleOwner) || !cur.Active())) {
		return errNotOwner
	} else if err != nil {
		return err
	}
	if req.UserID == "" || len(req.UserID) > 128 {
		return &InputError{Field: "user_id", Problem: "give the user ID of an active member"}
	}
	if req.UserID == cur.UserID {
		return &InputError{Field: "user_id", Problem: "you are the owner already; name another member"}
	}
	next, err := h.cfg.Store.GetMembership(ctx, org.ID, req.UserID)
	if errors.Is(err, sso.ErrNotFound) {
		return &InputError{Field: "user_id", Problem: "no member of this organization has this ID"}
	} else if err != nil {
		return err
	}
	if !next.Active() {
		return &InputError{Field: "user_id", Problem: "the new owner must be an active member"}
	}
	now := h.cfg.Now().UTC()
	next.Roles, next.UpdatedAt = append(slices.Clone(next.Roles), RoleOwner), now
	// The event is stored with the grant, the change that matters: the
	// former owner's step down follows it.
	if err := h.change(ctx, func(s Store) error { return s.UpdateMembership(ctx, next) },
		&sso.Event{OrgID: org.ID, Type: EventOwnershipTransferred, Target: sso.Target{Type: "user", ID: next.UserID},
			Details: map[string]string{"from": cur.UserID, "to": next.UserID}}); err != nil {
		return err
	}
	cur.Roles = slices.DeleteFunc(slices.Clone(cur.Roles), func(r string) bool { return r == RoleOwner })
	if len(cur.Roles) == 0 {
		cur.Roles = []string{"admin"}
	}
	cur.UpdatedAt = now
	if err := h.cfg.Store.UpdateMembership(ctx, cur); err != nil {
		return err
	}
	if err := errors.Join(h.sync(ctx, next), h.sync(ctx, cur)); err != nil {
		return err
	}
	mi, err := h.memberInfo(r, next)
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, mi)
	return nil
}
