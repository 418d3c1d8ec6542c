package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// runSCIMAdopt checks AdoptUserSCIM: it gives an existing (JIT) member a
// SCIM record and replaces their user and membership atomically; a second
// adoption, a userName held by a live user, or a missing membership write
// nothing.
func runSCIMAdopt(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	jit := func(t *testing.T, s sso.Store, id, email string) {
		t.Helper()
		u := &sso.User{ID: id, Email: email, CreatedAt: scimT0}
		m := &sso.Membership{OrgID: "org1", UserID: id, Roles: []string{"admin"}, Status: sso.MembershipActive, Source: sso.SourceJIT, JoinedAt: scimT0}
		if err := s.Provision(ctx, u, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("AdoptReplacesUserAndMembership", func(t *testing.T) {
		st := newStores(t)
		s, cs := st.SCIM, st.Core
		jit(t, cs, "u1", "ada@example.com")
		u, m, r := scimUser("org1", "u1", "ada@example.com", map[string]any{"externalId": "ext-1"}, scimT0)
		m.Roles = []string{"admin"}
		u.GivenName = "Ada"
		if err := s.AdoptUserSCIM(ctx, u, m, r); err != nil {
			t.Fatalf("AdoptUserSCIM: %v", err)
		}
		got, err := s.GetUserSCIM(ctx, "org1", "u1")
		if err != nil || got.UserName != "ada@example.com" {
			t.Fatalf("GetUserSCIM after adoption: %+v, %v", got, err)
		}
		mem, _ := cs.GetMembership(ctx, "org1", "u1")
		if mem.Source != sso.SourceSCIM || mem.ExternalID != "ext-1" || !mem.HasRole("admin") {
			t.Fatalf("membership after adoption: %+v", mem)
		}
		if cu, _ := cs.GetUser(ctx, "u1"); cu.GivenName != "Ada" {
			t.Fatalf("core user not replaced: %+v", cu)
		}
		if err := s.AdoptUserSCIM(ctx, u, m, r); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("second adoption: %v, want ErrConflict", err)
		}
	})
	t.Run("AdoptRefusesTakenUserNameAndMissingMember", func(t *testing.T) {
		st := newStores(t)
		s, cs := st.SCIM, st.Core
		mustCreateSCIMUser(t, s, "org1", "u9", "taken@example.com", nil)
		jit(t, cs, "u2", "bob@example.com")
		u, m, r := scimUser("org1", "u2", "taken@example.com", nil, scimT0)
		if err := s.AdoptUserSCIM(ctx, u, m, r); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("adoption with a taken userName: %v, want ErrConflict", err)
		}
		if mem, _ := cs.GetMembership(ctx, "org1", "u2"); mem.Source != sso.SourceJIT {
			t.Fatalf("membership changed by a refused adoption: %+v", mem)
		}
		u, m, r = scimUser("org1", "nobody", "nobody@example.com", nil, scimT0)
		if err := s.AdoptUserSCIM(ctx, u, m, r); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("adoption without a membership: %v, want ErrNotFound", err)
		}
		if _, err := s.GetUserSCIM(ctx, "org1", "nobody"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("record written by a refused adoption: %v", err)
		}
	})
}
