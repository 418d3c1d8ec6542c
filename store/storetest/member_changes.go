package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// runMemberChanges checks sso.MembershipChangeLister: the memberships come
// in (UpdatedAt, OrgID, UserID) order from since on, pages follow their
// cursor without losing or repeating one, and an update moves a membership
// to the end.
func runMemberChanges(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.Store { return s.Core }, []testCase[sso.Store]{
		{"OrderAndPages", func(t *testing.T, ctx context.Context, s sso.Store) {
			cl := changeListerOf(t, s)
			// Two memberships share each update time, so the order's tie
			// breaks are checked too.
			var want []*sso.Membership
			for i, k := range []struct{ org, user string }{
				{"org_1", "user_2"}, {"org_2", "user_1"}, {"org_1", "user_1"}, {"org_1", "user_3"}, {"org_2", "user_2"},
			} {
				m := newMember(k.org, k.user)
				m.UpdatedAt = at(time.Duration(i/2) * time.Minute)
				ok(t, s.CreateMembership(ctx, m))
				want = append(want, m)
			}
			// In order: user_2@org_1 and user_1@org_2 at 0, user_1@org_1
			// and user_3@org_1 at 1 min, user_2@org_2 at 2 min.
			ordered := []*sso.Membership{want[0], want[1], want[2], want[3], want[4]}

			all, err := cl.ListChangedMemberships(ctx, time.Time{}, sso.MembershipCursor{}, 0)
			ok(t, err)
			equal(t, "ListChangedMemberships since zero", all, ordered)

			var paged []*sso.Membership
			var after sso.MembershipCursor
			for range len(ordered) + 1 {
				page, err := cl.ListChangedMemberships(ctx, time.Time{}, after, 2)
				ok(t, err)
				paged = append(paged, page...)
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].Cursor()
			}
			equal(t, "ListChangedMemberships in pages of 2", paged, ordered)

			since, err := cl.ListChangedMemberships(ctx, at(time.Minute), sso.MembershipCursor{}, 10)
			ok(t, err)
			equal(t, "ListChangedMemberships since 1 min", since, ordered[2:])

			moved := newMember("org_1", "user_2")
			moved.Status, moved.UpdatedAt = sso.MembershipSuspended, at(3*time.Minute)
			ok(t, s.UpdateMembership(ctx, moved))
			last, err := cl.ListChangedMemberships(ctx, at(2*time.Minute), sso.MembershipCursor{}, 10)
			ok(t, err)
			equal(t, "ListChangedMemberships after an update", last, []*sso.Membership{ordered[4], moved})
		}},
	})
}

// changeListerOf returns s as an sso.MembershipChangeLister, or skips the
// test when s lacks the capability.
func changeListerOf(t *testing.T, s sso.Store) sso.MembershipChangeLister {
	t.Helper()
	cl, can := s.(sso.MembershipChangeLister)
	if !can {
		t.Skip("the core store does not implement sso.MembershipChangeLister; session.Manager.Reconcile needs it when sessions are kept apart")
	}
	return cl
}
