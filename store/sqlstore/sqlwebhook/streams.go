package sqlwebhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// RecordFailure implements webhook.Store with one UPDATE ... RETURNING.
func (s *Store) RecordFailure(ctx context.Context, endpointID string, now time.Time) (int, time.Time, error) {
	var n int
	var since int64
	err := s.db.QueryRowContext(ctx, `UPDATE ssokit_webhook_endpoints SET failures = failures + 1,
failing_since = CASE WHEN failing_since = 0 THEN $2 ELSE failing_since END WHERE id = $1
RETURNING failures, failing_since`, endpointID, sqlbase.TS(now)).Scan(&n, &since)
	if err != nil {
		return 0, time.Time{}, sqlbase.Wrap(err)
	}
	return n, sqlbase.FromTS(since), nil
}

// RecordSuccess implements webhook.Store.
func (s *Store) RecordSuccess(ctx context.Context, endpointID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ssokit_webhook_endpoints SET failures = 0, failing_since = 0
WHERE id = $1 AND (failures <> 0 OR failing_since <> 0)`, endpointID)
	return sqlbase.Wrap(err)
}

// ClaimStream implements webhook.Store with one UPDATE ... RETURNING on the
// endpoint row (picked with FOR UPDATE SKIP LOCKED on PostgreSQL).
func (s *Store) ClaimStream(ctx context.Context, endpointID, owner string, now, leaseUntil time.Time) (*webhook.Endpoint, bool, error) {
	e, err := scanEndpoint(s.db.QueryRowContext(ctx, `UPDATE ssokit_webhook_endpoints SET lease_owner = $2, lease_until = $4
WHERE id IN (SELECT id FROM ssokit_webhook_endpoints WHERE id = $1 AND enabled AND kind = 'siem'
AND (lease_until <= $3 OR (lease_owner = $2 AND lease_owner <> ''))`+s.skipLocked+`)
RETURNING `+endpointCols, endpointID, owner, sqlbase.TS(now), sqlbase.TS(leaseUntil)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, sqlbase.Wrap(err)
	}
	return e, true, nil
}

// AdvanceStream implements webhook.Store with a compare-and-set.
func (s *Store) AdvanceStream(ctx context.Context, endpointID, owner string, from, to int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_webhook_endpoints SET cursor_seq = $4
WHERE id = $1 AND lease_owner = $2 AND cursor_seq = $3`, endpointID, owner, from, to)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return sqlbase.Wrap(err)
		}
		return fmt.Errorf("sqlstore: webhook stream moved: %w", sso.ErrConflict)
	}
	return nil
}

// ReleaseStream implements webhook.Store.
func (s *Store) ReleaseStream(ctx context.Context, endpointID, owner string, retryAt time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ssokit_webhook_endpoints SET lease_owner = '', lease_until = $3
WHERE id = $1 AND lease_owner = $2`, endpointID, owner, sqlbase.TS(retryAt))
	return sqlbase.Wrap(err)
}
