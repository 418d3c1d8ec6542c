package scim_test

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// TestDirectoryLeavesSharedAccountsFields: an organization's directory
// cannot re-address or rename an account that another organization owns
// (its email is in that organization's verified domain). Otherwise the
// admin of one organization could adopt a shared member into their
// directory, point the account at an address they control, in a domain
// they verified, and take the account over everywhere with a password
// reset. The directory's own record keeps what it sent; the account keeps
// its email, its verification and its names. An account the organization
// owns still follows its directory.
func TestDirectoryLeavesSharedAccountsFields(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		bank := e.addOrg("bank")
		verify := func(org *sso.Organization, domain string) {
			t.Helper()
			if err := e.st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: domain, Token: "t", State: sso.DomainVerified,
				VerifiedAt: now, LastCheckedAt: now, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		verify(bank, "bank.example")
		verify(e.org, "acme.example")
		member := func(u *sso.User, orgs ...*sso.Organization) {
			t.Helper()
			if err := e.st.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
			for _, o := range orgs {
				if err := e.st.CreateMembership(ctx, &sso.Membership{OrgID: o.ID, UserID: u.ID, Roles: []string{"member"},
					Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
		}
		vic := &sso.User{ID: opaque.NewID("usr_"), Email: "vic@bank.example", EmailVerified: true, GivenName: "Vic", CreatedAt: now}
		member(vic, bank, e.org)

		// acme's directory adopts the shared member, then re-addresses it.
		id := e.createUser("vic@bank.example")
		if id != vic.ID {
			t.Fatalf("the directory made user %s, want the member %s", id, vic.ID)
		}
		patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` +
			`{"op":"replace","path":"emails","value":[{"value":"mallory@acme.example","primary":true}]},` +
			`{"op":"replace","path":"name.givenName","value":"Mallory"}]}`
		r := e.do("PATCH", "/Users/"+id, patch).want(t, 200)
		if emails, _ := r.body["emails"].([]any); len(emails) != 1 || emails[0].(map[string]any)["value"] != "mallory@acme.example" {
			t.Errorf("the directory's record shows emails %v, want what it sent", r.body["emails"])
		}
		u, err := e.st.GetUser(ctx, vic.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "vic@bank.example" || !u.EmailVerified || u.GivenName != "Vic" {
			t.Fatalf("another organization's directory changed the shared account: %+v", u)
		}

		// An account only acme has follows acme's directory.
		own := e.createUser("ann@acme.example")
		e.do("PATCH", "/Users/"+own, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`+
			`{"op":"replace","path":"emails","value":[{"value":"ann.lee@acme.example","primary":true}]}]}`).want(t, 200)
		if u, err := e.st.GetUser(ctx, own); err != nil || u.Email != "ann.lee@acme.example" || !u.EmailVerified {
			t.Fatalf("acme's own account did not follow its directory: %+v, %v", u, err)
		}
	})
}
