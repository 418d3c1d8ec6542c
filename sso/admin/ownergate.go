package admin

import (
	"context"
	"errors"
	"slices"

	"github.com/ssokit/ssokit/sso"
)

// The owner role marks the members who may hand the organization on and
// who cannot be suspended or removed. An administrator who could grant it
// could make themselves an owner, take the role from the real owner and
// then suspend them, so only an owner (or the host's staff) grants or
// takes it, by every route that gives roles: a member's roles, an
// invitation, a connection's group mapping. Auto-join never gives it.

// errOwnerRole answers a change that would grant or take the owner role
// by a caller who is not an owner.
var errOwnerRole = &Refusal{Reason: "not_owner", Err: sso.ErrForbidden,
	Message: "only an owner of the organization can grant or take the owner role (directly, by invitation or through a group mapping); ask an owner to make this change, or support if the organization has no owner left"}

// mayGrantOwner reports whether the request's caller may grant or take the
// owner role in org: an active member holding it, or the host's staff
// (sso.ActorOperator, who recover organizations whose owner left).
func (h *Handler) mayGrantOwner(ctx context.Context, org *sso.Organization) (bool, error) {
	actor := sso.AuditInfoFrom(ctx).Actor
	switch {
	case actor.Type == sso.ActorOperator:
		return true, nil
	case actor.Type != sso.ActorAdmin || actor.ID == "":
		return false, nil
	}
	m, err := h.cfg.Store.GetMembership(ctx, org.ID, actor.ID)
	switch {
	case errors.Is(err, sso.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return m.HasRole(RoleOwner) && m.Active(), nil
}

// requireOwnerGrant returns errOwnerRole unless the caller may grant or
// take the owner role in org.
func (h *Handler) requireOwnerGrant(ctx context.Context, org *sso.Organization) error {
	ok, err := h.mayGrantOwner(ctx, org)
	if err != nil {
		return err
	}
	if !ok {
		return errOwnerRole
	}
	return nil
}

// ownerGroups returns the groups grs maps to the owner role, sorted and
// without duplicates.
func ownerGroups(grs []sso.GroupRole) []string {
	var out []string
	for _, gr := range grs {
		if gr.Role == RoleOwner {
			out = append(out, gr.Group)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
