package password_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// usersRace is a user store on which, once armed, another writer's change
// of the account lands just before the next write of it.
type usersRace struct {
	sso.UserStore
	testkit.Between
}

func (s *usersRace) UpdateUser(ctx context.Context, u *sso.User) error {
	s.Fire()
	return s.UserStore.UpdateUser(ctx, u)
}

func (s *usersRace) UpdateUserIf(ctx context.Context, u *sso.User, prev time.Time) error {
	s.Fire()
	return sso.UpdateUserIf(ctx, s.UserStore, u, prev)
}

// TestVerifyEmailAfterTheAccountMoved: an email verification that read the
// account at the address its link proved, the account then moved to
// another address, neither brings the old address back nor marks the new
// one verified: the link is stale. Before, the verification wrote back
// its copy, the old address, verified.
func TestVerifyEmailAfterTheAccountMoved(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		var users *usersRace
		e := newEnv(t, func(c *password.Config) {
			users = &usersRace{UserStore: c.Users}
			c.Users = users
		})
		ctx := context.Background()
		if err := e.m.SignUp(ctx, "jane@example.com", goodPassword, "Jane"); err != nil {
			t.Fatal(err)
		}
		token := e.lastToken("jane@example.com")
		cred, err := e.st.FindCredential(ctx, "jane@example.com")
		if err != nil {
			t.Fatal(err)
		}
		uid := cred.UserID
		users.Arm(0, func() {
			u, err := e.ms.GetUser(ctx, uid)
			if err != nil {
				t.Error(err)
				return
			}
			u.Email, u.UpdatedAt = "jane@new.example", sso.NextUpdatedAt(u.UpdatedAt, e.clock.Now())
			if err := e.ms.UpdateUser(ctx, u); err != nil {
				t.Error(err)
			}
		})
		_, err = e.m.VerifyEmail(ctx, token)
		var ve *sso.ValidationError
		if !errors.As(err, &ve) || ve.Reason != password.ReasonTokenStale {
			t.Fatalf("verification after the move = %v; want %s", err, password.ReasonTokenStale)
		}
		u, err := e.ms.GetUser(ctx, uid)
		if err != nil || u.Email != "jane@new.example" || u.EmailVerified {
			t.Fatalf("account after the verification = %+v, %v; want the new address, unverified", u, err)
		}
	})
}
