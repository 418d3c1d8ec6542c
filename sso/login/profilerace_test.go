package login_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/login"
)

// userWriteRace is a login store on which, once armed, another writer's
// change of the account lands just before the login's write of it, after
// the login read it.
type userWriteRace struct {
	teststore.LoginStore
	testkit.Between
}

func (s *userWriteRace) UpdateUser(ctx context.Context, u *sso.User) error {
	s.Fire()
	return s.LoginStore.UpdateUser(ctx, u)
}

func (s *userWriteRace) UpdateUserIf(ctx context.Context, u *sso.User, prev time.Time) error {
	s.Fire()
	return sso.UpdateUserIf(ctx, s.LoginStore, u, prev)
}

// TestProfileRefreshKeepsAChangeMadeDuringIt: a login refreshing the names
// its IdP sent does not write back the rest of the account as it read it:
// a family name the directory set meanwhile stays, and the login's given
// name lands on it. Before, the login's copy undid the directory's change.
func TestProfileRefreshKeepsAChangeMadeDuringIt(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		e := ssoenv.New(t)
		inner := teststore.OpenLogin(t, backend, e.Clock)
		st := &userWriteRace{LoginStore: inner}
		org := &sso.Organization{ID: opaque.NewID("org_"), Slug: "acme", Name: "Acme"}
		org.Settings.Features, org.Settings.AllowJIT = ssoenv.AllFeatures, true
		if err := st.CreateOrg(ctx, org); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified}); err != nil {
			t.Fatal(err)
		}
		conn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: org.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
			Config: &oidc.ConnectionConfig{Issuer: "https://idp.example"}}
		if err := st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		sessions, err := session.New(session.Config{Store: inner, Events: inner, Orgs: inner, Memberships: inner, Now: e.Clock, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		aud, err := audit.New(audit.Config{Store: inner, Now: e.Clock})
		if err != nil {
			t.Fatal(err)
		}
		c, err := login.New(login.Config{Store: st, Sessions: sessions, Auditor: aud, Now: e.Clock, Logger: log, WriteWithSession: true})
		if err != nil {
			t.Fatal(err)
		}
		signIn := func(given string) {
			t.Helper()
			p := ssoenv.Profile(conn, "sub-1", "ada@acme.com", true)
			p.GivenName = given
			if err := c.Complete(httptest.NewRecorder(), httptest.NewRequest("POST", "https://app.example/sso/oidc/callback", nil),
				&sso.Login{Connection: conn, Profile: p}); err != nil {
				t.Fatalf("login: %v", err)
			}
		}
		signIn("Ada")
		ms, err := inner.ListMembers(ctx, org.ID, "", 2)
		if err != nil || len(ms) != 1 {
			t.Fatalf("members = %v, %v", ms, err)
		}
		uid := ms[0].UserID
		st.Arm(0, func() {
			u, err := inner.GetUser(ctx, uid)
			if err != nil {
				t.Error(err)
				return
			}
			u.FamilyName, u.UpdatedAt = "Lovelace", sso.NextUpdatedAt(u.UpdatedAt, e.Clock())
			if err := inner.UpdateUser(ctx, u); err != nil {
				t.Error(err)
			}
		})
		signIn("Augusta")
		u, err := inner.GetUser(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if u.FamilyName != "Lovelace" || u.GivenName != "Augusta" {
			t.Fatalf("account after the login = given %q, family %q; want the login's given name on the directory's family name",
				u.GivenName, u.FamilyName)
		}
	})
}
