package sso

import "slices"

// RoleOwner is the role of an organization's owners: the members who may
// hand the organization on and who cannot be suspended or removed. Only
// an owner (or the host's staff) grants or takes it, through the admin
// API. A group to role mapping manages it only when one of its groups maps
// to it (MappedRoles), so a mapping that never names it never takes it.
const RoleOwner = "owner"

// MapsOwner reports whether c's group mapping names RoleOwner, and so
// manages who holds it among the members it maps.
func (c *Connection) MapsOwner() bool {
	return slices.ContainsFunc(c.GroupRoles, func(gr GroupRole) bool { return gr.Role == RoleOwner })
}

// MappedRoles returns the roles a group mapping gives a member who holds
// current: mapped, with RoleOwner added when the member holds it and the
// mapping does not manage it (mapsOwner false). Otherwise an owner's next
// sign-in through a mapping that names only other roles would take the
// owner role, and with it the owner's protection from being suspended.
func MappedRoles(mapped, current []string, mapsOwner bool) []string {
	if mapsOwner || !slices.Contains(current, RoleOwner) || slices.Contains(mapped, RoleOwner) {
		return mapped
	}
	return append(slices.Clip(mapped), RoleOwner)
}

// SameRoles reports whether a and b hold the same roles, in any order
// (each is a set: no role twice).
func SameRoles(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// MemberRole returns the role a member gets when nothing else names one
// (no group mapping applies): s.DefaultRole, or "member" when it is empty.
func (s *OrgSettings) MemberRole() string {
	if s.DefaultRole != "" {
		return s.DefaultRole
	}
	return "member"
}
