package storetest

import (
	"context"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

// loginStores is what the LoginLoader cases need: the core store to write
// the records and the loader to read them back.
type loginStores struct {
	core sso.Store
	l    login.Loader
}

const (
	loginIssuer  = "https://idp.example.com"
	loginSubject = "00u1"
)

// seedLogin writes organization org_1 and, when withIdentity, user_1 with
// its membership in org_1 and its identity there. It returns the records
// written.
func seedLogin(t *testing.T, ctx context.Context, s sso.Store, withIdentity bool) *login.Records {
	t.Helper()
	want := &login.Records{Org: newOrg("org_1", "acme")}
	ok(t, s.CreateOrg(ctx, want.Org))
	if !withIdentity {
		return want
	}
	want.User = newUser("user_1", "ada@example.com")
	want.Membership = newMember("org_1", "user_1")
	want.Identity = newIdentity("idn_1", "org_1", loginIssuer, loginSubject, "user_1")
	ok(t, s.CreateUser(ctx, want.User))
	ok(t, s.CreateMembership(ctx, want.Membership))
	ok(t, s.CreateIdentity(ctx, want.Identity))
	return want
}

// loadLogin calls LoadLogin for org_1 and the seeded issuer and subject.
func loadLogin(t *testing.T, ctx context.Context, s loginStores, emailDomain string) *login.Records {
	t.Helper()
	got, err := s.l.LoadLogin(ctx, "org_1", loginIssuer, loginSubject, emailDomain)
	ok(t, err)
	if got == nil {
		t.Fatal("LoadLogin returned nil records and no error")
	}
	return got
}

func runLoginLoader(t *testing.T, newStores newStoresFunc) {
	pick := func(s Stores) loginStores { return loginStores{core: s.Core, l: s.LoginLoader} }
	runCases(t, newStores, pick, []testCase[loginStores]{
		{"MissingOrg", func(t *testing.T, ctx context.Context, s loginStores) {
			_, err := s.l.LoadLogin(ctx, "nope", loginIssuer, loginSubject, "example.com")
			is(t, "LoadLogin of a missing organization", err, sso.ErrNotFound)
			// Records of another organization do not make it exist.
			want := seedLogin(t, ctx, s.core, true)
			ok(t, s.core.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainVerified)))
			ok(t, s.core.CreateIdentity(ctx, newIdentity("idn_2", "nope", loginIssuer, loginSubject, want.User.ID)))
			_, err = s.l.LoadLogin(ctx, "nope", loginIssuer, loginSubject, "example.com")
			is(t, "LoadLogin of a missing organization with records", err, sso.ErrNotFound)
		}},
		{"OrgOnly", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, false)
			equal(t, "no email domain", loadLogin(t, ctx, s, ""), want)
			equal(t, "unknown email domain", loadLogin(t, ctx, s, "example.com"), want)
		}},
		{"VerifiedDomainOfThisOrg", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, false)
			want.Domain = newDomain("org_1", "example.com", sso.DomainVerified)
			ok(t, s.core.CreateDomain(ctx, want.Domain))
			ok(t, s.core.CreateDomain(ctx, newDomain("org_1", "other.example", sso.DomainVerified)))
			equal(t, "verified domain", loadLogin(t, ctx, s, "example.com"), want)
			want.Domain = nil
			equal(t, "no email domain", loadLogin(t, ctx, s, ""), want)
		}},
		{"VerifiedDomainOfAnotherOrg", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, true)
			ok(t, s.core.CreateOrg(ctx, newOrg("org_2", "globex")))
			ok(t, s.core.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainPending)))
			want.Domain = newDomain("org_2", "example.com", sso.DomainVerified)
			ok(t, s.core.CreateDomain(ctx, want.Domain))
			equal(t, "domain held by another organization", loadLogin(t, ctx, s, "example.com"), want)
		}},
		{"PendingDomain", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, true)
			ok(t, s.core.CreateOrg(ctx, newOrg("org_2", "globex")))
			ok(t, s.core.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainPending)))
			ok(t, s.core.CreateDomain(ctx, newDomain("org_2", "example.com", sso.DomainFailed)))
			equal(t, "pending and failed domains", loadLogin(t, ctx, s, "example.com"), want)
		}},
		{"IdentityWithUserAndMembership", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, true)
			want.Domain = newDomain("org_1", "example.com", sso.DomainVerified)
			ok(t, s.core.CreateDomain(ctx, want.Domain))
			// Records that must not be picked: the same subject at another
			// issuer and in another organization, another subject, and the
			// user's membership elsewhere.
			ok(t, s.core.CreateOrg(ctx, newOrg("org_2", "globex")))
			ok(t, s.core.CreateUser(ctx, newUser("user_2", "eve@example.com")))
			ok(t, s.core.CreateMembership(ctx, newMember("org_1", "user_2")))
			ok(t, s.core.CreateMembership(ctx, newMember("org_2", "user_1")))
			ok(t, s.core.CreateIdentity(ctx, newIdentity("idn_2", "org_1", "https://other.example.com", loginSubject, "user_2")))
			ok(t, s.core.CreateIdentity(ctx, newIdentity("idn_3", "org_2", loginIssuer, loginSubject, "user_2")))
			ok(t, s.core.CreateIdentity(ctx, newIdentity("idn_4", "org_1", loginIssuer, "00u2", "user_2")))
			equal(t, "matched login", loadLogin(t, ctx, s, "example.com"), want)

			got, err := s.l.LoadLogin(ctx, "org_1", loginIssuer, "00u9", "example.com")
			ok(t, err)
			equal(t, "unknown subject", got, &login.Records{Org: want.Org, Domain: want.Domain})
		}},
		{"UserMissing", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, true)
			ok(t, s.core.DeleteUser(ctx, want.User.ID))
			want.User = nil
			equal(t, "identity of a deleted user", loadLogin(t, ctx, s, ""), want)
		}},
		{"NoMembership", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, true)
			ok(t, s.core.CreateOrg(ctx, newOrg("org_2", "globex")))
			ok(t, s.core.CreateMembership(ctx, newMember("org_2", want.User.ID)))
			ok(t, s.core.DeleteMembership(ctx, "org_1", want.User.ID))
			want.Membership = nil
			equal(t, "identity without a membership here", loadLogin(t, ctx, s, ""), want)
		}},
		{"SuspendedMembership", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, true)
			want.Membership.Status = sso.MembershipSuspended
			ok(t, s.core.UpdateMembership(ctx, want.Membership))
			equal(t, "suspended membership", loadLogin(t, ctx, s, ""), want)
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s loginStores) {
			want := seedLogin(t, ctx, s.core, true)
			want.Domain = newDomain("org_1", "example.com", sso.DomainVerified)
			ok(t, s.core.CreateDomain(ctx, want.Domain))
			got := loadLogin(t, ctx, s, "example.com")
			got.Org.Name = "evil"
			got.Org.Settings.Features[0] = "evil"
			got.Domain.OrgID = "org_evil"
			got.Identity.UserID = "user_evil"
			got.User.Email = "eve@evil.example"
			got.Membership.Roles[0] = "owner"
			got.Membership.Status = sso.MembershipDeactivated
			equal(t, "after mutating output", loadLogin(t, ctx, s, "example.com"), want)
		}},
	})
}
