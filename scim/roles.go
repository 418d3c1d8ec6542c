package scim

import (
	"context"
	"slices"
	"strconv"

	"github.com/ssokit/ssokit/sso"
)

func itoa(n int) string { return strconv.Itoa(n) }

// mappingConns returns the organization's non-disabled connections that
// map groups to roles.
func (h *Handler) mappingConns(ctx context.Context, org *sso.Organization) ([]*sso.Connection, error) {
	conns, err := h.cfg.Core.ListConnections(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	var out []*sso.Connection
	for _, c := range conns {
		if c.Status != sso.ConnectionDisabled && len(c.GroupRoles) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

func defaultRole(org *sso.Organization) string {
	if org.Settings.DefaultRole != "" {
		return org.Settings.DefaultRole
	}
	return "member"
}

// rolesFor returns the roles the organization's connections give to a
// member of the named SCIM groups: the union of every connection's
// GroupRoles mapping, or the default role when nothing maps.
func (h *Handler) rolesFor(ctx context.Context, org *sso.Organization, groups []string) ([]string, error) {
	conns, err := h.mappingConns(ctx, org)
	if err != nil {
		return nil, err
	}
	return rolesFrom(org, conns, groups), nil
}

func rolesFrom(org *sso.Organization, conns []*sso.Connection, groups []string) []string {
	var roles []string
	for _, c := range conns {
		for _, r := range c.RolesFor(groups) {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	if len(roles) == 0 {
		roles = []string{defaultRole(org)}
	}
	return roles
}

// recomputeRoles sets the roles of each user from the display names of the
// SCIM groups they belong to. Organizations without any group mapping keep
// the roles the host assigned.
func (h *Handler) recomputeRoles(ctx context.Context, org *sso.Organization, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	conns, err := h.mappingConns(ctx, org)
	if err != nil || len(conns) == 0 {
		return err
	}
	for _, uid := range userIDs {
		byUser, err := h.cfg.Store.ListUserGroupsSCIM(ctx, org.ID, uid)
		if err != nil {
			return err
		}
		groups := byUser[uid]
		names := make([]string, 0, len(groups))
		for _, g := range groups {
			names = append(names, g.DisplayName)
		}
		roles := rolesFrom(org, conns, names)
		m, err := h.cfg.Core.GetMembership(ctx, org.ID, uid)
		if err != nil {
			return err
		}
		if slices.Equal(m.Roles, roles) {
			continue
		}
		old := m.Roles
		m.Roles = roles
		m.UpdatedAt = h.now()
		if err := h.cfg.Core.UpdateMembership(ctx, m); err != nil {
			return err
		}
		h.record(ctx, sso.EventRolesChanged, "user", uid, map[string]string{"from": joinRoles(old), "to": joinRoles(roles)})
	}
	return nil
}

func joinRoles(rs []string) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ","
		}
		s += r
	}
	return s
}
