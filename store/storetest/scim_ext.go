package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

// runSCIMEnterprise checks that enterprise extension filters select by the
// attributes a user was stored with and changed to, in ListUsersSCIM and,
// when the store is a scim.Seeker, in SeekUsersSCIM and CountUsersSCIM.
func runSCIMEnterprise(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	s := newStores(t).SCIM
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	ext := func(dept, emp, mgr string) map[string]any {
		return map[string]any{ent: map[string]any{"department": dept, "employeeNumber": emp, "costCenter": "CC-" + emp,
			"organization": "Org", "division": "Div " + dept, "manager": map[string]any{"value": mgr}}}
	}
	mustCreateSCIMUser(t, s, "org1", "e1", "e1@x.test", ext("Sales", "100", "M-1"))
	mustCreateSCIMUser(t, s, "org1", "e2", "e2@x.test", ext("Ünits", "200", "m-1"))
	mustCreateSCIMUser(t, s, "org1", "e3", "e3@x.test", nil)
	mustCreateSCIMUser(t, s, "org2", "e4", "e4@x.test", ext("Sales", "100", "M-1"))
	_, _, moved := scimUser("org1", "e3", "e3@x.test", ext("sales", "300", "M-2"), scimT0.Add(time.Second))
	moved.Version = 2
	if err := s.UpdateUserSCIM(ctx, moved, 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{ent + `:department eq "SALES"`, []string{"e1", "e3"}},
		{ent + `:department eq "ünits"`, []string{"e2"}},
		{ent + `:employeeNumber eq "100"`, []string{"e1"}},
		{ent + `:costCenter sw "cc-"`, []string{"e1", "e2", "e3"}},
		{ent + `:organization eq "org"`, []string{"e1", "e2", "e3"}},
		{ent + `:division co "sales"`, []string{"e1", "e3"}},
		{ent + `:manager.value eq "M-1"`, []string{"e1"}},
		{ent + `:manager.value ne "M-1"`, []string{"e2", "e3"}},
		{`not (` + ent + `:department eq "sales")`, []string{"e2"}},
		{ent + `:department pr and ` + ent + `:employeeNumber eq "300"`, []string{"e3"}},
	}
	sk, seeks := s.(scim.Seeker)
	for _, c := range cases {
		e, err := scim.ParseFilter(c.filter, scim.KindUser)
		if err != nil {
			t.Fatalf("%s: %v", c.filter, err)
		}
		users, total, err := s.ListUsersSCIM(ctx, "org1", scim.Query{Filter: e, StartIndex: 1, Count: 10})
		if got := scimIDs(users, userID); err != nil || total != len(c.want) || !slices.Equal(got, c.want) {
			t.Errorf("ListUsersSCIM %s: %v (total %d, %v), want %v", c.filter, got, total, err, c.want)
		}
		if !seeks {
			continue
		}
		page, err := sk.SeekUsersSCIM(ctx, "org1", "", scim.Query{Filter: e, StartIndex: 1, Count: 10})
		if got := scimIDs(page, userID); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SeekUsersSCIM %s: %v (%v), want %v", c.filter, got, err, c.want)
		}
		if n, _, err := sk.CountUsersSCIM(ctx, "org1", e, 0); err != nil || n != len(c.want) {
			t.Errorf("CountUsersSCIM %s: %d (%v), want %d", c.filter, n, err, len(c.want))
		}
	}
	got, err := s.GetUserSCIM(ctx, "org1", "e3")
	if err != nil || got.Enterprise == nil || got.Enterprise.Department != "sales" || got.Enterprise.ManagerID != "M-2" {
		t.Errorf("GetUserSCIM e3: %+v (%v)", got, err)
	}
}

// runSCIMStatus checks the scim.StatusStore that Stores.SCIM implements: token uses written only when
// the stored one is older than the gap, failures kept newest first up to
// the limit, counts of live users and groups, one organization at a time.
func runSCIMStatus(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	stores := newStores(t)
	s, core := stores.SCIM, stores.Core
	st, ok := s.(scim.StatusStore)
	if !ok {
		t.Logf("storetest: %T does not implement the optional scim.StatusStore; its cases did not run", s)
		return
	}
	for _, o := range []string{"org1", "org2"} {
		if err := core.CreateOrg(ctx, &sso.Organization{ID: o, Slug: o, Name: o, CreatedAt: scimT0, UpdatedAt: scimT0}); err != nil {
			t.Fatal(err)
		}
	}
	tok := &sso.SCIMToken{ID: "tok1", OrgID: "org1", Hash: "h1", Hint: "h", CreatedAt: scimT0}
	if err := core.CreateSCIMToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	mustCreateSCIMUser(t, s, "org1", "u1", "u1@x.test", nil)
	mustCreateSCIMUser(t, s, "org1", "u2", "u2@x.test", nil)
	mustCreateSCIMUser(t, s, "org2", "u3", "u3@x.test", nil)
	_, _, d := scimUser("org1", "u2", "u2@x.test", nil, scimT0.Add(time.Second))
	d.Deleted, d.Version = true, 2
	if err := s.UpdateUserSCIM(ctx, d, 1, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroupSCIM(ctx, &scim.Group{OrgID: "org1", ID: "g1", DisplayName: "G", Version: 1, Created: scimT0, LastModified: scimT0}, []string{"u1"}); err != nil {
		t.Fatal(err)
	}

	use := func(org string) time.Time {
		t.Helper()
		ss, err := st.SCIMSyncStatus(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ss.Tokens {
			if u.TokenID == "tok1" {
				return u.LastUsedAt
			}
		}
		return time.Time{}
	}
	t1 := scimT0.Add(time.Hour)
	steps := []struct {
		at   time.Time
		org  string
		want time.Time
	}{
		{t1, "org1", t1},
		{t1.Add(30 * time.Second), "org1", t1}, // within the gap
		{t1.Add(2 * time.Minute), "org2", t1},  // another organization's touch
		{t1.Add(61 * time.Second), "org1", t1.Add(61 * time.Second)},
	}
	for i, c := range steps {
		if err := st.TouchSCIMToken(ctx, c.org, "tok1", c.at, time.Minute); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := use("org1"); !got.Equal(c.want) {
			t.Errorf("step %d: last use %v, want %v", i, got, c.want)
		}
	}
	if err := st.TouchSCIMToken(ctx, "org1", "no-such-token", t1, time.Minute); err != nil {
		t.Errorf("unknown token: %v", err)
	}

	for i := 0; i < 7; i++ {
		f := scim.SyncFailure{At: t1.Add(time.Duration(i) * time.Second), Status: 400, Reason: fmt.Sprintf("r%d", i), Method: "GET", Route: "/Users"}
		if err := st.RecordSCIMFailure(ctx, "org1", f, 5); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordSCIMFailure(ctx, "org2", scim.SyncFailure{At: t1, Status: 404, Reason: "x", Method: "GET", Route: "/Groups/{id}"}, 5); err != nil {
		t.Fatal(err)
	}
	ss, err := st.SCIMSyncStatus(ctx, "org1")
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, f := range ss.Failures {
		reasons = append(reasons, f.Reason)
	}
	if !slices.Equal(reasons, []string{"r6", "r5", "r4", "r3", "r2"}) || !ss.Failures[0].At.Equal(t1.Add(6*time.Second)) {
		t.Errorf("failures %+v, want r6..r2 newest first", ss.Failures)
	}
	if ss.Users != 1 || ss.Groups != 1 || len(ss.Tokens) != 1 {
		t.Errorf("org1 status: %d users, %d groups, %d tokens; want 1, 1, 1", ss.Users, ss.Groups, len(ss.Tokens))
	}
	ss2, err := st.SCIMSyncStatus(ctx, "org2")
	if err != nil || ss2.Users != 1 || ss2.Groups != 0 || len(ss2.Tokens) != 0 || len(ss2.Failures) != 1 {
		t.Errorf("org2 status: %+v (%v)", ss2, err)
	}
}

// runSCIMSort checks sorted lists: ListUsersSCIM and ListGroupsSCIM in
// the order the scim package defines (absent values last, ties by ID,
// descending the reverse), and, when the store is a scim.Seeker, the same
// order read page by page after each page's last Cursor.
func runSCIMSort(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	s := newStores(t).SCIM
	names := map[string]string{"a1": "Mia", "a2": "", "a3": "adam", "a4": "mia", "a5": "Zoe", "a6": ""}
	for _, id := range []string{"a6", "a1", "a4", "a2", "a5", "a3"} {
		var attrs map[string]any
		if names[id] != "" {
			attrs = map[string]any{"displayName": names[id]}
		}
		mustCreateSCIMUser(t, s, "org1", id, id+"@x.test", attrs)
	}
	mustCreateSCIMUser(t, s, "org2", "a0", "a0@x.test", map[string]any{"displayName": "Aaa"})
	asc := []string{"a3", "a1", "a4", "a5", "a2", "a6"}
	for _, desc := range []bool{false, true} {
		want := slices.Clone(asc)
		if desc {
			slices.Reverse(want)
		}
		q := scim.Query{StartIndex: 1, Count: 10, Sort: scim.SortDisplayName, Descending: desc}
		users, total, err := s.ListUsersSCIM(ctx, "org1", q)
		if got := scimIDs(users, userID); err != nil || total != 6 || !slices.Equal(got, want) {
			t.Errorf("ListUsersSCIM desc=%v: %v (%d, %v), want %v", desc, got, total, err, want)
		}
		q.StartIndex = 3
		users, _, _ = s.ListUsersSCIM(ctx, "org1", q)
		if got := scimIDs(users, userID); !slices.Equal(got, want[2:]) {
			t.Errorf("ListUsersSCIM desc=%v from 3: %v, want %v", desc, got, want[2:])
		}
		sk, ok := s.(scim.Seeker)
		if !ok {
			continue
		}
		var walked []string
		after := ""
		for i := 0; i < 4; i++ {
			page, err := sk.SeekUsersSCIM(ctx, "org1", after, scim.Query{StartIndex: 1, Count: 4, Sort: scim.SortDisplayName, Descending: desc})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			walked = append(walked, scimIDs(page, userID)...)
			if after = page[len(page)-1].Cursor; after == "" {
				t.Fatal("SeekUsersSCIM of a sorted query set no Cursor")
			}
		}
		if !slices.Equal(walked, want) {
			t.Errorf("SeekUsersSCIM walk desc=%v: %v, want %v", desc, walked, want)
		}
	}
	for i, n := range []string{"beta", "", "Alpha"} {
		g := &scim.Group{OrgID: "org1", ID: fmt.Sprintf("g%d", i), DisplayName: n, ExternalID: n, Version: 1, Created: scimT0, LastModified: scimT0.Add(time.Duration(3-i) * time.Second)}
		if err := s.CreateGroupSCIM(ctx, g, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		sort scim.SortAttr
		want []string
	}{{scim.SortExternalID, []string{"g2", "g0", "g1"}}, {scim.SortLastModified, []string{"g2", "g1", "g0"}}} {
		groups, _, err := s.ListGroupsSCIM(ctx, "org1", scim.Query{StartIndex: 1, Count: 10, Sort: c.sort})
		if got := scimIDs(groups, groupID); err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ListGroupsSCIM by %s: %v (%v), want %v", c.sort, got, err, c.want)
		}
	}
}
