package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/ssokit/ssokit/sso"
)

var _ sso.MembershipChangeLister = (*Store)(nil)

// ListChangedMemberships implements sso.MembershipChangeLister. Being in
// memory, it scans the memberships.
func (s *Store) ListChangedMemberships(ctx context.Context, since time.Time, after sso.MembershipCursor, limit int) ([]*sso.Membership, error) {
	d := s.lock()
	defer s.mu.Unlock()
	start := after != (sso.MembershipCursor{})
	var out []*sso.Membership
	for _, byUser := range d.members {
		for _, m := range byUser {
			if m.UpdatedAt.Before(since) || start && compareCursor(m.Cursor(), after) <= 0 {
				continue
			}
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *sso.Membership) int { return compareCursor(a.Cursor(), b.Cursor()) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i, m := range out {
		out[i] = cloneMember(m)
	}
	return out, nil
}

// compareCursor orders memberships as ListChangedMemberships does.
func compareCursor(a, b sso.MembershipCursor) int {
	return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.OrgID, b.OrgID), cmp.Compare(a.UserID, b.UserID))
}
