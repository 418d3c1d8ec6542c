package sso

import (
	"context"
	"fmt"
	"time"
)

// ErrUserChanged reports that a conditional write of a user found the
// account changed since it was read (UpdateUserIf). It wraps ErrConflict.
var ErrUserChanged = fmt.Errorf("%w: the user changed since it was read", ErrConflict)

// ConditionalUserUpdater is an optional UserStore capability for writes
// of an account made from a copy read earlier: a login refreshing the
// names its IdP sent, an email verification. Written over a change made
// in between (a directory moving the account to a new address), such a
// copy would bring the old address back, verified, for whoever holds it
// next.
//
// UpdateUserIf replaces the stored user u.ID with u, like UpdateUser, but
// only while the stored UpdatedAt still equals prevUpdatedAt (at the
// store's precision); otherwise it writes nothing and returns an error
// wrapping ErrUserChanged. The check and the write are atomic.
// store/memstore and store/sqlstore implement it; UpdateUserIf (the
// function) falls back for a store that does not.
type ConditionalUserUpdater interface {
	UpdateUserIf(ctx context.Context, u *User, prevUpdatedAt time.Time) error
}

// UpdateUserIf writes u through st's ConditionalUserUpdater when st
// implements it. Otherwise it reads the user again and writes u with
// UpdateUser when the stored UpdatedAt still equals prevUpdatedAt, and
// ErrUserChanged when not, which narrows the race without closing it.
func UpdateUserIf(ctx context.Context, st UserStore, u *User, prevUpdatedAt time.Time) error {
	if cu, ok := st.(ConditionalUserUpdater); ok {
		return cu.UpdateUserIf(ctx, u, prevUpdatedAt)
	}
	cur, err := st.GetUser(ctx, u.ID)
	if err != nil {
		return err
	}
	if !cur.UpdatedAt.Equal(prevUpdatedAt) {
		return UserChanged(u.ID)
	}
	return st.UpdateUser(ctx, u)
}

// UserChanged is the error of a conditional write of user id that found
// the account changed since it was read; it wraps ErrUserChanged.
func UserChanged(id string) error {
	return fmt.Errorf("%w: user %s", ErrUserChanged, id)
}
