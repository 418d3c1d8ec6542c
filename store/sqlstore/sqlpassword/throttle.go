package sqlpassword

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// errNotOpen rolls back a CountAttempt that met a key no longer open.
var errNotOpen = errors.New("sqlstore: throttle key not open")

// countOpen is the upsert of one CountAttempt key: it counts a failure
// only while the key is open, and returns no row otherwise. Its first
// statement is a write, so on SQLite the transaction takes the write lock
// at once (waiting within busy_timeout) instead of failing to upgrade a
// stale read; on PostgreSQL the conflicting row is locked and its latest
// version checked.
const countOpen = `INSERT INTO ssokit_password_throttle (key, failures, last_at) VALUES ($1, 1, $2)
ON CONFLICT (key) DO UPDATE SET
  failures = CASE WHEN ssokit_password_throttle.last_at < $3 THEN 1 ELSE ssokit_password_throttle.failures + 1 END,
  last_at = excluded.last_at
WHERE ssokit_password_throttle.last_at < $3 OR ssokit_password_throttle.failures < $4
  OR (ssokit_password_throttle.failures = $5 AND ssokit_password_throttle.last_at = $6)
RETURNING failures`

// CountAttempt implements password.ThrottleStore with one conditional
// upsert per key in one transaction. The keys are written in sorted order,
// so concurrent calls sharing keys cannot deadlock.
func (s *Store) CountAttempt(ctx context.Context, slots []password.ThrottleSlot, now, forgetBefore time.Time) ([]int, error) {
	order := make([]int, len(slots))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(slots[a].Key, slots[b].Key) })
	counts := make([]int, len(slots))
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		for _, i := range order {
			sl := slots[i]
			err := tx.QueryRowContext(ctx, countOpen, sl.Key, sqlbase.TS(now), sqlbase.TS(forgetBefore),
				sl.Free, sl.N, sqlbase.TS(sl.Last)).Scan(&counts[i])
			if err == sql.ErrNoRows {
				return errNotOpen
			} else if err != nil {
				return sqlbase.Wrap(err)
			}
		}
		return nil
	})
	if errors.Is(err, errNotOpen) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	s.maybeSweep(ctx)
	return counts, nil
}

// UncountAttempt implements password.ThrottleStore with one UPDATE.
func (s *Store) UncountAttempt(ctx context.Context, key string, n int, at, prevLast time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ssokit_password_throttle SET failures = failures - 1,
  last_at = CASE WHEN failures = $2 AND last_at = $3 THEN $4 ELSE last_at END
WHERE key = $1 AND failures > 0`, key, n, sqlbase.TS(at), sqlbase.TS(prevLast))
	return sqlbase.Wrap(err)
}
