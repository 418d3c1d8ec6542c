package sqlinvite

import (
	"context"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// WithEvents implements invite.EventBinder: the writes of the returned
// view insert evs in the same transaction as their change (the sealer
// chains them afterwards, as it does those AppendEvent stores).
func (s *Store) WithEvents(evs ...*sso.Event) invite.Store {
	v := *s
	v.events = evs
	return &v
}

// write runs fn on the database, or, on a view WithEvents returned, in a
// transaction that then inserts the view's events.
func (s *Store) write(ctx context.Context, fn func(q sqlbase.Querier) error) error {
	return sqlbase.WriteWithEvents(ctx, s.db, s.events, fn)
}
