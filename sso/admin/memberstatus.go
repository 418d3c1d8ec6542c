package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

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

// memberID returns the request's {user}, or ErrNotFound for one no
// member can have.
func memberID(r *http.Request) (string, error) {
	user := r.PathValue("user")
	if user == "" || len(user) > 128 {
		return "", fmt.Errorf("admin: member: %w", sso.ErrNotFound)
	}
	return user, nil
}

// setMemberStatus answers PUT /members/{user}/status: "suspended" stops
// the member from signing in to the organization and ends their sessions
// in it at once; "active" lets a suspended member in again. Only the
// status is written, and the guards run on the membership as stored at
// the write, so a concurrent role change stays and a member who became
// the owner meanwhile is not suspended.
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
	user, err := memberID(r)
	if err != nil {
		return err
	}
	typ := EventMemberSuspended
	if to == sso.MembershipActive {
		typ = EventMemberReactivated
	}
	now := h.cfg.Now().UTC()
	m, err := h.editMember(ctx, &sso.MembershipEdit{OrgID: org.ID, UserID: user, Keep: RoleOwner,
		Edit: func(m *sso.Membership) error {
			if m.Status == to {
				return errUnchanged
			}
			if err := h.guardMemberChange(ctx, org, m); err != nil {
				return err
			}
			if to == sso.MembershipActive && m.Status != sso.MembershipSuspended {
				return &Refusal{Reason: "not_suspended", Message: "only a suspended member can be made active again", Err: sso.ErrConflict}
			}
			m.Status, m.UpdatedAt = to, now
			return nil
		}}, &sso.Event{OrgID: org.ID, Type: typ, Target: sso.Target{Type: "user", ID: user}})
	switch {
	case errors.Is(err, errUnchanged):
		if m, err = h.cfg.Store.GetMembership(ctx, org.ID, user); err != nil {
			return err
		}
	case errors.Is(err, sso.ErrLastHolder):
		return errLastOwner
	case err != nil:
		return err
	default:
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
// organization end. The guards run on the membership as stored at the
// delete, so a member who became the owner meanwhile stays. When the
// sessions could not be ended the answer is an error and the membership is
// gone; the retry answers 404 after ending them.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	ctx := r.Context()
	user, err := memberID(r)
	if err != nil {
		return err
	}
	ev := &sso.Event{OrgID: org.ID, Type: EventMemberRemoved, Target: sso.Target{Type: "user", ID: user},
		Details: map[string]string{"roles": ""}}
	m, err := h.editMember(ctx, &sso.MembershipEdit{OrgID: org.ID, UserID: user, Delete: true, Keep: RoleOwner,
		Edit: func(m *sso.Membership) error {
			if err := h.guardMemberChange(ctx, org, m); err != nil {
				return err
			}
			ev.Details["roles"] = strings.Join(m.Roles, ",")
			return nil
		}}, ev)
	switch {
	case errors.Is(err, sso.ErrLastHolder):
		return errLastOwner
	case errors.Is(err, sso.ErrNotFound):
		// Not a member (any more). A retry of a removal whose session
		// sync failed lands here: end their sessions in the organization
		// now, then say they are not a member.
		if serr := h.sync(ctx, &sso.Membership{OrgID: org.ID, UserID: user, Status: sso.MembershipDeactivated}); serr != nil {
			return serr
		}
		return err
	case err != nil:
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
// Each step is an edit of the membership as stored at its write: the new
// owner must still be active (a concurrent suspension or removal wins and
// the transfer is refused), and the old owner steps down only while
// another active owner remains. Both members' sessions are brought in line
// with their new roles.
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
	now := h.cfg.Now().UTC()
	// The event is stored with the grant, the change that matters: the
	// former owner's step down follows it.
	granted := false
	next, err := h.editMember(ctx, &sso.MembershipEdit{OrgID: org.ID, UserID: req.UserID,
		Edit: func(m *sso.Membership) error {
			if !m.Active() {
				return &InputError{Field: "user_id", Problem: "the new owner must be an active member"}
			}
			granted = !m.HasRole(RoleOwner)
			if granted {
				m.Roles, m.UpdatedAt = append(m.Roles, RoleOwner), now
			}
			return nil
		}}, &sso.Event{OrgID: org.ID, Type: EventOwnershipTransferred, Target: sso.Target{Type: "user", ID: req.UserID},
		Details: map[string]string{"from": cur.UserID, "to": req.UserID}})
	if errors.Is(err, sso.ErrNotFound) {
		return &InputError{Field: "user_id", Problem: "no member of this organization has this ID"}
	} else if err != nil {
		return err
	}
	cur, err = h.stepDown(ctx, org, cur.UserID, now)
	if err != nil {
		if granted {
			h.undoGrant(ctx, org, next.UserID, now)
		}
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

// stepDown takes the owner role from the former owner userID, who keeps
// their other roles ("admin" when none is left). It refuses (not_owner)
// when a concurrent transfer took the role first, and (last_owner) when
// no other active owner remains.
func (h *Handler) stepDown(ctx context.Context, org *sso.Organization, userID string, now time.Time) (*sso.Membership, error) {
	m, err := sso.EditMembership(ctx, h.cfg.Store, &sso.MembershipEdit{OrgID: org.ID, UserID: userID, Keep: RoleOwner,
		Edit: func(m *sso.Membership) error {
			if !m.HasRole(RoleOwner) {
				return errNotOwner
			}
			m.Roles = slices.DeleteFunc(m.Roles, func(r string) bool { return r == RoleOwner })
			if len(m.Roles) == 0 {
				m.Roles = []string{"admin"}
			}
			m.UpdatedAt = now
			return nil
		}})
	if errors.Is(err, sso.ErrLastHolder) {
		return nil, errLastOwner
	}
	return m, err
}

// undoGrant takes back the owner role a transfer granted userID when the
// former owner could not step down (a concurrent transfer won), so that
// the organization keeps one owner. A failure is logged: the organization
// then has one owner more, never none.
func (h *Handler) undoGrant(ctx context.Context, org *sso.Organization, userID string, now time.Time) {
	_, err := sso.EditMembership(ctx, h.cfg.Store, &sso.MembershipEdit{OrgID: org.ID, UserID: userID, Keep: RoleOwner,
		Edit: func(m *sso.Membership) error {
			m.Roles = slices.DeleteFunc(m.Roles, func(r string) bool { return r == RoleOwner })
			m.UpdatedAt = now
			return nil
		}})
	if err != nil {
		h.log.ErrorContext(ctx, "admin: undo an ownership grant", "org_id", org.ID, "user_id", userID, "err", err)
	}
}
