package localorg_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/localorg"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// TestPick: the named organization only for an active member, else the
// only active membership; never an organization the user does not belong
// to.
func TestPick(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	now := time.Now()
	for _, slug := range []string{"acme", "globex", "initech"} {
		if err := st.CreateOrg(ctx, &sso.Organization{ID: "org_" + slug, Slug: slug, Name: slug, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"usr_one", "usr_two", "usr_none"} {
		if err := st.CreateUser(ctx, &sso.User{ID: u, Email: u + "@example.com", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	member := func(org, user string, status sso.MembershipStatus) {
		if err := st.CreateMembership(ctx, &sso.Membership{OrgID: org, UserID: user, Roles: []string{"member"}, Status: status,
			Source: sso.SourceAdmin, JoinedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	member("org_acme", "usr_one", sso.MembershipActive)
	member("org_globex", "usr_one", sso.MembershipSuspended)
	member("org_acme", "usr_two", sso.MembershipActive)
	member("org_globex", "usr_two", sso.MembershipActive)
	for _, c := range []struct {
		user, slug string
		want       localorg.Outcome
		org        string
	}{
		{"usr_one", "", localorg.Found, "org_acme"},
		{"usr_one", "acme", localorg.Found, "org_acme"},
		{"usr_one", "globex", localorg.NotMember, "org_globex"}, // suspended
		{"usr_one", "initech", localorg.NotMember, "org_initech"},
		{"usr_one", "nowhere", localorg.NotMember, ""},
		{"usr_two", "", localorg.Ambiguous, ""},
		{"usr_two", "globex", localorg.Found, "org_globex"},
		{"usr_none", "", localorg.NoOrganization, ""},
		{"", "", localorg.NoOrganization, ""},
		{"", "acme", localorg.NotMember, "org_acme"},
	} {
		res, err := localorg.Pick(ctx, st, st, c.user, c.slug)
		if err != nil {
			t.Fatalf("%s/%q: %v", c.user, c.slug, err)
		}
		org := ""
		if res.Org != nil {
			org = res.Org.ID
		}
		if res.Outcome != c.want || org != c.org || (c.want == localorg.Found) != (res.Membership != nil) {
			t.Errorf("%s/%q: outcome %d org %q membership %v; want %d %q", c.user, c.slug, res.Outcome, org, res.Membership, c.want, c.org)
		}
	}
}
