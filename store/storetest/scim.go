package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

var scimT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func scimUser(orgID, id, userName string, attrs map[string]any, modified time.Time) (*sso.User, *sso.Membership, *scim.User) {
	a := map[string]any{"userName": userName}
	for k, v := range attrs {
		a[k] = v
	}
	r := &scim.User{OrgID: orgID, ID: id, Attributes: a, Version: 1, Created: scimT0, LastModified: modified}
	r.Derive()
	u := &sso.User{ID: id, Email: strings.ToLower(r.PrimaryEmail()), CreatedAt: scimT0, UpdatedAt: scimT0}
	status := sso.MembershipActive
	if !r.Active {
		status = sso.MembershipDeactivated
	}
	m := &sso.Membership{OrgID: orgID, UserID: id, Roles: []string{"member"}, Status: status, Source: sso.SourceSCIM, ExternalID: r.ExternalID, JoinedAt: scimT0, UpdatedAt: scimT0}
	return u, m, r
}

func mustCreateSCIMUser(t *testing.T, s scim.Store, orgID, id, userName string, attrs map[string]any) *scim.User {
	t.Helper()
	u, m, r := scimUser(orgID, id, userName, attrs, scimT0)
	if err := s.CreateUserSCIM(context.Background(), u, m, r); err != nil {
		t.Fatalf("CreateUserSCIM %s: %v", id, err)
	}
	return r
}

func scimIDs[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func userID(u *scim.User) string   { return u.ID }
func groupID(g *scim.Group) string { return g.ID }

func runSCIM(t *testing.T, newStores newStoresFunc) {
	// get returns fresh stores' SCIM store and, when Stores.Core is set,
	// their memberships, which SCIM writes in the same atomic step.
	get := func(t *testing.T) (scim.Store, sso.MembershipStore) {
		st := newStores(t)
		if st.Core == nil {
			return st.SCIM, nil
		}
		return st.SCIM, st.Core
	}
	ctx := context.Background()

	t.Run("CreateGetUser", func(t *testing.T) {
		s, ms := get(t)
		in := mustCreateSCIMUser(t, s, "org1", "u1", "Ada@Example.com", map[string]any{
			"externalId": "Ext-1", "active": true, "displayName": "Ada L",
			"name":   map[string]any{"givenName": "Ada", "familyName": "Lovelace"},
			"emails": []any{map[string]any{"value": "Ada@Example.com", "type": "work", "primary": true}},
		})
		got, err := s.GetUserSCIM(ctx, "org1", "u1")
		if err != nil {
			t.Fatal(err)
		}
		if got.UserName != in.UserName || got.ExternalID != "Ext-1" || !got.Active || got.GivenName != "Ada" ||
			got.FamilyName != "Lovelace" || got.DisplayName != "Ada L" || len(got.Emails) != 1 || !got.Emails[0].Primary ||
			got.Version != 1 || !got.Created.Equal(scimT0) || !got.LastModified.Equal(scimT0) || got.Deleted {
			t.Fatalf("got %+v", got)
		}
		if ms != nil {
			m, err := ms.GetMembership(ctx, "org1", "u1")
			if err != nil || m.Source != sso.SourceSCIM || m.ExternalID != "Ext-1" {
				t.Fatalf("membership %+v %v", m, err)
			}
		}
		if _, err := s.GetUserSCIM(ctx, "org2", "u1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("other org: %v", err)
		}
		if _, err := s.GetUserSCIM(ctx, "org1", "nope"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})

	t.Run("UserNameUniquePerOrg", func(t *testing.T) {
		s, ms := get(t)
		mustCreateSCIMUser(t, s, "org1", "u1", "Ada@Example.com", nil)
		u, m, r := scimUser("org1", "u2", "ada@EXAMPLE.com", nil, scimT0)
		if err := s.CreateUserSCIM(ctx, u, m, r); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate userName: %v", err)
		}
		if _, err := s.GetUserSCIM(ctx, "org1", "u2"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatal("a failed create wrote the SCIM user")
		}
		if ms != nil {
			if _, err := ms.GetMembership(ctx, "org1", "u2"); !errors.Is(err, sso.ErrNotFound) {
				t.Fatal("a failed create wrote the membership")
			}
		}
		mustCreateSCIMUser(t, s, "org2", "u3", "ada@example.com", nil)
	})

	t.Run("UpdateUser", func(t *testing.T) {
		s, ms := get(t)
		mustCreateSCIMUser(t, s, "org1", "u1", "one@x.test", nil)
		mustCreateSCIMUser(t, s, "org1", "u2", "two@x.test", nil)
		cu, m, r := scimUser("org1", "u1", "ONE-renamed@x.test", map[string]any{"active": false}, scimT0.Add(time.Second))
		r.Version = 2
		m.Status = sso.MembershipDeactivated
		if err := s.UpdateUserSCIM(ctx, r, 5, cu, m); !errors.Is(err, scim.ErrVersionMismatch) {
			t.Fatalf("stale version: %v", err)
		}
		if err := s.UpdateUserSCIM(ctx, r, 1, cu, m); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetUserSCIM(ctx, "org1", "u1")
		if got.Version != 2 || got.Active || got.UserName != "ONE-renamed@x.test" || !got.LastModified.Equal(scimT0.Add(time.Second)) {
			t.Fatalf("after update %+v", got)
		}
		if ms != nil {
			if mm, _ := ms.GetMembership(ctx, "org1", "u1"); mm.Status != sso.MembershipDeactivated {
				t.Fatalf("membership not updated atomically: %+v", mm)
			}
		}
		// The old name is free, the new one taken.
		mustCreateSCIMUser(t, s, "org1", "u3", "one@x.test", nil)
		_, _, r2 := scimUser("org1", "u2", "one-RENAMED@x.test", nil, scimT0)
		r2.Version = 2
		if err := s.UpdateUserSCIM(ctx, r2, 1, nil, nil); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("rename onto a taken name: %v", err)
		}
		if err := s.UpdateUserSCIM(ctx, &scim.User{OrgID: "org1", ID: "nope", Attributes: map[string]any{"userName": "z"}}, 1, nil, nil); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
		// Deleting frees the name and leaves groups.
		if err := s.CreateGroupSCIM(ctx, &scim.Group{OrgID: "org1", ID: "g1", DisplayName: "G", Version: 1, Created: scimT0, LastModified: scimT0}, []string{"u2"}); err != nil {
			t.Fatal(err)
		}
		_, _, d := scimUser("org1", "u2", "two@x.test", map[string]any{"active": false}, scimT0)
		d.Deleted, d.Version = true, 2
		if err := s.UpdateUserSCIM(ctx, d, 1, nil, nil); err != nil {
			t.Fatal(err)
		}
		if gs, _ := s.ListUserGroupsSCIM(ctx, "org1", "u2"); len(gs["u2"]) != 0 {
			t.Fatalf("deleted user still in %d groups", len(gs))
		}
		got, err := s.GetUserSCIM(ctx, "org1", "u2")
		if err != nil || !got.Deleted {
			t.Fatalf("deleted user: %+v %v", got, err)
		}
		mustCreateSCIMUser(t, s, "org1", "u4", "TWO@x.test", nil)
		us, total, _ := s.ListUsersSCIM(ctx, "org1", scim.Query{StartIndex: 1, Count: 100})
		if total != 3 || slices.Contains(scimIDs(us, userID), "u2") {
			t.Fatalf("list shows deleted users: %v", scimIDs(us, userID))
		}
	})

	// A SCIM user write and a role recompute each write only their own
	// fields of a membership, so neither undoes the other when they race
	// on two replicas: a stale copy of the roles in a user write must not
	// bring back a role a recompute took away, and a recompute must not
	// bring back the status a deactivation changed.
	t.Run("MembershipFieldsOwned", func(t *testing.T) {
		s, ms := get(t)
		if ms == nil {
			t.Skip("the stores keep no memberships")
		}
		rw, ok := ms.(scim.RolesWriter)
		if !ok {
			t.Fatal("the core store does not implement scim.RolesWriter")
		}
		mustCreateSCIMUser(t, s, "org1", "u1", "one@x.test", nil)
		if err := rw.SetMembershipRoles(ctx, "org1", "u1", []string{"admin"}, scimT0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// A deactivation that read the membership before the recompute.
		cu, stale, r := scimUser("org1", "u1", "one@x.test", map[string]any{"active": false}, scimT0.Add(2*time.Second))
		r.Version, stale.Status, stale.UpdatedAt = 2, sso.MembershipDeactivated, scimT0.Add(2*time.Second)
		if err := s.UpdateUserSCIM(ctx, r, 1, cu, stale); err != nil {
			t.Fatal(err)
		}
		m, err := ms.GetMembership(ctx, "org1", "u1")
		if err != nil || m.Status != sso.MembershipDeactivated || !slices.Equal(m.Roles, []string{"admin"}) {
			t.Fatalf("after the deactivation: %+v %v; want deactivated with the recomputed roles", m, err)
		}
		// A recompute after the deactivation writes roles only.
		if err := rw.SetMembershipRoles(ctx, "org1", "u1", []string{"viewer"}, scimT0.Add(3*time.Second)); err != nil {
			t.Fatal(err)
		}
		m, err = ms.GetMembership(ctx, "org1", "u1")
		if err != nil || m.Status != sso.MembershipDeactivated || !slices.Equal(m.Roles, []string{"viewer"}) || !m.UpdatedAt.Equal(scimT0.Add(3*time.Second)) {
			t.Fatalf("after the recompute: %+v %v; want still deactivated, roles viewer", m, err)
		}
		if err := rw.SetMembershipRoles(ctx, "org1", "nobody", []string{"viewer"}, scimT0); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("roles of a missing membership: %v, want ErrNotFound", err)
		}
	})

	t.Run("FilterMatchesMemory", func(t *testing.T) {
		s, _ := get(t)
		type spec struct {
			id, userName string
			attrs        map[string]any
			mod          time.Duration
		}
		specs := []spec{
			{"a1", "alice@acme.test", map[string]any{"externalId": "E-1", "displayName": "Alice A", "name": map[string]any{"givenName": "Alice", "familyName": "Archer"},
				"emails": []any{map[string]any{"value": "Alice@Acme.test", "type": "work", "primary": true}, map[string]any{"value": "alice@home.test", "type": "home"}}}, 0},
			{"a2", "bob@acme.test", map[string]any{"externalId": "e-1", "active": false, "name": map[string]any{"givenName": "Bob", "familyName": "Builder"},
				"emails": []any{map[string]any{"value": "bob@acme.test", "type": "Work"}}}, time.Hour},
			{"a3", "100%_real@acme.test", map[string]any{"displayName": "Ünïcødé Name", "name": map[string]any{"givenName": "ÉMILE"}}, 2 * time.Hour},
			{"a4", "carol@other.test", map[string]any{"externalId": "E-10", "emails": []any{map[string]any{"value": "carol@other.test"}}}, 3 * time.Hour},
			{"a5", "dave_x@acme.test", map[string]any{"active": true, "displayName": "dave"}, 4 * time.Hour},
		}
		var mem []*scim.User
		for _, sp := range specs {
			u, m, r := scimUser("org1", sp.id, sp.userName, sp.attrs, scimT0.Add(sp.mod))
			if err := s.CreateUserSCIM(ctx, u, m, r); err != nil {
				t.Fatal(err)
			}
			mem = append(mem, r)
		}
		mustCreateSCIMUser(t, s, "org2", "z1", "alice@acme.test", nil)
		filters := []string{
			`userName eq "ALICE@acme.test"`, `userName ne "alice@acme.test"`, `userName co "%"`, `userName co "_"`,
			`userName sw "ali"`, `userName ew "@ACME.TEST"`, `userName pr`, `externalId eq "E-1"`, `externalId eq "e-1"`,
			`externalId co "-1"`, `externalId sw "E"`, `externalId ew "10"`, `externalId pr`, `not (externalId pr)`,
			`displayName eq "ünïcødé name"`, `displayName co "ÏCØ"`, `displayName pr`, `active eq true`, `active eq false`,
			`active ne true`, `name.givenName eq "émile"`, `name.familyName sw "b"`, `emails.value eq "alice@acme.test"`,
			`emails.value co "home"`, `emails[type eq "work"]`, `emails[type eq "work" and value co "acme"]`,
			`emails[primary eq true]`, `emails pr`, `emails.value ne "bob@acme.test"`, `emails.type eq "home"`,
			`meta.lastModified gt "2026-03-01T13:00:00Z"`, `meta.lastModified ge "2026-03-01T13:00:00Z"`,
			`meta.lastModified lt "2026-03-01T13:00:00Z"`, `meta.lastModified le "2026-03-01T13:00:00Z"`,
			`meta.lastModified eq "2026-03-01T12:00:00Z"`, `meta.lastModified pr`,
			`userName sw "a" or userName sw "b"`, `(userName sw "a" or userName sw "b") and active eq true`,
			`not (userName ew "acme.test") or externalId eq "E-1"`, `id eq "a3"`, `userName eq ""`, `userName co ""`,
			`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@acme.test"`,
		}
		for _, f := range filters {
			e, err := scim.ParseFilter(f, scim.KindUser)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var want []string
			for _, u := range mem {
				if scim.MatchUser(e, u) {
					want = append(want, u.ID)
				}
			}
			got, total, err := s.ListUsersSCIM(ctx, "org1", scim.Query{Filter: e, StartIndex: 1, Count: 100})
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if g := scimIDs(got, userID); !slices.Equal(g, want) || total != len(want) {
				t.Errorf("%s: got %v (total %d), want %v", f, g, total, want)
			}
		}
		// Pages.
		all, total, _ := s.ListUsersSCIM(ctx, "org1", scim.Query{StartIndex: 1, Count: 100})
		if total != 5 || !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].ID < all[j].ID }) {
			t.Fatalf("all: %v %d", scimIDs(all, userID), total)
		}
		p2, total, _ := s.ListUsersSCIM(ctx, "org1", scim.Query{StartIndex: 3, Count: 2})
		if total != 5 || !slices.Equal(scimIDs(p2, userID), []string{"a3", "a4"}) {
			t.Fatalf("page 2: %v", scimIDs(p2, userID))
		}
		p, total, _ := s.ListUsersSCIM(ctx, "org1", scim.Query{StartIndex: 9, Count: 2})
		if total != 5 || len(p) != 0 {
			t.Fatalf("past the end: %v", scimIDs(p, userID))
		}
		p, total, _ = s.ListUsersSCIM(ctx, "org1", scim.Query{StartIndex: 1, Count: 0})
		if total != 5 || len(p) != 0 {
			t.Fatalf("count 0: %v", scimIDs(p, userID))
		}
		// Wildcards of LIKE and GLOB in operands are literal.
		var wild []*scim.User
		for i, n := range []string{"st*r?[x]@acme.test", "stxr@acme.test", "s%_\\x@acme.test", "sabc@acme.test"} {
			wild = append(wild, mustCreateSCIMUser(t, s, "org3", fmt.Sprintf("w%d", i), n, nil))
		}
		for _, f := range []string{`userName sw "st*"`, `userName sw "st*r?["`, `userName sw "s?"`, `userName sw "s*"`, `userName sw "s["`,
			`userName sw "s%"`, `userName sw "s%_\\"`, `userName sw "s_"`, `userName ew "?[x]@acme.test"`, `userName co "*r?"`, `userName sw "ST"`} {
			e, err := scim.ParseFilter(f, scim.KindUser)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			var want []string
			for _, u := range wild {
				if scim.MatchUser(e, u) {
					want = append(want, u.ID)
				}
			}
			got, _, err := s.ListUsersSCIM(ctx, "org3", scim.Query{Filter: e, StartIndex: 1, Count: 100})
			if g := scimIDs(got, userID); err != nil || !slices.Equal(g, want) {
				t.Errorf("%s: got %v %v, want %v", f, g, err, want)
			}
		}
	})

	t.Run("Groups", func(t *testing.T) {
		s, _ := get(t)
		for _, id := range []string{"u1", "u2", "u3"} {
			mustCreateSCIMUser(t, s, "org1", id, id+"@x.test", nil)
		}
		mustCreateSCIMUser(t, s, "org2", "b1", "b1@x.test", nil)
		g := &scim.Group{OrgID: "org1", ID: "g1", DisplayName: "Eng", ExternalID: "X-1", Version: 1, Created: scimT0, LastModified: scimT0}
		if err := s.CreateGroupSCIM(ctx, g, []string{"u1", "b1"}); !errors.Is(err, scim.ErrInvalidMember) || !errors.Is(err, sso.ErrInvalidInput) {
			t.Fatalf("foreign member: %v", err)
		}
		if _, err := s.GetGroupSCIM(ctx, "org1", "g1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatal("a failed create wrote the group")
		}
		if err := s.CreateGroupSCIM(ctx, g, []string{"u1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetGroupSCIM(ctx, "org2", "g1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("other org: %v", err)
		}
		g2 := *g
		g2.DisplayName, g2.LastModified = "Engineering", scimT0.Add(time.Minute)
		changed, err := s.UpdateGroupSCIM(ctx, &g2, 0, []scim.MemberOp{
			{Kind: scim.MembersAdd, UserIDs: []string{"u2", "u3"}},
			{Kind: scim.MembersRemove, UserIDs: []string{"u3", "u1"}},
			{Kind: scim.MembersAdd, UserIDs: []string{"u2"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(changed, []string{"u1", "u2"}) || g2.Version != 2 {
			t.Fatalf("changed %v, version %d", changed, g2.Version)
		}
		got, _ := s.GetGroupSCIM(ctx, "org1", "g1")
		if got.DisplayName != "Engineering" || got.Version != 2 || !got.LastModified.Equal(scimT0.Add(time.Minute)) || got.ExternalID != "X-1" {
			t.Fatalf("group %+v", got)
		}
		if _, err := s.UpdateGroupSCIM(ctx, &g2, 1, nil); !errors.Is(err, scim.ErrVersionMismatch) {
			t.Fatalf("stale version: %v", err)
		}
		if _, err := s.UpdateGroupSCIM(ctx, &g2, 0, []scim.MemberOp{{Kind: scim.MembersAdd, UserIDs: []string{"b1"}}}); !errors.Is(err, scim.ErrInvalidMember) {
			t.Fatalf("foreign member: %v", err)
		}
		ms, _ := s.ListGroupMembersSCIM(ctx, "org1", "g1", "", 0)
		if !slices.Equal(ms, []string{"u2"}) {
			t.Fatalf("members after a rejected change %v", ms)
		}
		changed, err = s.UpdateGroupSCIM(ctx, &g2, 0, []scim.MemberOp{{Kind: scim.MembersReplace, UserIDs: []string{"u1", "u3"}}})
		if err != nil || !slices.Equal(changed, []string{"u1", "u2", "u3"}) {
			t.Fatalf("replace: %v %v", changed, err)
		}
		ms, _ = s.ListGroupMembersSCIM(ctx, "org1", "g1", "u1", 5)
		if !slices.Equal(ms, []string{"u3"}) {
			t.Fatalf("members after u1: %v", ms)
		}
		if _, err := s.ListGroupMembersSCIM(ctx, "org1", "nope", "", 5); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("members of a missing group: %v", err)
		}
		if gs, _ := s.ListUserGroupsSCIM(ctx, "org1", "u3", "u1", "nobody"); !slices.Equal(scimIDs(gs["u3"], groupID), []string{"g1"}) ||
			!slices.Equal(scimIDs(gs["u1"], groupID), []string{"g1"}) || len(gs) != 2 {
			t.Fatalf("user groups %v", gs)
		}
		other := &scim.Group{OrgID: "org1", ID: "g2", DisplayName: "Sales_%", Version: 1, Created: scimT0, LastModified: scimT0}
		if err := s.CreateGroupSCIM(ctx, other, nil); err != nil {
			t.Fatal(err)
		}
		for f, want := range map[string][]string{
			`displayName eq "engineering"`: {"g1"}, `displayName co "_%"`: {"g2"}, `members[value eq "u3"]`: {"g1"},
			`members.value eq "u2"`: nil, `externalId eq "X-1"`: {"g1"}, `not (members pr)`: {"g2"},
			`meta.lastModified gt "2026-03-01T12:00:30Z"`: {"g1"},
		} {
			e, err := scim.ParseFilter(f, scim.KindGroup)
			if err != nil {
				t.Fatal(err)
			}
			gs, total, err := s.ListGroupsSCIM(ctx, "org1", scim.Query{Filter: e, StartIndex: 1, Count: 10})
			if err != nil || !slices.Equal(scimIDs(gs, groupID), want) && !(len(want) == 0 && len(gs) == 0) || total != len(want) {
				t.Errorf("%s: %v %d %v, want %v", f, scimIDs(gs, groupID), total, err, want)
			}
		}
		g1, err := s.GetGroupSCIM(ctx, "org1", "g1")
		if err != nil {
			t.Fatal(err)
		}
		// A delete at a version the group no longer has removes nothing.
		if _, err := s.DeleteGroupSCIM(ctx, "org1", "g1", g1.Version+1); !errors.Is(err, scim.ErrVersionMismatch) {
			t.Fatalf("delete at a stale version: %v, want ErrVersionMismatch", err)
		}
		if _, err := s.GetGroupSCIM(ctx, "org1", "g1"); err != nil {
			t.Fatalf("the group after a refused delete: %v", err)
		}
		members, err := s.DeleteGroupSCIM(ctx, "org1", "g1", g1.Version)
		if err != nil || !slices.Equal(members, []string{"u1", "u3"}) {
			t.Fatalf("delete: %v %v", members, err)
		}
		for _, v := range []int64{0, g1.Version} {
			if _, err := s.DeleteGroupSCIM(ctx, "org1", "g1", v); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("second delete (version %d): %v", v, err)
			}
		}
		if gs, _ := s.ListUserGroupsSCIM(ctx, "org1", "u1"); len(gs) != 0 {
			t.Fatalf("groups after delete %v", gs)
		}
	})

	t.Run("Seek", func(t *testing.T) {
		s, _ := get(t)
		sk, ok := s.(scim.Seeker)
		if !ok {
			t.Skip("the SCIM store is not a scim.Seeker")
		}
		runSCIMSeek(t, s, sk)
	})
}

func runSCIMRate(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	s := newStores(t).SCIMRate
	w := scimT0
	for i := int64(1); i <= 3; i++ {
		if n, err := s.IncrementSCIMRate(ctx, "k", w); err != nil || n != i {
			t.Fatalf("increment %d: %d %v", i, n, err)
		}
	}
	if n, _ := s.IncrementSCIMRate(ctx, "other", w); n != 1 {
		t.Fatalf("other key: %d", n)
	}
	if n, _ := s.IncrementSCIMRate(ctx, "k", w.Add(time.Minute)); n != 1 {
		t.Fatalf("new window: %d", n)
	}
}

func runSCIMRace(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	t.Run("ConcurrentMemberAdds", func(t *testing.T) {
		s := newStores(t).SCIM
		const n = 24
		for i := 0; i < n; i++ {
			mustCreateSCIMUser(t, s, "org1", fmt.Sprintf("u%02d", i), fmt.Sprintf("u%02d@x.test", i), nil)
		}
		if err := s.CreateGroupSCIM(ctx, &scim.Group{OrgID: "org1", ID: "g", DisplayName: "G", Version: 1, Created: scimT0, LastModified: scimT0}, nil); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := &scim.Group{OrgID: "org1", ID: "g", DisplayName: "G", Created: scimT0, LastModified: scimT0.Add(time.Duration(i) * time.Second)}
				ops := []scim.MemberOp{{Kind: scim.MembersAdd, UserIDs: []string{fmt.Sprintf("u%02d", i)}}}
				if i%3 == 0 {
					// Interleave removals of a member nobody else adds.
					ops = append(ops, scim.MemberOp{Kind: scim.MembersRemove, UserIDs: []string{"nobody"}})
				}
				if _, err := s.UpdateGroupSCIM(ctx, g, 0, ops); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		ms, err := s.ListGroupMembersSCIM(ctx, "org1", "g", "", 0)
		if err != nil || len(ms) != n {
			t.Fatalf("members %d (%v), want %d", len(ms), err, n)
		}
		g, _ := s.GetGroupSCIM(ctx, "org1", "g")
		if g.Version != n+1 {
			t.Fatalf("version %d, want %d", g.Version, n+1)
		}
	})
	t.Run("ConcurrentSameUserName", func(t *testing.T) {
		s := newStores(t).SCIM
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u, m, r := scimUser("org1", fmt.Sprintf("u%02d", i), fmt.Sprintf("Same@X.test%s", strings.Repeat("", i)), nil, scimT0)
				err := s.CreateUserSCIM(ctx, u, m, r)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, sso.ErrConflict):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d creations won, want 1", wins.Load())
		}
	})
}
