package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

func runOrg(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.OrgStore { return s.Core }, []testCase[sso.OrgStore]{
		{"RoundTrip", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			o := newOrg("org_1", "acme")
			ok(t, s.CreateOrg(ctx, o))
			got, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "GetOrg", got, o)
			got, err = s.GetOrgBySlug(ctx, "acme")
			ok(t, err)
			equal(t, "GetOrgBySlug", got, o)
		}},
		{"ZeroValues", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			o := &sso.Organization{ID: "org_z", Slug: "z"}
			ok(t, s.CreateOrg(ctx, o))
			got, err := s.GetOrg(ctx, "org_z")
			ok(t, err)
			equal(t, "GetOrg", got, o)
			if !got.CreatedAt.IsZero() || !got.Settings.SSOEnforcedAt.IsZero() {
				t.Errorf("zero times came back non-zero: %v, %v", got.CreatedAt, got.Settings.SSOEnforcedAt)
			}
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			_, err := s.GetOrg(ctx, "nope")
			is(t, "GetOrg", err, sso.ErrNotFound)
			_, err = s.GetOrgBySlug(ctx, "nope")
			is(t, "GetOrgBySlug", err, sso.ErrNotFound)
			is(t, "UpdateOrg", s.UpdateOrg(ctx, newOrg("nope", "nope")), sso.ErrNotFound)
			is(t, "DeleteOrg", s.DeleteOrg(ctx, "nope"), sso.ErrNotFound)
			_, err = s.GetOrgBySlug(ctx, "nope")
			is(t, "UpdateOrg of an absent org created it", err, sso.ErrNotFound)
		}},
		{"Duplicates", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			o := newOrg("org_1", "acme")
			ok(t, s.CreateOrg(ctx, o))
			is(t, "duplicate ID", s.CreateOrg(ctx, newOrg("org_1", "other")), sso.ErrConflict)
			is(t, "duplicate slug", s.CreateOrg(ctx, newOrg("org_2", "acme")), sso.ErrConflict)
			_, err := s.GetOrgBySlug(ctx, "other")
			is(t, "slug of the refused org", err, sso.ErrNotFound)
			_, err = s.GetOrg(ctx, "org_2")
			is(t, "refused org", err, sso.ErrNotFound)
			got, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "original", got, o)
		}},
		{"Update", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			ok(t, s.CreateOrg(ctx, newOrg("org_1", "acme")))
			ok(t, s.CreateOrg(ctx, newOrg("org_2", "globex")))
			o := &sso.Organization{ID: "org_1", Slug: "acme-2", Name: "Renamed",
				Settings:  sso.OrgSettings{DefaultRole: "viewer", MFA: sso.MFAPolicy{GracePeriod: time.Hour}},
				CreatedAt: at(-time.Hour), UpdatedAt: at(24 * time.Hour)}
			ok(t, s.UpdateOrg(ctx, o))
			got, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "updated", got, o)
			_, err = s.GetOrgBySlug(ctx, "acme")
			is(t, "old slug", err, sso.ErrNotFound)
			got, err = s.GetOrgBySlug(ctx, "acme-2")
			ok(t, err)
			equal(t, "new slug", got, o)
			// Taking another organization's slug is refused and changes nothing.
			taken := newOrg("org_1", "globex")
			is(t, "slug taken", s.UpdateOrg(ctx, taken), sso.ErrConflict)
			got, err = s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "after refused update", got, o)
			got, err = s.GetOrgBySlug(ctx, "globex")
			ok(t, err)
			if got.ID != "org_2" {
				t.Errorf("slug globex now maps to %q, want org_2", got.ID)
			}
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			ok(t, s.CreateOrg(ctx, newOrg("org_1", "acme")))
			ok(t, s.DeleteOrg(ctx, "org_1"))
			_, err := s.GetOrg(ctx, "org_1")
			is(t, "GetOrg after delete", err, sso.ErrNotFound)
			_, err = s.GetOrgBySlug(ctx, "acme")
			is(t, "GetOrgBySlug after delete", err, sso.ErrNotFound)
			is(t, "second delete", s.DeleteOrg(ctx, "org_1"), sso.ErrNotFound)
			ok(t, s.CreateOrg(ctx, newOrg("org_2", "acme"))) // the slug is free again
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			ok(t, s.CreateOrg(ctx, newOrg("org_ok", "ok")))
			bad := map[string]*sso.Organization{
				"empty ID":      newOrg("", "a"),
				"overlong ID":   newOrg(long, "b"),
				"empty slug":    newOrg("org_c", ""),
				"upper slug":    newOrg("org_d", "Acme"),
				"space slug":    newOrg("org_e", "ac me"),
				"dash slug":     newOrg("org_f", "-acme"),
				"overlong slug": newOrg("org_g", strings.Repeat("a", normalize.MaxSlugLength+1)),
				"overlong name": func() *sso.Organization { o := newOrg("org_h", "h"); o.Name = long; return o }(),
				"invalid utf-8": func() *sso.Organization { o := newOrg("org_i", "i"); o.Name = "\xff\xfe"; return o }(),
			}
			for name, o := range bad {
				is(t, "CreateOrg "+name, s.CreateOrg(ctx, o), sso.ErrInvalidInput)
				if o.ID != "" && len(o.ID) <= normalize.MaxFieldLength {
					_, err := s.GetOrg(ctx, o.ID)
					is(t, "GetOrg after invalid create "+name, err, sso.ErrNotFound)
				}
				u := *o
				u.ID = "org_ok"
				if o.ID == "" || len(o.ID) > normalize.MaxFieldLength {
					u.ID = o.ID
				}
				is(t, "UpdateOrg "+name, s.UpdateOrg(ctx, &u), sso.ErrInvalidInput)
			}
			got, err := s.GetOrg(ctx, "org_ok")
			ok(t, err)
			equal(t, "org after invalid updates", got, newOrg("org_ok", "ok"))
			list, err := s.ListOrgs(ctx, "", 100)
			ok(t, err)
			sameStrings(t, "orgs", ids(list, func(o *sso.Organization) string { return o.ID }), []string{"org_ok"})
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			o := newOrg("org_1", "acme")
			ok(t, s.CreateOrg(ctx, o))
			o.Name, o.Settings.DefaultRole = "mutated input", "mutated"
			got, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "after mutating input", got, newOrg("org_1", "acme"))
			got.Name = "mutated output"
			got.Settings.Features[0] = "mutated"
			got.Settings.Network.AllowedCIDRs[0] = "0.0.0.0/0"
			got.Settings.ExchangeAudiences[0] = "https://evil.example"
			got.Settings.SignInMethods[0] = sso.AuthSocial
			again, err := s.GetOrg(ctx, "org_1")
			ok(t, err)
			equal(t, "after mutating output", again, newOrg("org_1", "acme"))
			list, err := s.ListOrgs(ctx, "", 10)
			ok(t, err)
			list[0].Slug = "mutated"
			again, err = s.GetOrgBySlug(ctx, "acme")
			ok(t, err)
			equal(t, "after mutating list", again, newOrg("org_1", "acme"))
		}},
		{"ListPagination", func(t *testing.T, ctx context.Context, s sso.OrgStore) {
			for _, id := range []string{"org_c", "org_a", "org_e", "org_b", "org_d"} {
				ok(t, s.CreateOrg(ctx, newOrg(id, id[4:])))
			}
			var seen []string
			after := ""
			for page := 0; page < 4; page++ {
				list, err := s.ListOrgs(ctx, after, 2)
				ok(t, err)
				if len(list) > 2 {
					t.Fatalf("page %d has %d orgs, limit 2", page, len(list))
				}
				if len(list) == 0 {
					break
				}
				for _, o := range list {
					equal(t, "listed org", o, newOrg(o.ID, o.ID[4:]))
					seen = append(seen, o.ID)
				}
				after = list[len(list)-1].ID
			}
			sameStrings(t, "paged orgs", seen, []string{"org_a", "org_b", "org_c", "org_d", "org_e"})
			list, err := s.ListOrgs(ctx, "org_b", 100)
			ok(t, err)
			sameStrings(t, "after org_b", ids(list, func(o *sso.Organization) string { return o.ID }), []string{"org_c", "org_d", "org_e"})
			list, err = s.ListOrgs(ctx, "org_e", 100)
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("after last: got %d orgs, want 0", len(list))
			}
		}},
	})
}

func runDomain(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.DomainStore { return s.Core }, []testCase[sso.DomainStore]{
		{"RoundTrip", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			d := newDomain("org_1", "example.com", sso.DomainVerified)
			ok(t, s.CreateDomain(ctx, d))
			got, err := s.GetDomain(ctx, "org_1", "example.com")
			ok(t, err)
			equal(t, "GetDomain", got, d)
			got, err = s.FindVerifiedDomain(ctx, "example.com")
			ok(t, err)
			equal(t, "FindVerifiedDomain", got, d)
			list, err := s.ListDomains(ctx, "org_1")
			ok(t, err)
			equal(t, "ListDomains", list, []*sso.Domain{d})
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			ok(t, s.CreateDomain(ctx, newDomain("org_1", "pending.example", sso.DomainPending)))
			_, err := s.GetDomain(ctx, "org_1", "absent.example")
			is(t, "GetDomain absent", err, sso.ErrNotFound)
			_, err = s.GetDomain(ctx, "org_2", "pending.example")
			is(t, "GetDomain of another org", err, sso.ErrNotFound)
			_, err = s.FindVerifiedDomain(ctx, "pending.example")
			is(t, "FindVerifiedDomain of a pending domain", err, sso.ErrNotFound)
			_, err = s.FindVerifiedDomain(ctx, "absent.example")
			is(t, "FindVerifiedDomain absent", err, sso.ErrNotFound)
			is(t, "UpdateDomain absent", s.UpdateDomain(ctx, newDomain("org_2", "pending.example", sso.DomainVerified)), sso.ErrNotFound)
			is(t, "DeleteDomain absent", s.DeleteDomain(ctx, "org_2", "pending.example"), sso.ErrNotFound)
			_, err = s.FindVerifiedDomain(ctx, "pending.example")
			is(t, "UpdateDomain of an absent domain created it", err, sso.ErrNotFound)
			list, err := s.ListDomains(ctx, "org_2")
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("ListDomains(org_2) = %d domains, want 0", len(list))
			}
		}},
		{"DuplicatePair", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			d := newDomain("org_1", "example.com", sso.DomainPending)
			ok(t, s.CreateDomain(ctx, d))
			dup := newDomain("org_1", "example.com", sso.DomainVerified)
			dup.Token = "other"
			is(t, "duplicate (org, name)", s.CreateDomain(ctx, dup), sso.ErrConflict)
			got, err := s.GetDomain(ctx, "org_1", "example.com")
			ok(t, err)
			equal(t, "original", got, d)
			// Pending claims by several organizations coexist.
			ok(t, s.CreateDomain(ctx, newDomain("org_2", "example.com", sso.DomainPending)))
			ok(t, s.CreateDomain(ctx, newDomain("org_3", "example.com", sso.DomainFailed)))
		}},
		{"SecondVerifiedHolderCreate", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			ok(t, s.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainVerified)))
			is(t, "second verified holder", s.CreateDomain(ctx, newDomain("org_2", "example.com", sso.DomainVerified)), sso.ErrConflict)
			_, err := s.GetDomain(ctx, "org_2", "example.com")
			is(t, "refused domain", err, sso.ErrNotFound)
			got, err := s.FindVerifiedDomain(ctx, "example.com")
			ok(t, err)
			if got.OrgID != "org_1" {
				t.Errorf("verified holder = %q, want org_1", got.OrgID)
			}
		}},
		{"SecondVerifiedHolderUpdate", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			ok(t, s.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainVerified)))
			pending := newDomain("org_2", "example.com", sso.DomainPending)
			ok(t, s.CreateDomain(ctx, pending))
			is(t, "verify second holder", s.UpdateDomain(ctx, newDomain("org_2", "example.com", sso.DomainVerified)), sso.ErrConflict)
			got, err := s.GetDomain(ctx, "org_2", "example.com")
			ok(t, err)
			equal(t, "refused update", got, pending)
			// Re-saving the holder's own verified record is fine.
			own := newDomain("org_1", "example.com", sso.DomainVerified)
			own.LastCheckedAt = at(99 * time.Hour)
			ok(t, s.UpdateDomain(ctx, own))
			// Once the holder loses verification, another org may verify.
			ok(t, s.UpdateDomain(ctx, newDomain("org_1", "example.com", sso.DomainFailed)))
			_, err = s.FindVerifiedDomain(ctx, "example.com")
			is(t, "after failure", err, sso.ErrNotFound)
			ok(t, s.UpdateDomain(ctx, newDomain("org_2", "example.com", sso.DomainVerified)))
			got, err = s.FindVerifiedDomain(ctx, "example.com")
			ok(t, err)
			if got.OrgID != "org_2" {
				t.Errorf("verified holder = %q, want org_2", got.OrgID)
			}
			is(t, "re-verify first holder", s.UpdateDomain(ctx, newDomain("org_1", "example.com", sso.DomainVerified)), sso.ErrConflict)
			// Deleting the holder frees the name too.
			ok(t, s.DeleteDomain(ctx, "org_2", "example.com"))
			ok(t, s.UpdateDomain(ctx, newDomain("org_1", "example.com", sso.DomainVerified)))
			got, err = s.FindVerifiedDomain(ctx, "example.com")
			ok(t, err)
			if got.OrgID != "org_1" {
				t.Errorf("verified holder = %q, want org_1", got.OrgID)
			}
		}},
		{"Update", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			ok(t, s.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainPending)))
			d := &sso.Domain{OrgID: "org_1", Name: "example.com", Token: "new-token", State: sso.DomainFailed,
				VerifiedAt: at(time.Hour), LastCheckedAt: at(50 * time.Hour), ConsecutiveFailures: 7,
				FailingSince: at(40 * time.Hour), CreatedAt: at(-time.Hour)}
			ok(t, s.UpdateDomain(ctx, d))
			got, err := s.GetDomain(ctx, "org_1", "example.com")
			ok(t, err)
			equal(t, "updated", got, d)
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			ok(t, s.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainVerified)))
			ok(t, s.CreateDomain(ctx, newDomain("org_1", "example.org", sso.DomainPending)))
			ok(t, s.DeleteDomain(ctx, "org_1", "example.com"))
			_, err := s.GetDomain(ctx, "org_1", "example.com")
			is(t, "after delete", err, sso.ErrNotFound)
			_, err = s.FindVerifiedDomain(ctx, "example.com")
			is(t, "verified after delete", err, sso.ErrNotFound)
			list, err := s.ListDomains(ctx, "org_1")
			ok(t, err)
			sameStrings(t, "remaining", ids(list, func(d *sso.Domain) string { return d.Name }), []string{"example.org"})
			ok(t, s.CreateDomain(ctx, newDomain("org_2", "example.com", sso.DomainVerified)))
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			ok(t, s.CreateDomain(ctx, newDomain("org_1", "example.com", sso.DomainPending)))
			bad := map[string]*sso.Domain{
				"empty org":     newDomain("", "example.net", sso.DomainPending),
				"overlong org":  newDomain(long, "example.net", sso.DomainPending),
				"upper case":    newDomain("org_1", "Example.NET", sso.DomainPending),
				"trailing dot":  newDomain("org_1", "example.net.", sso.DomainPending),
				"unicode":       newDomain("org_1", "bücher.example", sso.DomainPending),
				"empty name":    newDomain("org_1", "", sso.DomainPending),
				"space":         newDomain("org_1", "exa mple.net", sso.DomainPending),
				"single label":  newDomain("org_1", "localhost", sso.DomainPending),
				"ip address":    newDomain("org_1", "192.0.2.1", sso.DomainPending),
				"unknown state": newDomain("org_1", "example.net", sso.DomainState("owned")),
				"overlong token": func() *sso.Domain {
					d := newDomain("org_1", "example.net", sso.DomainPending)
					d.Token = long
					return d
				}(),
			}
			for name, d := range bad {
				is(t, "CreateDomain "+name, s.CreateDomain(ctx, d), sso.ErrInvalidInput)
			}
			u := newDomain("org_1", "example.com", sso.DomainVerified)
			u.State = "owned"
			is(t, "UpdateDomain unknown state", s.UpdateDomain(ctx, u), sso.ErrInvalidInput)
			u = newDomain("org_1", "EXAMPLE.com", sso.DomainVerified)
			is(t, "UpdateDomain unnormalized", s.UpdateDomain(ctx, u), sso.ErrInvalidInput)
			list, err := s.ListDomains(ctx, "org_1")
			ok(t, err)
			equal(t, "domains after invalid writes", list, []*sso.Domain{newDomain("org_1", "example.com", sso.DomainPending)})
			_, err = s.FindVerifiedDomain(ctx, "example.com")
			is(t, "verified after invalid update", err, sso.ErrNotFound)
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			d := newDomain("org_1", "example.com", sso.DomainVerified)
			ok(t, s.CreateDomain(ctx, d))
			d.State, d.Token = sso.DomainFailed, "mutated"
			got, err := s.GetDomain(ctx, "org_1", "example.com")
			ok(t, err)
			want := newDomain("org_1", "example.com", sso.DomainVerified)
			equal(t, "after mutating input", got, want)
			got.State = sso.DomainPending
			got2, err := s.FindVerifiedDomain(ctx, "example.com")
			ok(t, err)
			equal(t, "after mutating output", got2, want)
			got2.OrgID = "org_evil"
			list, err := s.ListDomains(ctx, "org_1")
			ok(t, err)
			equal(t, "list after mutating output", list, []*sso.Domain{want})
		}},
		{"ListOrder", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			for _, n := range []string{"zeta.example", "alpha.example", "mid.example", "Alpha-2.example"} {
				name, err := normalize.Domain(n)
				ok(t, err)
				ok(t, s.CreateDomain(ctx, newDomain("org_1", name, sso.DomainPending)))
			}
			ok(t, s.CreateDomain(ctx, newDomain("org_2", "beta.example", sso.DomainPending)))
			list, err := s.ListDomains(ctx, "org_1")
			ok(t, err)
			sameStrings(t, "ListDomains", ids(list, func(d *sso.Domain) string { return d.Name }),
				[]string{"alpha-2.example", "alpha.example", "mid.example", "zeta.example"})
			for _, d := range list {
				if d.OrgID != "org_1" {
					t.Errorf("ListDomains(org_1) returned a domain of %q", d.OrgID)
				}
			}
		}},
		{"ListDomainsToCheck", func(t *testing.T, ctx context.Context, s sso.DomainStore) {
			mk := func(org, name string, st sso.DomainState, checked time.Time) {
				d := newDomain(org, name, st)
				d.LastCheckedAt = checked
				ok(t, s.CreateDomain(ctx, d))
			}
			mk("org_1", "old-verified.example", sso.DomainVerified, at(1*time.Hour))
			mk("org_2", "old-failed.example", sso.DomainFailed, at(2*time.Hour))
			mk("org_1", "old-pending.example", sso.DomainPending, at(0))
			mk("org_3", "never.example", sso.DomainFailed, time.Time{})
			mk("org_1", "fresh.example", sso.DomainVerified, at(10*time.Hour))
			mk("org_2", "edge.example", sso.DomainVerified, at(5*time.Hour))
			list, err := s.ListDomainsToCheck(ctx, at(5*time.Hour), 100)
			ok(t, err)
			sameStrings(t, "to check", ids(list, func(d *sso.Domain) string { return d.Name }),
				[]string{"never.example", "old-verified.example", "old-failed.example"})
			if len(list) == 3 {
				want := newDomain("org_2", "old-failed.example", sso.DomainFailed)
				want.LastCheckedAt = at(2 * time.Hour)
				equal(t, "listed domain", list[2], want)
			}
			list, err = s.ListDomainsToCheck(ctx, at(5*time.Hour), 2)
			ok(t, err)
			sameStrings(t, "to check, limit 2", ids(list, func(d *sso.Domain) string { return d.Name }),
				[]string{"never.example", "old-verified.example"})
			list, err = s.ListDomainsToCheck(ctx, at(20*time.Hour), 100)
			ok(t, err)
			sameStrings(t, "to check, later", ids(list, func(d *sso.Domain) string { return d.Name }),
				[]string{"never.example", "old-verified.example", "old-failed.example", "edge.example", "fresh.example"})
		}},
	})
}

func runConnection(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.ConnectionStore { return s.Core }, []testCase[sso.ConnectionStore]{
		{"RoundTripSAML", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			c := newConn("conn_1", "org_1", saml.Protocol)
			ok(t, s.CreateConnection(ctx, c))
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "GetConnection", got, c)
			if oidc.ConfigOf(got) != nil {
				t.Errorf("OIDC config of a SAML connection = %+v, want nil", oidc.ConfigOf(got))
			}
		}},
		{"RoundTripOIDC", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			c := newConn("conn_1", "org_1", oidc.Protocol)
			c.LastTest = nil
			c.Status = sso.ConnectionDraft
			ok(t, s.CreateConnection(ctx, c))
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "GetConnection", got, c)
			if saml.ConfigOf(got) != nil || got.LastTest != nil {
				t.Errorf("nil configs came back non-nil: SAML %+v, LastTest %+v", saml.ConfigOf(got), got.LastTest)
			}
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			_, err := s.GetConnection(ctx, "nope")
			is(t, "GetConnection", err, sso.ErrNotFound)
			is(t, "UpdateConnection", s.UpdateConnection(ctx, newConn("nope", "org_1", saml.Protocol)), sso.ErrNotFound)
			is(t, "DeleteConnection", s.DeleteConnection(ctx, "nope"), sso.ErrNotFound)
			_, err = s.GetConnection(ctx, "nope")
			is(t, "GetConnection after update of absent", err, sso.ErrNotFound)
		}},
		{"Duplicate", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			c := newConn("conn_1", "org_1", saml.Protocol)
			ok(t, s.CreateConnection(ctx, c))
			is(t, "duplicate ID", s.CreateConnection(ctx, newConn("conn_1", "org_2", oidc.Protocol)), sso.ErrConflict)
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "original", got, c)
		}},
		{"Update", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			ok(t, s.CreateConnection(ctx, newConn("conn_1", "org_1", saml.Protocol)))
			c := newConn("conn_1", "org_1", oidc.Protocol)
			c.Status, c.DisplayName = sso.ConnectionDisabled, "Renamed"
			c.LastTest, c.GroupRoles, c.Mapping = nil, nil, sso.AttributeMapping{Email: "email"}
			c.LastTestOK, c.UpdatedAt = time.Time{}, at(48*time.Hour)
			ok(t, s.UpdateConnection(ctx, c))
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "updated", got, c)
			if saml.ConfigOf(got) != nil || got.LastTest != nil {
				t.Errorf("cleared fields came back: SAML %+v, LastTest %+v", saml.ConfigOf(got), got.LastTest)
			}
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			ok(t, s.CreateConnection(ctx, newConn("conn_1", "org_1", saml.Protocol)))
			ok(t, s.DeleteConnection(ctx, "conn_1"))
			_, err := s.GetConnection(ctx, "conn_1")
			is(t, "after delete", err, sso.ErrNotFound)
			list, err := s.ListConnections(ctx, "org_1")
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("ListConnections after delete = %d, want 0", len(list))
			}
			is(t, "second delete", s.DeleteConnection(ctx, "conn_1"), sso.ErrNotFound)
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			ok(t, s.CreateConnection(ctx, newConn("conn_ok", "org_1", saml.Protocol)))
			mod := func(f func(c *sso.Connection)) *sso.Connection {
				c := newConn("conn_ok", "org_1", saml.Protocol)
				f(c)
				return c
			}
			bad := map[string]*sso.Connection{
				"empty ID":       mod(func(c *sso.Connection) { c.ID = "" }),
				"overlong ID":    mod(func(c *sso.Connection) { c.ID = long }),
				"empty org":      mod(func(c *sso.Connection) { c.OrgID = "" }),
				"protocol":       mod(func(c *sso.Connection) { c.Protocol = "not a protocol" }),
				"status":         mod(func(c *sso.Connection) { c.Status = "on" }),
				"display name":   mod(func(c *sso.Connection) { c.DisplayName = long }),
				"invalid utf-8":  mod(func(c *sso.Connection) { c.DisplayName = "\xc3\x28" }),
				"empty protocol": mod(func(c *sso.Connection) { c.Protocol = "" }),
			}
			for name, c := range bad {
				is(t, "UpdateConnection "+name, s.UpdateConnection(ctx, c), sso.ErrInvalidInput)
				if c.ID == "conn_ok" {
					c.ID = "conn_new"
				}
				is(t, "CreateConnection "+name, s.CreateConnection(ctx, c), sso.ErrInvalidInput)
			}
			got, err := s.GetConnection(ctx, "conn_ok")
			ok(t, err)
			equal(t, "after invalid writes", got, newConn("conn_ok", "org_1", saml.Protocol))
			_, err = s.GetConnection(ctx, "conn_new")
			is(t, "invalid connection created", err, sso.ErrNotFound)
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			c := newConn("conn_1", "org_1", saml.Protocol)
			ok(t, s.CreateConnection(ctx, c))
			saml.ConfigOf(c).Certificates[0], c.GroupRoles[0].Role, c.LastTest.Profile.Groups[0] = "evil", "owner", "evil"
			want := newConn("conn_1", "org_1", saml.Protocol)
			got, err := s.GetConnection(ctx, "conn_1")
			ok(t, err)
			equal(t, "after mutating input", got, want)
			saml.ConfigOf(got).Certificates[1], saml.ConfigOf(got).AllowSHA1 = "evil", false
			got.GroupRoles[1].Role = "owner"
			got.LastTest.Profile.Raw["department"][0] = "evil"
			list, err := s.ListConnections(ctx, "org_1")
			ok(t, err)
			equal(t, "after mutating output", list, []*sso.Connection{want})
			o := newConn("conn_2", "org_1", oidc.Protocol)
			ok(t, s.CreateConnection(ctx, o))
			oidc.ConfigOf(o).Scopes[0], oidc.ConfigOf(o).SigningAlgs[0] = "evil", "none"
			got, err = s.GetConnection(ctx, "conn_2")
			ok(t, err)
			equal(t, "OIDC after mutating input", got, newConn("conn_2", "org_1", oidc.Protocol))
		}},
		{"ListConnections", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			mk := func(id, org string, created time.Time) {
				c := newConn(id, org, saml.Protocol)
				c.CreatedAt = created
				ok(t, s.CreateConnection(ctx, c))
			}
			mk("conn_c", "org_1", at(time.Hour))
			mk("conn_b", "org_1", at(2*time.Hour))
			mk("conn_a", "org_1", at(2*time.Hour))
			mk("conn_d", "org_1", at(0))
			mk("conn_x", "org_2", at(0))
			list, err := s.ListConnections(ctx, "org_1")
			ok(t, err)
			sameStrings(t, "ListConnections", ids(list, func(c *sso.Connection) string { return c.ID }),
				[]string{"conn_d", "conn_c", "conn_a", "conn_b"})
			list, err = s.ListConnections(ctx, "org_3")
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("ListConnections(org_3) = %d, want 0", len(list))
			}
		}},
		{"ListActiveConnections", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			mk := func(id, org string, p sso.Protocol, st sso.ConnectionStatus) {
				c := newConn(id, org, p)
				c.Status = st
				ok(t, s.CreateConnection(ctx, c))
			}
			mk("c5", "org_1", saml.Protocol, sso.ConnectionActive)
			mk("c1", "org_2", oidc.Protocol, sso.ConnectionActive)
			mk("c3", "org_3", saml.Protocol, sso.ConnectionActive)
			mk("c2", "org_1", saml.Protocol, sso.ConnectionDraft)
			mk("c4", "org_1", oidc.Protocol, sso.ConnectionDisabled)
			mk("c6", "org_2", oidc.Protocol, sso.ConnectionActive)
			key := func(c *sso.Connection) string { return c.ID }
			list, err := s.ListActiveConnections(ctx, "", "", 100)
			ok(t, err)
			sameStrings(t, "all active", ids(list, key), []string{"c1", "c3", "c5", "c6"})
			list, err = s.ListActiveConnections(ctx, saml.Protocol, "", 100)
			ok(t, err)
			sameStrings(t, "active SAML", ids(list, key), []string{"c3", "c5"})
			if len(list) == 2 {
				equal(t, "listed connection", list[0], newConn("c3", "org_3", saml.Protocol))
			}
			list, err = s.ListActiveConnections(ctx, oidc.Protocol, "c1", 100)
			ok(t, err)
			sameStrings(t, "active OIDC after c1", ids(list, key), []string{"c6"})
			list, err = s.ListActiveConnections(ctx, "", "", 2)
			ok(t, err)
			sameStrings(t, "page 1", ids(list, key), []string{"c1", "c3"})
			list, err = s.ListActiveConnections(ctx, "", "c3", 2)
			ok(t, err)
			sameStrings(t, "page 2", ids(list, key), []string{"c5", "c6"})
			list, err = s.ListActiveConnections(ctx, "", "c6", 2)
			ok(t, err)
			sameStrings(t, "page 3", ids(list, key), nil)
		}},
		{"ListProtocolConnections", func(t *testing.T, ctx context.Context, s sso.ConnectionStore) {
			l, has := s.(saml.ConnectionLister)
			if !has {
				t.Log("the store does not implement saml.ConnectionLister (optional): nothing to check")
				return
			}
			for _, c := range []struct {
				id, org string
				p       sso.Protocol
				st      sso.ConnectionStatus
			}{{"c3", "org_1", saml.Protocol, sso.ConnectionDraft}, {"c1", "org_2", saml.Protocol, sso.ConnectionActive},
				{"c2", "org_1", oidc.Protocol, sso.ConnectionActive}, {"c4", "org_3", saml.Protocol, sso.ConnectionDisabled}} {
				conn := newConn(c.id, c.org, c.p)
				conn.Status = c.st
				ok(t, s.CreateConnection(ctx, conn))
			}
			key := func(c *sso.Connection) string { return c.ID }
			list, err := l.ListProtocolConnections(ctx, saml.Protocol, "", 100)
			ok(t, err)
			sameStrings(t, "SAML, any status", ids(list, key), []string{"c1", "c3", "c4"})
			list, err = l.ListProtocolConnections(ctx, saml.Protocol, "c1", 1)
			ok(t, err)
			sameStrings(t, "page after c1", ids(list, key), []string{"c3"})
			list, err = l.ListProtocolConnections(ctx, oidc.Protocol, "", 100)
			ok(t, err)
			sameStrings(t, "OIDC", ids(list, key), []string{"c2"})
		}},
	})
}
