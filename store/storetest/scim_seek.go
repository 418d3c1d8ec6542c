package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
)

// runSCIMSeek checks a scim.Seeker against the same store's
// ListUsersSCIM and ListGroupsSCIM: keyset pages, counts and marks, with
// and without filters, never showing deleted users or another
// organization's records.
func runSCIMSeek(t *testing.T, s scim.Store, sk scim.Seeker) {
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		attrs := map[string]any{"displayName": "odd"}
		if i%2 == 0 {
			attrs = map[string]any{"displayName": "even", "name": map[string]any{"givenName": fmt.Sprintf("G%d", i)},
				"emails": []any{map[string]any{"value": fmt.Sprintf("s%02d@x.test", i), "primary": true}}}
		}
		mustCreateSCIMUser(t, s, "org1", fmt.Sprintf("s%02d", i), fmt.Sprintf("s%02d@x.test", i), attrs)
	}
	mustCreateSCIMUser(t, s, "org2", "s05x", "s05x@x.test", nil)
	for _, id := range []string{"s03", "s10", "s24"} {
		_, _, d := scimUser("org1", id, id+"@x.test", nil, scimT0.Add(time.Second))
		d.Deleted, d.Version = true, 2
		if err := s.UpdateUserSCIM(ctx, d, 1, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 7; i++ {
		g := &scim.Group{OrgID: "org1", ID: fmt.Sprintf("g%d", i), DisplayName: fmt.Sprintf("Team %d", i%3), Version: 1, Created: scimT0, LastModified: scimT0}
		if err := s.CreateGroupSCIM(ctx, g, []string{"s01"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateGroupSCIM(ctx, &scim.Group{OrgID: "org2", ID: "g2x", DisplayName: "Team 0", Version: 1, Created: scimT0, LastModified: scimT0}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteGroupSCIM(ctx, "org1", "g4", 0); err != nil {
		t.Fatal(err)
	}

	userFilters := []string{"", `displayName eq "even"`, `userName sw "s1"`, `emails[primary eq true]`, `userName eq "s07@x.test"`, `id eq "s10"`}
	for _, f := range userFilters {
		var e scim.Expr
		if f != "" {
			var err error
			if e, err = scim.ParseFilter(f, scim.KindUser); err != nil {
				t.Fatal(err)
			}
		}
		all, total, err := s.ListUsersSCIM(ctx, "org1", scim.Query{Filter: e, StartIndex: 1, Count: 100})
		if err != nil || total != len(all) {
			t.Fatalf("%q: ListUsersSCIM %d of %d, %v", f, len(all), total, err)
		}
		ref := scimIDs(all, userID)
		checkSeek(t, f, ref, func(after string, skip, count int) ([]string, error) {
			us, err := sk.SeekUsersSCIM(ctx, "org1", after, scim.Query{Filter: e, StartIndex: skip + 1, Count: count})
			for _, u := range us {
				checkSeekUser(t, s, u)
			}
			return scimIDs(us, userID), err
		}, func(every int) (int, []string, error) { return sk.CountUsersSCIM(ctx, "org1", e, every) })
	}
	for _, f := range []string{"", `displayName eq "team 1"`, `members[value eq "s01"]`} {
		var e scim.Expr
		if f != "" {
			var err error
			if e, err = scim.ParseFilter(f, scim.KindGroup); err != nil {
				t.Fatal(err)
			}
		}
		all, _, err := s.ListGroupsSCIM(ctx, "org1", scim.Query{Filter: e, StartIndex: 1, Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		ref := scimIDs(all, groupID)
		checkSeek(t, f, ref, func(after string, skip, count int) ([]string, error) {
			gs, err := sk.SeekGroupsSCIM(ctx, "org1", after, scim.Query{Filter: e, StartIndex: skip + 1, Count: count})
			return scimIDs(gs, groupID), err
		}, func(every int) (int, []string, error) { return sk.CountGroupsSCIM(ctx, "org1", e, every) })
	}
	if us, err := sk.SeekUsersSCIM(ctx, "org3", "", scim.Query{StartIndex: 1, Count: 10}); err != nil || len(us) != 0 {
		t.Fatalf("an organization without users: %v %v", scimIDs(us, userID), err)
	}
	if n, marks, err := sk.CountUsersSCIM(ctx, "org3", nil, 2); err != nil || n != 0 || len(marks) != 0 {
		t.Fatalf("count of an organization without users: %d %v %v", n, marks, err)
	}
}

// checkSeek compares keyset pages and counts with ref, the matches in
// order.
func checkSeek(t *testing.T, filter string, ref []string,
	seek func(after string, skip, count int) ([]string, error), count func(every int) (int, []string, error)) {
	t.Helper()
	n, marks, err := count(0)
	if err != nil || n != len(ref) || len(marks) != 0 {
		t.Errorf("%q: count %d %v %v, want %d", filter, n, marks, err, len(ref))
	}
	for _, every := range []int{1, 4, 100} {
		n, marks, err := count(every)
		var want []string
		for i := every; i <= len(ref); i += every {
			want = append(want, ref[i-1])
		}
		if err != nil || n != len(ref) || !slices.Equal(marks, want) {
			t.Errorf("%q: count every %d: %d %v %v, want %d %v", filter, every, n, marks, err, len(ref), want)
		}
	}
	afters := []string{"", "s05x", "s99", "g3"}
	afters = append(afters, ref...)
	for _, after := range afters {
		var rest []string
		for _, id := range ref {
			if after == "" || id > after {
				rest = append(rest, id)
			}
		}
		for _, skip := range []int{0, 2} {
			for _, c := range []int{0, 3, 100} {
				got, err := seek(after, skip, c)
				want := rest[min(skip, len(rest)):min(skip+c, len(rest))]
				if err != nil || !slices.Equal(got, want) && len(got)+len(want) > 0 {
					t.Errorf("%q: seek after %q skip %d count %d: %v %v, want %v", filter, after, skip, c, got, err, want)
				}
			}
		}
	}
}

// checkSeekUser checks that a user from SeekUsersSCIM carries what the
// handler renders: the record fields and the attributes GetUserSCIM
// returns, as a map or as JSON.
func checkSeekUser(t *testing.T, s scim.Store, u *scim.User) {
	t.Helper()
	want, err := s.GetUserSCIM(context.Background(), "org1", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	attrs := u.Attributes
	if attrs == nil {
		if attrs, err = scim.DecodeAttributes(u.AttributesJSON); err != nil {
			t.Fatalf("%s: AttributesJSON: %v", u.ID, err)
		}
	}
	a, _ := json.Marshal(attrs)
	b, _ := json.Marshal(want.Attributes)
	if u.OrgID != "org1" || u.Deleted || u.Version != want.Version || !u.Created.Equal(want.Created) ||
		!u.LastModified.Equal(want.LastModified) || string(a) != string(b) {
		t.Errorf("seek user %+v, attributes %s; want %+v, %s", u, a, want, b)
	}
}
