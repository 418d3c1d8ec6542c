package sqlwebhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

const deliveryCols = `id, endpoint_id, org_id, event_id, event_type, seq, payload, status, attempts, next_attempt_at,
last_status, last_error, created_at, delivered_at, lease`

// insertChunk is the most deliveries one INSERT carries (15 parameters
// each, well below both dialects' parameter limits).
const insertChunk = 200

// errLeaseLost reports a FinishDelivery whose lease no longer holds.
var errLeaseLost = fmt.Errorf("sqlstore: webhook delivery lease lost: %w", sso.ErrConflict)

func scanDelivery(r sqlbase.Scanner) (*webhook.Delivery, error) {
	var (
		d                        webhook.Delivery
		payload, status          string
		next, created, delivered int64
	)
	if err := r.Scan(&d.ID, &d.EndpointID, &d.OrgID, &d.EventID, &d.EventType, &d.Seq, &payload, &status, &d.Attempts, &next,
		&d.LastStatus, &d.LastError, &created, &delivered, &d.Lease); err != nil {
		return nil, err
	}
	d.Payload, d.Status = []byte(payload), webhook.Status(status)
	d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = sqlbase.FromTS(next), sqlbase.FromTS(created), sqlbase.FromTS(delivered)
	return &d, nil
}

// FanOut implements webhook.Store: one transaction moves the cursor with a
// compare-and-set and inserts the deliveries.
func (s *Store) FanOut(ctx context.Context, endpointID string, from, to int64, ds []*webhook.Delivery) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ssokit_webhook_endpoints SET cursor_seq = $3 WHERE id = $1 AND cursor_seq = $2`,
			endpointID, from, to)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if err := sqlbase.MustAffect(res); err != nil {
			if errors.Is(err, sso.ErrNotFound) {
				return fmt.Errorf("sqlstore: webhook cursor moved or endpoint gone: %w", sso.ErrConflict)
			}
			return sqlbase.Wrap(err)
		}
		for len(ds) > 0 {
			n := min(len(ds), insertChunk)
			if err := insertDeliveries(ctx, tx, ds[:n]); err != nil {
				return err
			}
			ds = ds[n:]
		}
		return nil
	})
}

func insertDeliveries(ctx context.Context, tx *sql.Tx, ds []*webhook.Delivery) error {
	var b strings.Builder
	args := make([]any, 0, 15*len(ds))
	b.WriteString(`INSERT INTO ssokit_webhook_deliveries (` + deliveryCols + `) VALUES `)
	for i, d := range ds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range 15 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", len(args)+j+1)
		}
		b.WriteByte(')')
		args = append(args, d.ID, d.EndpointID, d.OrgID, d.EventID, d.EventType, d.Seq, string(d.Payload), string(d.Status),
			d.Attempts, sqlbase.TS(d.NextAttemptAt), d.LastStatus, d.LastError, sqlbase.TS(d.CreatedAt), sqlbase.TS(d.DeliveredAt), "")
	}
	b.WriteString(` ON CONFLICT (endpoint_id, event_id) DO NOTHING`)
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return sqlbase.Wrap(err)
}

// ClaimDeliveries implements webhook.Store with one UPDATE ... RETURNING,
// whose rows are picked with FOR UPDATE SKIP LOCKED on PostgreSQL.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]*webhook.Delivery, error) {
	// An idle poll costs one index probe and no write (which on SQLite
	// would take the database's write lock).
	var one int
	switch err := s.db.QueryRowContext(ctx, `SELECT 1 FROM ssokit_webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1`,
		sqlbase.TS(now)).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, sqlbase.Wrap(err)
	}
	return sqlbase.Collect(ctx, s.db, scanDelivery, `UPDATE ssokit_webhook_deliveries SET next_attempt_at = $1, lease = $2
WHERE id IN (SELECT id FROM ssokit_webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $3
ORDER BY next_attempt_at LIMIT $4`+s.skipLocked+`)
RETURNING `+deliveryCols, sqlbase.TS(leaseUntil), newLease(), sqlbase.TS(now), sqlbase.Limit(limit))
}

// FinishDelivery implements webhook.Store in one transaction: the attempt
// is logged whether or not the lease still holds.
func (s *Store) FinishDelivery(ctx context.Context, d *webhook.Delivery, a *webhook.Attempt) error {
	lost := false
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		lost = false
		if a != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_webhook_attempts (delivery_id, endpoint_id, number, at, status_code, latency_us, error_kind)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.DeliveryID, a.EndpointID, a.Number, sqlbase.TS(a.At), a.StatusCode, a.Latency.Microseconds(), a.ErrorKind); err != nil {
				return sqlbase.Wrap(err)
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE ssokit_webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5,
last_status = $6, last_error = $7, delivered_at = $8, lease = '' WHERE id = $1 AND lease = $2`,
			d.ID, d.Lease, string(d.Status), d.Attempts, sqlbase.TS(d.NextAttemptAt), d.LastStatus, d.LastError, sqlbase.TS(d.DeliveredAt))
		if err != nil {
			return sqlbase.Wrap(err)
		}
		n, err := res.RowsAffected()
		lost = n == 0
		return sqlbase.Wrap(err)
	})
	if err == nil && lost {
		err = errLeaseLost
	}
	return err
}

// GetDelivery implements webhook.Store.
func (s *Store) GetDelivery(ctx context.Context, id string) (*webhook.Delivery, error) {
	return sqlbase.GetOne(ctx, s.db, "webhook delivery", scanDelivery,
		`SELECT `+deliveryCols+` FROM ssokit_webhook_deliveries WHERE id = $1`, id)
}

// ListDeliveries implements webhook.Store.
func (s *Store) ListDeliveries(ctx context.Context, q webhook.DeliveryQuery) ([]*webhook.Delivery, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := `SELECT ` + deliveryCols + ` FROM ssokit_webhook_deliveries WHERE endpoint_id = $1`
	args := []any{q.EndpointID}
	if q.Status != "" {
		args = append(args, string(q.Status))
		query += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if q.BeforeID != "" {
		args = append(args, q.BeforeID)
		query += fmt.Sprintf(" AND id < $%d", len(args))
	}
	args = append(args, limit)
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	return sqlbase.Collect(ctx, s.db, scanDelivery, query, args...)
}

func scanAttempt(r sqlbase.Scanner) (*webhook.Attempt, error) {
	var a webhook.Attempt
	var at, latency int64
	if err := r.Scan(&a.DeliveryID, &a.EndpointID, &a.Number, &at, &a.StatusCode, &latency, &a.ErrorKind); err != nil {
		return nil, err
	}
	a.At, a.Latency = sqlbase.FromTS(at), time.Duration(latency)*time.Microsecond
	return &a, nil
}

// ListAttempts implements webhook.Store.
func (s *Store) ListAttempts(ctx context.Context, deliveryID string) ([]*webhook.Attempt, error) {
	return sqlbase.Collect(ctx, s.db, scanAttempt, `SELECT delivery_id, endpoint_id, number, at, status_code, latency_us, error_kind
FROM ssokit_webhook_attempts WHERE delivery_id = $1 ORDER BY pos`, deliveryID)
}

// Redeliver implements webhook.Store.
func (s *Store) Redeliver(ctx context.Context, endpointID, id string, since, now time.Time) (int, error) {
	const set = `UPDATE ssokit_webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2, lease = '' WHERE endpoint_id = $1`
	var res sql.Result
	var err error
	if id != "" {
		res, err = s.db.ExecContext(ctx, set+` AND id = $3`, endpointID, sqlbase.TS(now), id)
	} else {
		res, err = s.db.ExecContext(ctx, set+` AND created_at >= $3`, endpointID, sqlbase.TS(now), sqlbase.TS(since))
	}
	if err != nil {
		return 0, sqlbase.Wrap(err)
	}
	n, err := res.RowsAffected()
	return int(n), sqlbase.Wrap(err)
}
