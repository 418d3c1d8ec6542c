package login_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/sso"
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
		var race *userWriteRace
		r := newMemberGuardRigOn(t, backend, func(st teststore.LoginStore) sso.Store {
			race = &userWriteRace{LoginStore: st}
			return race
		})
		race.Arm(0, func() {
			u, err := r.st.GetUser(ctx, r.uid)
			if err != nil {
				t.Error(err)
				return
			}
			u.FamilyName, u.UpdatedAt = "Lovelace", sso.NextUpdatedAt(u.UpdatedAt, u.UpdatedAt)
			if err := r.st.UpdateUser(ctx, u); err != nil {
				t.Error(err)
			}
		})
		p := ssoenv.Profile(r.conn, "sub-1", "boss@acme.com", true)
		p.GivenName = "Augusta"
		if err := r.c.Complete(httptest.NewRecorder(), httptest.NewRequest("POST", "https://app.example/sso/oidc/callback", nil),
			&sso.Login{Connection: r.conn, Profile: p}); err != nil {
			t.Fatalf("login: %v", err)
		}
		u, err := r.st.GetUser(ctx, r.uid)
		if err != nil {
			t.Fatal(err)
		}
		if u.FamilyName != "Lovelace" || u.GivenName != "Augusta" {
			t.Fatalf("account after the login = given %q, family %q; want the login's given name on the directory's family name",
				u.GivenName, u.FamilyName)
		}
	})
}
