package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// MemberRolesRequest is the body of PUT /members/{user}/roles.
type MemberRolesRequest struct {
	Roles []string `json:"roles"`
}

// MemberView is a membership as the admin API shows it.
type MemberView struct {
	UserID     string   `json:"user_id"`
	Roles      []string `json:"roles"`
	Status     string   `json:"status"`
	Source     string   `json:"source"`
	BreakGlass bool     `json:"break_glass"`
}

// maxRoles bounds a member's roles; maxRoleLen one role's length.
const (
	maxRoles   = 32
	maxRoleLen = 64
)

// validRoles checks roles and returns them without duplicates, in order.
func validRoles(roles []string) ([]string, error) {
	if len(roles) == 0 || len(roles) > maxRoles {
		return nil, fmt.Errorf("%w: roles: give 1 to %d roles", sso.ErrInvalidInput, maxRoles)
	}
	out := make([]string, 0, len(roles))
	for _, r := range roles {
		ok := r != "" && len(r) <= maxRoleLen && utf8.ValidString(r) &&
			strings.IndexFunc(r, func(c rune) bool { return unicode.IsControl(c) || unicode.IsSpace(c) || c == ',' }) < 0
		if !ok {
			return nil, fmt.Errorf("%w: roles: %q is not a role name (1 to %d characters, no spaces, commas or control characters)",
				sso.ErrInvalidInput, clip(r, maxRoleLen), maxRoleLen)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// setMemberRoles answers PUT /members/{user}/roles: it replaces the
// member's roles, audits the change and brings the member's live sessions
// and tokens in line (Config.Sync). While the organization's directory sync
// is on, roles belong to the directory and the request is refused with a
// conflict. Only the roles are written, on the membership as stored at the
// write, so a concurrent suspension stays; the organization's last active
// owner cannot lose the owner role (409 last_owner), and only an owner
// grants or takes it (403 not_owner).
func (h *Handler) setMemberRoles(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req MemberRolesRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	roles, err := validRoles(req.Roles)
	if err != nil {
		return err
	}
	user := r.PathValue("user")
	if len(user) > 128 {
		return fmt.Errorf("admin: member: %w", sso.ErrNotFound)
	}
	if org.Settings.DirectorySync {
		return fmt.Errorf("%w: roles: the organization's directory (SCIM) manages roles; change the member's groups there",
			sso.ErrConflict)
	}
	ctx := r.Context()
	mayOwn, err := h.mayGrantOwner(ctx, org)
	if err != nil {
		return err
	}
	now := h.cfg.Now().UTC()
	ev := &sso.Event{OrgID: org.ID, Type: sso.EventRolesChanged, Target: sso.Target{Type: "user", ID: user},
		Details: map[string]string{"to": strings.Join(roles, ",")}}
	m, err := h.editMember(ctx, &sso.MembershipEdit{OrgID: org.ID, UserID: user, Keep: RoleOwner,
		Edit: func(m *sso.Membership) error {
			if sso.SameRoles(m.Roles, roles) {
				return errUnchanged
			}
			if !mayOwn && m.HasRole(RoleOwner) != slices.Contains(roles, RoleOwner) {
				return errOwnerRole
			}
			ev.Details["from"] = strings.Join(m.Roles, ",")
			m.Roles, m.UpdatedAt = roles, now
			return nil
		}}, ev)
	switch {
	case errors.Is(err, errUnchanged):
		if m, err = h.cfg.Store.GetMembership(ctx, org.ID, user); err != nil {
			return err
		}
	case errors.Is(err, sso.ErrLastHolder):
		return errLastOwner
	case err != nil:
		return err
	case h.cfg.Sync != nil:
		if err := h.cfg.Sync.SyncMembership(ctx, m); err != nil {
			return fmt.Errorf("admin: sync sessions after a role change: %w", err)
		}
	}
	httpjson.Write(w, http.StatusOK, &MemberView{UserID: m.UserID, Roles: m.Roles, Status: string(m.Status),
		Source: string(m.Source), BreakGlass: m.BreakGlass})
	return nil
}

// errUnchanged ends a member edit that finds the change made already:
// nothing is written or audited.
var errUnchanged = errors.New("admin: member unchanged")

// errLastOwner answers a change that would leave the organization without
// an active owner.
var errLastOwner = &Refusal{Reason: "last_owner",
	Message: "the organization's last active owner cannot lose the owner role; transfer ownership first", Err: sso.ErrConflict}

// editMember runs e with its events (h.change): the membership as stored
// is read, edited and written in one step when the store is an
// sso.MembershipEditor, and e's events are stored with the write.
func (h *Handler) editMember(ctx context.Context, e *sso.MembershipEdit, evs ...*sso.Event) (*sso.Membership, error) {
	var m *sso.Membership
	err := h.change(ctx, func(s Store) error {
		var err error
		m, err = sso.EditMembership(ctx, s, e)
		return err
	}, evs...)
	return m, err
}
