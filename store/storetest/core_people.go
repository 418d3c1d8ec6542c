package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

func runUser(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.UserStore { return s.Core }, []testCase[sso.UserStore]{
		{"RoundTrip", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			u := newUser("user_1", "ada@example.com")
			ok(t, s.CreateUser(ctx, u))
			got, err := s.GetUser(ctx, "user_1")
			ok(t, err)
			equal(t, "GetUser", got, u)
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			_, err := s.GetUser(ctx, "nope")
			is(t, "GetUser", err, sso.ErrNotFound)
			is(t, "UpdateUser", s.UpdateUser(ctx, newUser("nope", "x@example.com")), sso.ErrNotFound)
			is(t, "DeleteUser", s.DeleteUser(ctx, "nope"), sso.ErrNotFound)
			_, err = s.GetUser(ctx, "nope")
			is(t, "GetUser after update of absent", err, sso.ErrNotFound)
		}},
		{"Duplicate", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			u := newUser("user_1", "ada@example.com")
			ok(t, s.CreateUser(ctx, u))
			is(t, "duplicate ID", s.CreateUser(ctx, newUser("user_1", "eve@example.com")), sso.ErrConflict)
			// Emails are not unique.
			ok(t, s.CreateUser(ctx, newUser("user_2", "ada@example.com")))
			got, err := s.GetUser(ctx, "user_1")
			ok(t, err)
			equal(t, "original", got, u)
		}},
		{"Update", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			ok(t, s.CreateUser(ctx, newUser("user_1", "ada@example.com")))
			u := &sso.User{ID: "user_1", Email: "ada.l@example.com", GivenName: "A", UpdatedAt: at(9 * time.Hour)}
			ok(t, s.UpdateUser(ctx, u))
			got, err := s.GetUser(ctx, "user_1")
			ok(t, err)
			equal(t, "updated", got, u)
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			ok(t, s.CreateUser(ctx, newUser("user_1", "ada@example.com")))
			ok(t, s.DeleteUser(ctx, "user_1"))
			_, err := s.GetUser(ctx, "user_1")
			is(t, "after delete", err, sso.ErrNotFound)
			is(t, "second delete", s.DeleteUser(ctx, "user_1"), sso.ErrNotFound)
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			ok(t, s.CreateUser(ctx, newUser("user_ok", "ok@example.com")))
			mod := func(f func(u *sso.User)) *sso.User {
				u := newUser("user_ok", "ok@example.com")
				f(u)
				return u
			}
			bad := map[string]*sso.User{
				"empty ID":      mod(func(u *sso.User) { u.ID = "" }),
				"overlong ID":   mod(func(u *sso.User) { u.ID = long }),
				"email":         mod(func(u *sso.User) { u.Email = long }),
				"given name":    mod(func(u *sso.User) { u.GivenName = long }),
				"family name":   mod(func(u *sso.User) { u.FamilyName = long }),
				"display name":  mod(func(u *sso.User) { u.DisplayName = long }),
				"invalid utf-8": mod(func(u *sso.User) { u.GivenName = "\xff" }),
			}
			for name, u := range bad {
				is(t, "UpdateUser "+name, s.UpdateUser(ctx, u), sso.ErrInvalidInput)
				if u.ID == "user_ok" {
					u.ID = "user_new"
				}
				is(t, "CreateUser "+name, s.CreateUser(ctx, u), sso.ErrInvalidInput)
			}
			got, err := s.GetUser(ctx, "user_ok")
			ok(t, err)
			equal(t, "after invalid writes", got, newUser("user_ok", "ok@example.com"))
			_, err = s.GetUser(ctx, "user_new")
			is(t, "invalid user created", err, sso.ErrNotFound)
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			u := newUser("user_1", "ada@example.com")
			ok(t, s.CreateUser(ctx, u))
			u.Email = "eve@evil.example"
			got, err := s.GetUser(ctx, "user_1")
			ok(t, err)
			equal(t, "after mutating input", got, newUser("user_1", "ada@example.com"))
			got.Email = "eve@evil.example"
			got, err = s.GetUser(ctx, "user_1")
			ok(t, err)
			equal(t, "after mutating output", got, newUser("user_1", "ada@example.com"))
		}},
	})
}

// memberStore is what the membership cases need: FindMemberByEmail joins
// users.
type memberStore interface {
	sso.UserStore
	sso.MembershipStore
}

func runMembership(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) memberStore { return s.Core }, []testCase[memberStore]{
		{"RoundTrip", func(t *testing.T, ctx context.Context, s memberStore) {
			m := newMember("org_1", "user_1")
			ok(t, s.CreateMembership(ctx, m))
			got, err := s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			equal(t, "GetMembership", got, m)
			list, err := s.ListUserMemberships(ctx, "user_1")
			ok(t, err)
			equal(t, "ListUserMemberships", list, []*sso.Membership{m})
			list, err = s.ListMembers(ctx, "org_1", "", 10)
			ok(t, err)
			equal(t, "ListMembers", list, []*sso.Membership{m})
		}},
		{"NoRoles", func(t *testing.T, ctx context.Context, s memberStore) {
			m := newMember("org_1", "user_1")
			m.Roles, m.BreakGlass, m.Source = nil, false, sso.SourceJIT
			ok(t, s.CreateMembership(ctx, m))
			got, err := s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			equal(t, "GetMembership", got, m)
			if len(got.Roles) != 0 || got.BreakGlass {
				t.Errorf("got roles %q, break-glass %v; want none, false", got.Roles, got.BreakGlass)
			}
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s memberStore) {
			ok(t, s.CreateMembership(ctx, newMember("org_1", "user_1")))
			_, err := s.GetMembership(ctx, "org_2", "user_1")
			is(t, "GetMembership other org", err, sso.ErrNotFound)
			_, err = s.GetMembership(ctx, "org_1", "user_2")
			is(t, "GetMembership other user", err, sso.ErrNotFound)
			is(t, "UpdateMembership", s.UpdateMembership(ctx, newMember("org_2", "user_1")), sso.ErrNotFound)
			is(t, "DeleteMembership", s.DeleteMembership(ctx, "org_2", "user_1"), sso.ErrNotFound)
			_, err = s.GetMembership(ctx, "org_2", "user_1")
			is(t, "GetMembership after update of absent", err, sso.ErrNotFound)
		}},
		{"Duplicate", func(t *testing.T, ctx context.Context, s memberStore) {
			m := newMember("org_1", "user_1")
			ok(t, s.CreateMembership(ctx, m))
			dup := newMember("org_1", "user_1")
			dup.Roles = []string{"owner"}
			is(t, "duplicate", s.CreateMembership(ctx, dup), sso.ErrConflict)
			got, err := s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			equal(t, "original", got, m)
			ok(t, s.CreateMembership(ctx, newMember("org_2", "user_1")))
		}},
		{"Update", func(t *testing.T, ctx context.Context, s memberStore) {
			ok(t, s.CreateMembership(ctx, newMember("org_1", "user_1")))
			m := &sso.Membership{OrgID: "org_1", UserID: "user_1", Roles: []string{"admin"}, Status: sso.MembershipSuspended,
				Source: sso.SourceAdmin, ExternalID: "", BreakGlass: false, JoinedAt: at(-time.Hour), UpdatedAt: at(30 * time.Hour)}
			ok(t, s.UpdateMembership(ctx, m))
			got, err := s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			equal(t, "updated", got, m)
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s memberStore) {
			ok(t, s.CreateMembership(ctx, newMember("org_1", "user_1")))
			ok(t, s.CreateMembership(ctx, newMember("org_2", "user_1")))
			ok(t, s.DeleteMembership(ctx, "org_1", "user_1"))
			_, err := s.GetMembership(ctx, "org_1", "user_1")
			is(t, "after delete", err, sso.ErrNotFound)
			list, err := s.ListUserMemberships(ctx, "user_1")
			ok(t, err)
			sameStrings(t, "remaining", ids(list, func(m *sso.Membership) string { return m.OrgID }), []string{"org_2"})
			is(t, "second delete", s.DeleteMembership(ctx, "org_1", "user_1"), sso.ErrNotFound)
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s memberStore) {
			ok(t, s.CreateMembership(ctx, newMember("org_1", "user_ok")))
			mod := func(f func(m *sso.Membership)) *sso.Membership {
				m := newMember("org_1", "user_ok")
				f(m)
				return m
			}
			bad := map[string]*sso.Membership{
				"empty org":    mod(func(m *sso.Membership) { m.OrgID = "" }),
				"empty user":   mod(func(m *sso.Membership) { m.UserID = "" }),
				"overlong org": mod(func(m *sso.Membership) { m.OrgID = long }),
				"status":       mod(func(m *sso.Membership) { m.Status = "banned" }),
				"empty status": mod(func(m *sso.Membership) { m.Status = "" }),
				"empty role":   mod(func(m *sso.Membership) { m.Roles = []string{"member", ""} }),
				"long role":    mod(func(m *sso.Membership) { m.Roles = []string{long} }),
				"external ID":  mod(func(m *sso.Membership) { m.ExternalID = long }),
			}
			for name, m := range bad {
				is(t, "UpdateMembership "+name, s.UpdateMembership(ctx, m), sso.ErrInvalidInput)
				if m.UserID == "user_ok" {
					m.UserID = "user_new"
				}
				is(t, "CreateMembership "+name, s.CreateMembership(ctx, m), sso.ErrInvalidInput)
			}
			list, err := s.ListMembers(ctx, "org_1", "", 100)
			ok(t, err)
			equal(t, "after invalid writes", list, []*sso.Membership{newMember("org_1", "user_ok")})
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s memberStore) {
			m := newMember("org_1", "user_1")
			ok(t, s.CreateMembership(ctx, m))
			m.Roles[0] = "owner"
			got, err := s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			equal(t, "after mutating input", got, newMember("org_1", "user_1"))
			got.Roles[0], got.Status = "owner", sso.MembershipSuspended
			list, err := s.ListMembers(ctx, "org_1", "", 10)
			ok(t, err)
			equal(t, "after mutating output", list, []*sso.Membership{newMember("org_1", "user_1")})
			list[0].Roles[1] = "owner"
			got, err = s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			equal(t, "after mutating list", got, newMember("org_1", "user_1"))
		}},
		{"ListMembers", func(t *testing.T, ctx context.Context, s memberStore) {
			for _, u := range []string{"u3", "u1", "u5", "u2", "u4"} {
				ok(t, s.CreateMembership(ctx, newMember("org_1", u)))
			}
			ok(t, s.CreateMembership(ctx, newMember("org_2", "u0")))
			key := func(m *sso.Membership) string { return m.UserID }
			var seen []string
			after := ""
			for range 4 {
				list, err := s.ListMembers(ctx, "org_1", after, 2)
				ok(t, err)
				if len(list) > 2 {
					t.Fatalf("got %d members, limit 2", len(list))
				}
				if len(list) == 0 {
					break
				}
				for _, m := range list {
					if m.OrgID != "org_1" {
						t.Errorf("ListMembers(org_1) returned a member of %q", m.OrgID)
					}
				}
				seen = append(seen, ids(list, key)...)
				after = list[len(list)-1].UserID
			}
			sameStrings(t, "paged members", seen, []string{"u1", "u2", "u3", "u4", "u5"})
		}},
		{"ListUserMemberships", func(t *testing.T, ctx context.Context, s memberStore) {
			for _, o := range []string{"org_c", "org_a", "org_b"} {
				ok(t, s.CreateMembership(ctx, newMember(o, "user_1")))
			}
			ok(t, s.CreateMembership(ctx, newMember("org_a", "user_2")))
			list, err := s.ListUserMemberships(ctx, "user_1")
			ok(t, err)
			sameStrings(t, "orgs", ids(list, func(m *sso.Membership) string { return m.OrgID }), []string{"org_a", "org_b", "org_c"})
			for _, m := range list {
				if m.UserID != "user_1" {
					t.Errorf("ListUserMemberships(user_1) returned a membership of %q", m.UserID)
				}
			}
			list, err = s.ListUserMemberships(ctx, "user_9")
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("ListUserMemberships(user_9) = %d, want 0", len(list))
			}
		}},
		{"FindMemberByEmail", func(t *testing.T, ctx context.Context, s memberStore) {
			ok(t, s.CreateUser(ctx, newUser("user_late", "ada@example.com")))
			ok(t, s.CreateUser(ctx, newUser("user_early", "ada@example.com")))
			ok(t, s.CreateUser(ctx, newUser("user_other", "bob@example.com")))
			ok(t, s.CreateUser(ctx, newUser("user_elsewhere", "eve@example.com")))
			late, early := newMember("org_1", "user_late"), newMember("org_1", "user_early")
			late.JoinedAt, early.JoinedAt = at(5*time.Hour), at(time.Hour)
			ok(t, s.CreateMembership(ctx, late))
			ok(t, s.CreateMembership(ctx, early))
			ok(t, s.CreateMembership(ctx, newMember("org_1", "user_other")))
			ok(t, s.CreateMembership(ctx, newMember("org_2", "user_elsewhere")))
			got, err := s.FindMemberByEmail(ctx, "org_1", "ada@example.com")
			ok(t, err)
			equal(t, "earliest joined", got, early)
			got, err = s.FindMemberByEmail(ctx, "org_1", "bob@example.com")
			ok(t, err)
			equal(t, "bob", got, newMember("org_1", "user_other"))
			_, err = s.FindMemberByEmail(ctx, "org_1", "eve@example.com")
			is(t, "member of another org", err, sso.ErrNotFound)
			_, err = s.FindMemberByEmail(ctx, "org_2", "ada@example.com")
			is(t, "user without membership in org", err, sso.ErrNotFound)
			_, err = s.FindMemberByEmail(ctx, "org_1", "nobody@example.com")
			is(t, "unknown email", err, sso.ErrNotFound)
			ok(t, s.DeleteMembership(ctx, "org_1", "user_early"))
			got, err = s.FindMemberByEmail(ctx, "org_1", "ada@example.com")
			ok(t, err)
			equal(t, "after delete", got, late)
		}},
		{"FindMemberByEmailPrefersVerified", func(t *testing.T, ctx context.Context, s memberStore) {
			// An unverified account that joined first (a pre-account
			// hijack attempt) must not shadow the verified one.
			squatter := newUser("user_squatter", "new@example.com")
			squatter.EmailVerified = false
			ok(t, s.CreateUser(ctx, squatter))
			ok(t, s.CreateUser(ctx, newUser("user_real", "new@example.com")))
			first, real := newMember("org_1", "user_squatter"), newMember("org_1", "user_real")
			first.JoinedAt, real.JoinedAt = at(time.Hour), at(5*time.Hour)
			ok(t, s.CreateMembership(ctx, first))
			ok(t, s.CreateMembership(ctx, real))
			got, err := s.FindMemberByEmail(ctx, "org_1", "new@example.com")
			ok(t, err)
			equal(t, "verified over earlier unverified", got, real)
		}},
	})
}

func runIdentity(t *testing.T, newStores newStoresFunc) {
	const iss = "https://idp.example.com"
	runCases(t, newStores, func(s Stores) sso.IdentityStore { return s.Core }, []testCase[sso.IdentityStore]{
		{"RoundTrip", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			id := newIdentity("id_1", "org_1", iss, "sub-1", "user_1")
			ok(t, s.CreateIdentity(ctx, id))
			got, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			equal(t, "GetIdentity", got, id)
			list, err := s.ListUserIdentities(ctx, "user_1")
			ok(t, err)
			equal(t, "ListUserIdentities", list, []*sso.Identity{id})
		}},
		{"NotFound", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			ok(t, s.CreateIdentity(ctx, newIdentity("id_1", "org_1", iss, "sub-1", "user_1")))
			for name, k := range map[string][3]string{
				"other org":     {"org_2", iss, "sub-1"},
				"other issuer":  {"org_1", iss + "/", "sub-1"},
				"other subject": {"org_1", iss, "SUB-1"},
			} {
				_, err := s.GetIdentity(ctx, k[0], k[1], k[2])
				is(t, "GetIdentity "+name, err, sso.ErrNotFound)
			}
			is(t, "UpdateIdentity", s.UpdateIdentity(ctx, newIdentity("id_2", "org_1", iss, "sub-2", "user_1")), sso.ErrNotFound)
			is(t, "DeleteIdentity", s.DeleteIdentity(ctx, "id_2"), sso.ErrNotFound)
			_, err := s.GetIdentity(ctx, "org_1", iss, "sub-2")
			is(t, "GetIdentity after update of absent", err, sso.ErrNotFound)
		}},
		{"Duplicates", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			id := newIdentity("id_1", "org_1", iss, "sub-1", "user_1")
			ok(t, s.CreateIdentity(ctx, id))
			is(t, "same (org, issuer, subject)", s.CreateIdentity(ctx, newIdentity("id_2", "org_1", iss, "sub-1", "user_2")), sso.ErrConflict)
			is(t, "same ID", s.CreateIdentity(ctx, newIdentity("id_1", "org_1", iss, "sub-2", "user_2")), sso.ErrConflict)
			got, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			equal(t, "original", got, id)
			_, err = s.GetIdentity(ctx, "org_1", iss, "sub-2")
			is(t, "refused identity", err, sso.ErrNotFound)
			list, err := s.ListUserIdentities(ctx, "user_2")
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("user_2 has %d identities, want 0", len(list))
			}
			// The same issuer and subject in another organization is another identity.
			ok(t, s.CreateIdentity(ctx, newIdentity("id_3", "org_2", iss, "sub-1", "user_3")))
		}},
		{"Update", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			ok(t, s.CreateIdentity(ctx, newIdentity("id_1", "org_1", iss, "sub-1", "user_1")))
			ok(t, s.CreateIdentity(ctx, newIdentity("id_2", "org_1", iss, "sub-2", "user_2")))
			id := newIdentity("id_1", "org_1", iss, "sub-1", "user_1")
			id.LastLoginAt, id.ConnectionID = at(99*time.Hour), "conn_new"
			ok(t, s.UpdateIdentity(ctx, id))
			got, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			equal(t, "updated", got, id)
			// Moving it onto another identity's key is refused.
			clash := newIdentity("id_1", "org_1", iss, "sub-2", "user_1")
			is(t, "update onto existing key", s.UpdateIdentity(ctx, clash), sso.ErrConflict)
			got, err = s.GetIdentity(ctx, "org_1", iss, "sub-2")
			ok(t, err)
			equal(t, "other identity", got, newIdentity("id_2", "org_1", iss, "sub-2", "user_2"))
			got, err = s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			equal(t, "after refused update", got, id)
			// Moving it to a free key works and frees the old one.
			moved := newIdentity("id_1", "org_1", iss, "sub-9", "user_1")
			ok(t, s.UpdateIdentity(ctx, moved))
			_, err = s.GetIdentity(ctx, "org_1", iss, "sub-1")
			is(t, "old key", err, sso.ErrNotFound)
			ok(t, s.CreateIdentity(ctx, newIdentity("id_4", "org_1", iss, "sub-1", "user_4")))
		}},
		{"Delete", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			ok(t, s.CreateIdentity(ctx, newIdentity("id_1", "org_1", iss, "sub-1", "user_1")))
			ok(t, s.DeleteIdentity(ctx, "id_1"))
			_, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			is(t, "after delete", err, sso.ErrNotFound)
			is(t, "second delete", s.DeleteIdentity(ctx, "id_1"), sso.ErrNotFound)
			ok(t, s.CreateIdentity(ctx, newIdentity("id_2", "org_1", iss, "sub-1", "user_2")))
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			ok(t, s.CreateIdentity(ctx, newIdentity("id_ok", "org_1", iss, "sub-ok", "user_1")))
			mod := func(f func(i *sso.Identity)) *sso.Identity {
				i := newIdentity("id_ok", "org_1", iss, "sub-ok", "user_1")
				f(i)
				return i
			}
			bad := map[string]*sso.Identity{
				"empty ID":         mod(func(i *sso.Identity) { i.ID = "" }),
				"empty org":        mod(func(i *sso.Identity) { i.OrgID = "" }),
				"empty issuer":     mod(func(i *sso.Identity) { i.Issuer = "" }),
				"empty subject":    mod(func(i *sso.Identity) { i.Subject = "" }),
				"empty user":       mod(func(i *sso.Identity) { i.UserID = "" }),
				"overlong subject": mod(func(i *sso.Identity) { i.Subject = long }),
				"overlong issuer":  mod(func(i *sso.Identity) { i.Issuer = long }),
				"connection ID":    mod(func(i *sso.Identity) { i.ConnectionID = long }),
			}
			for name, i := range bad {
				is(t, "UpdateIdentity "+name, s.UpdateIdentity(ctx, i), sso.ErrInvalidInput)
				if i.ID == "id_ok" {
					i.ID = "id_new"
				}
				is(t, "CreateIdentity "+name, s.CreateIdentity(ctx, i), sso.ErrInvalidInput)
			}
			list, err := s.ListUserIdentities(ctx, "user_1")
			ok(t, err)
			equal(t, "after invalid writes", list, []*sso.Identity{newIdentity("id_ok", "org_1", iss, "sub-ok", "user_1")})
		}},
		{"Copies", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			id := newIdentity("id_1", "org_1", iss, "sub-1", "user_1")
			ok(t, s.CreateIdentity(ctx, id))
			id.UserID = "user_evil"
			got, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			want := newIdentity("id_1", "org_1", iss, "sub-1", "user_1")
			equal(t, "after mutating input", got, want)
			got.UserID = "user_evil"
			list, err := s.ListUserIdentities(ctx, "user_1")
			ok(t, err)
			equal(t, "after mutating output", list, []*sso.Identity{want})
		}},
		{"ListUserIdentities", func(t *testing.T, ctx context.Context, s sso.IdentityStore) {
			mk := func(id, sub string, created time.Time) {
				i := newIdentity(id, "org_1", iss, sub, "user_1")
				i.CreatedAt = created
				ok(t, s.CreateIdentity(ctx, i))
			}
			mk("id_c", "s1", at(2*time.Hour))
			mk("id_a", "s2", at(3*time.Hour))
			mk("id_b", "s3", at(2*time.Hour))
			mk("id_d", "s4", at(0))
			ok(t, s.CreateIdentity(ctx, newIdentity("id_x", "org_1", iss, "s5", "user_2")))
			list, err := s.ListUserIdentities(ctx, "user_1")
			ok(t, err)
			sameStrings(t, "order", ids(list, func(i *sso.Identity) string { return i.ID }), []string{"id_d", "id_b", "id_c", "id_a"})
		}},
	})
}

// provisionStore is what the Provision cases read back through.
type provisionStore interface {
	sso.Provisioner
	sso.UserStore
	sso.MembershipStore
	sso.IdentityStore
}

func runProvision(t *testing.T, newStores newStoresFunc) {
	const iss = "https://idp.example.com"
	// absent checks that nothing of a refused Provision was written.
	absent := func(t *testing.T, ctx context.Context, s provisionStore, userID, orgID string) {
		t.Helper()
		_, err := s.GetUser(ctx, userID)
		is(t, "user of refused Provision", err, sso.ErrNotFound)
		_, err = s.GetMembership(ctx, orgID, userID)
		is(t, "membership of refused Provision", err, sso.ErrNotFound)
		list, err := s.ListUserIdentities(ctx, userID)
		ok(t, err)
		if len(list) != 0 {
			t.Errorf("refused Provision left %d identities", len(list))
		}
	}
	runCases(t, newStores, func(s Stores) provisionStore { return s.Core }, []testCase[provisionStore]{
		{"Creates", func(t *testing.T, ctx context.Context, s provisionStore) {
			u, m, id := newUser("user_1", "ada@example.com"), newMember("org_1", "user_1"), newIdentity("id_1", "org_1", iss, "sub-1", "user_1")
			ok(t, s.Provision(ctx, u, m, id))
			gu, err := s.GetUser(ctx, "user_1")
			ok(t, err)
			equal(t, "user", gu, u)
			gm, err := s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			equal(t, "membership", gm, m)
			gi, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			equal(t, "identity", gi, id)
		}},
		{"NilIdentity", func(t *testing.T, ctx context.Context, s provisionStore) {
			ok(t, s.Provision(ctx, newUser("user_1", "ada@example.com"), newMember("org_1", "user_1"), nil))
			_, err := s.GetMembership(ctx, "org_1", "user_1")
			ok(t, err)
			list, err := s.ListUserIdentities(ctx, "user_1")
			ok(t, err)
			if len(list) != 0 {
				t.Errorf("got %d identities, want 0", len(list))
			}
		}},
		{"ExistingUser", func(t *testing.T, ctx context.Context, s provisionStore) {
			u := newUser("user_1", "ada@example.com")
			ok(t, s.CreateUser(ctx, u))
			ok(t, s.CreateMembership(ctx, newMember("org_1", "user_1")))
			other := newUser("user_1", "changed@example.com")
			other.GivenName = "Changed"
			ok(t, s.Provision(ctx, other, newMember("org_2", "user_1"), newIdentity("id_1", "org_2", iss, "sub-1", "user_1")))
			gu, err := s.GetUser(ctx, "user_1")
			ok(t, err)
			equal(t, "existing user is left as it was", gu, u)
			list, err := s.ListUserMemberships(ctx, "user_1")
			ok(t, err)
			sameStrings(t, "memberships", ids(list, func(m *sso.Membership) string { return m.OrgID }), []string{"org_1", "org_2"})
		}},
		{"IdentityConflict", func(t *testing.T, ctx context.Context, s provisionStore) {
			ok(t, s.Provision(ctx, newUser("user_1", "ada@example.com"), newMember("org_1", "user_1"), newIdentity("id_1", "org_1", iss, "sub-1", "user_1")))
			err := s.Provision(ctx, newUser("user_2", "ada@example.com"), newMember("org_1", "user_2"), newIdentity("id_2", "org_1", iss, "sub-1", "user_2"))
			is(t, "identity taken", err, sso.ErrConflict)
			absent(t, ctx, s, "user_2", "org_1")
			err = s.Provision(ctx, newUser("user_3", "c@example.com"), newMember("org_1", "user_3"), newIdentity("id_1", "org_1", iss, "sub-3", "user_3"))
			is(t, "identity ID taken", err, sso.ErrConflict)
			absent(t, ctx, s, "user_3", "org_1")
			gi, err := s.GetIdentity(ctx, "org_1", iss, "sub-1")
			ok(t, err)
			if gi.UserID != "user_1" {
				t.Errorf("identity now maps to %q, want user_1", gi.UserID)
			}
		}},
		{"MembershipConflict", func(t *testing.T, ctx context.Context, s provisionStore) {
			m := newMember("org_1", "user_1")
			ok(t, s.CreateMembership(ctx, m))
			err := s.Provision(ctx, newUser("user_1", "ada@example.com"), newMember("org_1", "user_1"), newIdentity("id_1", "org_1", iss, "sub-1", "user_1"))
			is(t, "membership exists", err, sso.ErrConflict)
			absent(t, ctx, s, "user_1", "org_2")
			_, err = s.GetIdentity(ctx, "org_1", iss, "sub-1")
			is(t, "identity of refused Provision", err, sso.ErrNotFound)
		}},
		{"InvalidInput", func(t *testing.T, ctx context.Context, s provisionStore) {
			u, m := newUser("user_1", "ada@example.com"), newMember("org_1", "user_1")
			badID := newIdentity("id_1", "org_1", iss, "", "user_1")
			is(t, "empty subject", s.Provision(ctx, u, m, badID), sso.ErrInvalidInput)
			absent(t, ctx, s, "user_1", "org_1")
			badM := newMember("org_1", "user_1")
			badM.Status = "?"
			is(t, "bad membership", s.Provision(ctx, u, badM, nil), sso.ErrInvalidInput)
			absent(t, ctx, s, "user_1", "org_1")
			badU := newUser("user_1", long)
			is(t, "bad user", s.Provision(ctx, badU, m, nil), sso.ErrInvalidInput)
			absent(t, ctx, s, "user_1", "org_1")
		}},
	})
}
