package admin_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// TestSCIMTokenEnablesDirectorySync: the first SCIM token makes the
// directory the source of truth (JIT may then only update members), audited
// once; the other organization is untouched.
func TestSCIMTokenEnablesDirectorySync(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := 0; i < 2; i++ {
		if code, m := f.json(f.orgA, "POST", "/scim-tokens", `{"description":"idp"}`); code != 201 {
			t.Fatalf("create token: %d %v", code, m)
		}
	}
	a, err := f.st.GetOrg(ctx, f.orgA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Settings.DirectorySync {
		t.Fatal("DirectorySync is off after a SCIM token was issued")
	}
	b, _ := f.st.GetOrg(ctx, f.orgB.ID)
	if b.Settings.DirectorySync {
		t.Fatal("another organization's DirectorySync changed")
	}
	evs, err := f.st.ListEvents(ctx, sso.EventQuery{OrgID: f.orgA.ID, Type: admin.EventDirectorySyncEnabled})
	if err != nil || len(evs) != 1 {
		t.Fatalf("directory sync events: %d (%v), want exactly 1", len(evs), err)
	}
}
