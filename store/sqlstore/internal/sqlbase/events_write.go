package sqlbase

import (
	"context"
	"database/sql"

	"github.com/ssokit/ssokit/sso"
)

// WriteWithEvents runs fn on db, or, when evs is not empty, in a
// transaction that then inserts evs: the write of a store view that
// WithEvents returned (audit.EventBinder and its kin), stored together
// with its events or not at all. The sealer chains the events afterwards,
// as it does those AppendEvent stores.
func WriteWithEvents(ctx context.Context, db *sql.DB, evs []*sso.Event, fn func(q Querier) error) error {
	if len(evs) == 0 {
		return fn(db)
	}
	return InTx(ctx, db, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return InsertEvents(ctx, tx, evs)
	})
}

// InsertEvents inserts evs through q, in order.
func InsertEvents(ctx context.Context, q Querier, evs []*sso.Event) error {
	for _, e := range evs {
		if err := InsertEvent(ctx, q, e); err != nil {
			return err
		}
	}
	return nil
}
