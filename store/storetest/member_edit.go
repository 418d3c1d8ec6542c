package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

// editorOf returns the core store as an sso.MembershipEditor, with org_1
// created, or skips the test when the store lacks the capability.
func editorOf(t *testing.T, ctx context.Context, s sso.Store) sso.MembershipEditor {
	t.Helper()
	ed, can := s.(sso.MembershipEditor)
	if !can {
		t.Skip("the core store does not implement sso.MembershipEditor; membership changes read and write whole records")
	}
	ok(t, s.CreateOrg(ctx, newOrg("org_1", "one")))
	return ed
}

// addHolder stores an active member of org_1 with roles.
func addHolder(t *testing.T, ctx context.Context, s sso.Store, userID string, roles ...string) {
	t.Helper()
	m := newMember("org_1", userID)
	m.Roles = roles
	ok(t, s.CreateMembership(ctx, m))
}

// dropRole is an edit that takes role from the member.
func dropRole(role string) func(m *sso.Membership) error {
	return func(m *sso.Membership) error {
		m.Roles = slices.DeleteFunc(m.Roles, func(r string) bool { return r == role })
		return nil
	}
}

// runMemberEdit checks sso.MembershipEditor: an edit changes the stored
// membership and nothing else, a refused edit writes nothing (and stores
// no event on a WithEvents view), and Keep protects the organization's
// last active holder of a role.
func runMemberEdit(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.Store { return s.Core }, []testCase[sso.Store]{
		{"EditsStoredRow", func(t *testing.T, ctx context.Context, s sso.Store) {
			ed := editorOf(t, ctx, s)
			ok(t, s.CreateMembership(ctx, newMember("org_1", "usr_1")))
			// Another writer changes the status after the caller's read.
			sus := newMember("org_1", "usr_1")
			sus.Status = sso.MembershipSuspended
			ok(t, s.UpdateMembership(ctx, sus))
			got, err := ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Edit: func(m *sso.Membership) error {
				m.Roles, m.UpdatedAt = []string{"admin"}, at(3*time.Hour)
				return nil
			}})
			ok(t, err)
			want := newMember("org_1", "usr_1")
			want.Status, want.Roles, want.UpdatedAt = sso.MembershipSuspended, []string{"admin"}, at(3*time.Hour)
			equal(t, "returned", got, want)
			stored, err := s.GetMembership(ctx, "org_1", "usr_1")
			ok(t, err)
			equal(t, "stored", stored, want)
		}},
		{"RefusedWritesNothing", func(t *testing.T, ctx context.Context, s sso.Store) {
			ed := editorOf(t, ctx, s)
			ok(t, s.CreateMembership(ctx, newMember("org_1", "usr_1")))
			no := errors.New("refused")
			_, err := ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Delete: true, Edit: func(m *sso.Membership) error {
				m.Roles = nil
				return no
			}})
			is(t, "refused edit", err, no)
			_, err = ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Edit: func(m *sso.Membership) error {
				m.UserID = "usr_2"
				return nil
			}})
			is(t, "edit of the key", err, sso.ErrInvalidInput)
			stored, err := s.GetMembership(ctx, "org_1", "usr_1")
			ok(t, err)
			equal(t, "stored", stored, newMember("org_1", "usr_1"))
			_, err = ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_x", Edit: dropRole("member")})
			is(t, "edit of a missing membership", err, sso.ErrNotFound)
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s sso.Store) {
			ed := editorOf(t, ctx, s)
			ok(t, s.CreateMembership(ctx, newMember("org_1", "usr_1")))
			got, err := ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Delete: true, Edit: func(*sso.Membership) error { return nil }})
			ok(t, err)
			equal(t, "deleted", got, newMember("org_1", "usr_1"))
			_, err = s.GetMembership(ctx, "org_1", "usr_1")
			is(t, "after delete", err, sso.ErrNotFound)
		}},
		{"KeepLastHolder", func(t *testing.T, ctx context.Context, s sso.Store) {
			ed := editorOf(t, ctx, s)
			addHolder(t, ctx, s, "usr_1", "owner", "admin")
			// A suspended holder and another organization's do not count.
			addHolder(t, ctx, s, "usr_2", "owner")
			sus := newMember("org_1", "usr_2")
			sus.Roles, sus.Status = []string{"owner"}, sso.MembershipSuspended
			ok(t, s.UpdateMembership(ctx, sus))
			ok(t, s.CreateOrg(ctx, newOrg("org_2", "two")))
			other := newMember("org_2", "usr_3")
			other.Roles = []string{"owner"}
			ok(t, s.CreateMembership(ctx, other))
			for name, e := range map[string]*sso.MembershipEdit{
				"demotion": {Edit: dropRole("owner")},
				"suspension": {Edit: func(m *sso.Membership) error {
					m.Status = sso.MembershipSuspended
					return nil
				}},
				"removal": {Delete: true, Edit: func(*sso.Membership) error { return nil }},
			} {
				e.OrgID, e.UserID, e.Keep = "org_1", "usr_1", "owner"
				_, err := ed.EditMembership(ctx, e)
				is(t, name+" of the last active owner", err, sso.ErrLastHolder)
				is(t, name+" of the last active owner", err, sso.ErrConflict)
			}
			m, err := s.GetMembership(ctx, "org_1", "usr_1")
			ok(t, err)
			if !m.HasRole("owner") || !m.Active() {
				t.Fatalf("the last owner changed: %+v", m)
			}
			// Without Keep, or keeping what the edit does not take, it passes.
			_, err = ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Keep: "owner", Edit: dropRole("admin")})
			ok(t, err)
			// With another active holder, the demotion passes.
			addHolder(t, ctx, s, "usr_4", "member", "owner")
			_, err = ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Keep: "owner", Edit: dropRole("owner")})
			ok(t, err)
			m, err = s.GetMembership(ctx, "org_1", "usr_1")
			ok(t, err)
			if m.HasRole("owner") {
				t.Fatalf("demotion not stored: %v", m.Roles)
			}
		}},
		{"EventsWithTheEdit", func(t *testing.T, ctx context.Context, s sso.Store) {
			editorOf(t, ctx, s)
			b, can := s.(audit.EventBinder)
			if !can {
				t.Skip("the core store does not implement audit.EventBinder")
			}
			bound, can := b.WithEvents(&sso.Event{ID: "evt_edit_1", OrgID: "org_1", Time: t0, Type: sso.EventRolesChanged,
				Outcome: sso.OutcomeSuccess}).(sso.MembershipEditor)
			if !can {
				t.Fatal("a WithEvents view of the core store is no sso.MembershipEditor")
			}
			addHolder(t, ctx, s, "usr_1", "owner")
			_, err := bound.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Keep: "owner", Edit: dropRole("owner")})
			is(t, "refused edit", err, sso.ErrLastHolder)
			evs, err := s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
			ok(t, err)
			if len(evs) != 0 {
				t.Fatalf("a refused edit stored events %v", ids(evs, func(e *sso.Event) string { return e.ID }))
			}
			_, err = bound.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Edit: dropRole("owner")})
			ok(t, err)
			evs, err = s.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
			ok(t, err)
			if len(evs) != 1 || evs[0].ID != "evt_edit_1" {
				t.Fatalf("events %v after the edit, want evt_edit_1", ids(evs, func(e *sso.Event) string { return e.ID }))
			}
		}},
	})
}

// memberEditRounds is how often each membership edit race runs.
const memberEditRounds = 10

// runMemberEditRace races membership edits: edits of one membership
// never lose each other's changes, and concurrent demotions of an
// organization's last two holders of a Keep role leave one.
func runMemberEditRace(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.Store { return s.Core }, []testCase[sso.Store]{
		{"NoLostEdit", func(t *testing.T, ctx context.Context, s sso.Store) {
			ed := editorOf(t, ctx, s)
			addHolder(t, ctx, s, "usr_1", "member")
			// Every racer adds its own role; one suspends.
			errs := race(func(i int) error {
				_, err := ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: "usr_1", Edit: func(m *sso.Membership) error {
					if i == 0 {
						m.Status = sso.MembershipSuspended
					}
					m.Roles = append(m.Roles, fmt.Sprintf("r%02d", i))
					return nil
				}})
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("racer %d: %v", i, err)
				}
			}
			m, err := s.GetMembership(ctx, "org_1", "usr_1")
			ok(t, err)
			want := []string{"member"}
			for i := range racers {
				want = append(want, fmt.Sprintf("r%02d", i))
			}
			got := slices.Sorted(slices.Values(m.Roles))
			if !slices.Equal(got, want) || m.Status != sso.MembershipSuspended {
				t.Fatalf("after %d edits: status %q roles %v, want suspended and every racer's role", racers, m.Status, got)
			}
		}},
		{"LastTwoHolders", func(t *testing.T, ctx context.Context, s sso.Store) {
			ed := editorOf(t, ctx, s)
			for round := range memberEditRounds {
				a, b := fmt.Sprintf("usr_a%d", round), fmt.Sprintf("usr_b%d", round)
				addHolder(t, ctx, s, a, "owner", "admin")
				addHolder(t, ctx, s, b, "owner", "admin")
				start := make(chan struct{})
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, uid := range []string{a, b} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						e := &sso.MembershipEdit{OrgID: "org_1", UserID: uid, Keep: "owner", Edit: dropRole("owner")}
						if i == 1 && round%2 == 1 {
							e.Delete = true
						}
						_, errs[i] = ed.EditMembership(ctx, e)
					}()
				}
				close(start)
				wg.Wait()
				won := 0
				for _, err := range errs {
					if err == nil {
						won++
					} else if !errors.Is(err, sso.ErrLastHolder) {
						t.Fatalf("round %d: %v, want nil or ErrLastHolder", round, err)
					}
				}
				ms, err := s.ListMembers(ctx, "org_1", "", 100)
				ok(t, err)
				var holders []string
				for _, m := range ms {
					if m.HasRole("owner") && m.Active() {
						holders = append(holders, m.UserID)
					}
				}
				if won != 1 || len(holders) != 1 {
					t.Fatalf("round %d: %d demotions won, holders %v; want one each", round, won, holders)
				}
				// The survivor steps down for the next round's pair.
				_, err = ed.EditMembership(ctx, &sso.MembershipEdit{OrgID: "org_1", UserID: holders[0], Edit: dropRole("owner")})
				ok(t, err)
			}
		}},
	})
}
