package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// A login refreshing an account's names, or an email verification, writes
// the account back from a copy read earlier. Written over a directory's
// move of the account to a new address, the copy would bring the old
// address back. sso.ConditionalUserUpdater writes only while the stored
// account is still the one read.

func runUserUpdateIf(t *testing.T, newStores newStoresFunc) {
	runCases(t, newStores, func(s Stores) sso.UserStore { return s.Core }, []testCase[sso.UserStore]{
		{"ChangedSinceRead", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			cu, isCU := s.(sso.ConditionalUserUpdater)
			if !isCU {
				t.Skipf("storetest: %T does not implement sso.ConditionalUserUpdater", s)
			}
			ok(t, s.CreateUser(ctx, newUser("usr_1", "ada@old.example")))
			read, err := s.GetUser(ctx, "usr_1")
			ok(t, err)
			moved := *read
			moved.Email, moved.UpdatedAt = "ada@new.example", at(time.Hour)
			ok(t, s.UpdateUser(ctx, &moved))
			stale := *read
			stale.GivenName, stale.UpdatedAt = "Refreshed", at(2*time.Hour)
			is(t, "write from a copy read before the move", cu.UpdateUserIf(ctx, &stale, read.UpdatedAt), sso.ErrUserChanged)
			got, err := s.GetUser(ctx, "usr_1")
			ok(t, err)
			equal(t, "after the refused write", got, &moved)
			// From the current copy: written.
			fresh := *got
			fresh.GivenName, fresh.UpdatedAt = "Refreshed", at(3*time.Hour)
			ok(t, cu.UpdateUserIf(ctx, &fresh, got.UpdatedAt))
			got, err = s.GetUser(ctx, "usr_1")
			ok(t, err)
			equal(t, "written", got, &fresh)
			missing := newUser("usr_none", "x@example.com")
			is(t, "missing user", cu.UpdateUserIf(ctx, missing, missing.UpdatedAt), sso.ErrNotFound)
		}},
		{"Fallback", func(t *testing.T, ctx context.Context, s sso.UserStore) {
			plain := struct{ sso.UserStore }{s}
			ok(t, s.CreateUser(ctx, newUser("usr_1", "ada@old.example")))
			read, err := s.GetUser(ctx, "usr_1")
			ok(t, err)
			moved := *read
			moved.Email, moved.UpdatedAt = "ada@new.example", at(time.Hour)
			ok(t, s.UpdateUser(ctx, &moved))
			is(t, "fallback write from a stale copy", sso.UpdateUserIf(ctx, plain, read, read.UpdatedAt), sso.ErrUserChanged)
		}},
	})
}
