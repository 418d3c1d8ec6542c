package sso

import (
	"context"
	"fmt"
	"time"
)

// ConditionalConnectionUpdater is an optional ConnectionStore capability
// for background and derived writes of a connection (a metadata refresh,
// a test login's result): they read the connection, work for a while
// (fetch the IdP's metadata, run the test), and write the whole connection
// back, which must not undo a change an administrator committed in
// between (a disable, a removed certificate, a new setting).
//
// UpdateConnectionIf replaces the stored connection c.ID with c, like
// UpdateConnection, but only while the stored UpdatedAt still equals
// prevUpdatedAt (the UpdatedAt of the copy c was made from, compared at the
// store's precision); otherwise it writes nothing and returns an error
// wrapping ErrConflict. The check and the write are atomic. A missing
// connection is ErrNotFound.
//
// The check relies on every write of a connection giving it a new
// UpdatedAt, as the admin API does; the caller of UpdateConnectionIf sets
// c.UpdatedAt to a time other than prevUpdatedAt too. store/memstore and
// store/sqlstore implement it; UpdateConnectionIf (the function) falls back
// for a store that does not.
type ConditionalConnectionUpdater interface {
	UpdateConnectionIf(ctx context.Context, c *Connection, prevUpdatedAt time.Time) error
}

// UpdateConnectionIf writes c through st's ConditionalConnectionUpdater
// when st implements it. Otherwise it reads the connection again and
// writes c with UpdateConnection when the stored UpdatedAt still equals
// prevUpdatedAt, ErrConflict when not: this narrows the window in which a
// concurrent change is lost to the time between the read and the write,
// but does not close it; a host store closes it by implementing
// ConditionalConnectionUpdater (one UPDATE ... WHERE updated_at = ?).
func UpdateConnectionIf(ctx context.Context, st ConnectionStore, c *Connection, prevUpdatedAt time.Time) error {
	if cu, ok := st.(ConditionalConnectionUpdater); ok {
		return cu.UpdateConnectionIf(ctx, c, prevUpdatedAt)
	}
	cur, err := st.GetConnection(ctx, c.ID)
	if err != nil {
		return err
	}
	if !cur.UpdatedAt.Equal(prevUpdatedAt) {
		return ConnectionChanged(c.ID)
	}
	return st.UpdateConnection(ctx, c)
}

// ConnectionChanged is the error of a conditional connection write that
// found the connection changed since it was read; it wraps ErrConflict.
func ConnectionChanged(id string) error {
	return fmt.Errorf("%w: connection %s changed since it was read", ErrConflict, id)
}

// NextUpdatedAt returns the UpdatedAt for a conditional write of a
// connection read with UpdatedAt prev: now in UTC, or prev plus a
// microsecond (the precision of the SQL stores) when now is not later than
// that, so the new version never looks like the one it replaces.
func NextUpdatedAt(prev, now time.Time) time.Time {
	now = now.UTC()
	if floor := prev.Add(time.Microsecond); now.Before(floor) {
		return floor.UTC()
	}
	return now
}
