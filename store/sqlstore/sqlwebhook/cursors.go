package sqlwebhook

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ webhook.CursorStore = (*Store)(nil)

// Cursors implements webhook.CursorStore.
func (s *Store) Cursors(ctx context.Context, name string) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT org_id, seq FROM ssokit_webhook_cursors WHERE name = $1`, name)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var org string
		var seq int64
		if err := rows.Scan(&org, &seq); err != nil {
			return nil, sqlbase.Wrap(err)
		}
		out[org] = seq
	}
	return out, sqlbase.Wrap(rows.Err())
}

// AdvanceCursor implements webhook.CursorStore with a compare-and-set: the
// first advance inserts the row (a racing insert loses on the primary
// key), later ones update it only from the expected value.
func (s *Store) AdvanceCursor(ctx context.Context, name, orgID string, from, to int64) error {
	var res sql.Result
	var err error
	if from == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO ssokit_webhook_cursors (name, org_id, seq) VALUES ($1, $2, $3)
			ON CONFLICT (name, org_id) DO UPDATE SET seq = excluded.seq WHERE ssokit_webhook_cursors.seq = 0`, name, orgID, to)
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE ssokit_webhook_cursors SET seq = $3 WHERE name = $1 AND org_id = $2 AND seq = $4`,
			name, orgID, to, from)
	}
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlbase.Wrap(err)
	} else if n == 0 {
		return fmt.Errorf("sqlwebhook: cursor %s/%s moved: %w", name, orgID, sso.ErrConflict)
	}
	return nil
}
