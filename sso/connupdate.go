package sso

import (
	"context"
	"fmt"
	"time"
)

// ConditionalConnectionUpdater is an optional ConnectionStore capability
// for every write of a connection made from a copy read earlier: a
// metadata refresh or a test login's result, and an administrator's
// change, which reads the connection, works for a while (fetches the
// IdP's metadata) and writes the whole connection back. Such a write must
// not undo a change committed in between (a disable, a replaced
// certificate, a new setting).
//
// UpdateConnectionIf replaces the stored connection c.ID with c, like
// UpdateConnection, but only while the stored UpdatedAt still equals
// prevUpdatedAt (the UpdatedAt of the copy c was made from, compared at the
// store's precision); otherwise it writes nothing and returns an error
// wrapping ErrConnectionChanged (and so ErrConflict). The check and the
// write are atomic. A missing connection is ErrNotFound.
//
// The check relies on every write of a connection giving it a new
// UpdatedAt (see NextUpdatedAt), as the admin API does; the caller of
// UpdateConnectionIf sets c.UpdatedAt to a time other than prevUpdatedAt
// too. store/memstore and store/sqlstore implement it; UpdateConnectionIf
// (the function) falls back for a store that does not.
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

// ErrConnectionChanged reports that a conditional write of a connection
// found it changed since it was read (UpdateConnectionIf). It wraps
// ErrConflict.
var ErrConnectionChanged = fmt.Errorf("%w: the connection changed since it was read", ErrConflict)

// ConnectionChanged is the error of a conditional connection write that
// found the connection changed since it was read; it wraps
// ErrConnectionChanged.
func ConnectionChanged(id string) error {
	return fmt.Errorf("%w: connection %s", ErrConnectionChanged, id)
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
