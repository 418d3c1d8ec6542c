// Package sqlwebhook implements webhook.Store (endpoints, deliveries and
// the attempt log) on the database of a sqlstore.Store, so that only hosts
// that send webhooks link the webhook stack.
//
//	d, err := webhook.New(webhook.Config{Store: sqlwebhook.New(st), Events: st, ...})
//
// # Concurrency
//
// Fan-out moves an endpoint's cursor with a compare-and-set on its old
// value in the transaction that inserts the deliveries, so of replicas
// racing for one batch exactly one writes it. Workers claim due deliveries
// with one UPDATE ... RETURNING that sets a lease token and moves the due
// time past the lease; on PostgreSQL the rows are picked with FOR UPDATE
// SKIP LOCKED, so concurrent claimers take disjoint sets without waiting,
// and SQLite has a single writer. A worker writes the outcome only while
// its lease token still holds. SIEM streams are leased the same way, on
// the endpoint row.
//
// Each delivery worker of a webhook.Dispatcher uses a connection while it
// records an attempt: keep sql.DB's idle pool (SetMaxIdleConns) at least
// as large as Config.Workers, or connections are closed and reopened (a
// new PostgreSQL backend each) on every delivery.
package sqlwebhook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var (
	_ webhook.Store       = (*Store)(nil)
	_ webhook.EventBinder = (*Store)(nil)
)

// Store is the webhook store on a sqlstore.Store's database. It is safe for
// concurrent use, also by several processes on one database.
type Store struct {
	db *sql.DB
	// skipLocked is appended to the row-picking subqueries: FOR UPDATE
	// SKIP LOCKED on PostgreSQL, nothing on SQLite.
	skipLocked string
	// events are inserted with every endpoint write of a view WithEvents
	// returned; nil for the Store New returns.
	events []*sso.Event
}

// WithEvents implements webhook.EventBinder: the endpoint writes of the
// returned view insert evs in the same transaction as their change (the
// sealer chains them afterwards, as it does those AppendEvent stores).
func (s *Store) WithEvents(evs ...*sso.Event) webhook.Store {
	v := *s
	v.events = evs
	return &v
}

// write runs fn on the database, or, on a view WithEvents returned, in a
// transaction that then inserts the view's events.
func (s *Store) write(ctx context.Context, fn func(q sqlbase.Querier) error) error {
	return sqlbase.WriteWithEvents(ctx, s.db, s.events, fn)
}

// New returns the webhook store on st's database. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	s := &Store{db: sqlbase.Of(st).DB}
	if st.Dialect() == sqlstore.Postgres {
		s.skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	return s
}

const endpointCols = `id, org_id, kind, url, description, event_types, enabled, disabled_reason, disabled_at,
timeout_ms, max_response_bytes, batch_size, secret_sealed, old_secret_sealed, old_secret_expires_at,
created_at, updated_at, cursor_seq, failures, failing_since, lease_owner, lease_until`

func scanEndpoint(r sqlbase.Scanner) (*webhook.Endpoint, error) {
	var (
		e                                             webhook.Endpoint
		kind, types                                   string
		disabledAt, timeout, oldExp, created, updated int64
		failingSince, leaseUntil                      int64
	)
	if err := r.Scan(&e.ID, &e.OrgID, &kind, &e.URL, &e.Description, &types, &e.Enabled, &e.DisabledReason, &disabledAt,
		&timeout, &e.MaxResponseBytes, &e.BatchSize, &e.SecretSealed, &e.OldSecretSealed, &oldExp,
		&created, &updated, &e.Cursor, &e.Failures, &failingSince, &e.LeaseOwner, &leaseUntil); err != nil {
		return nil, err
	}
	if err := sqlbase.FromJSON(types, &e.EventTypes); err != nil {
		return nil, err
	}
	e.Kind, e.Timeout = webhook.Kind(kind), time.Duration(timeout)*time.Millisecond
	e.DisabledAt, e.OldSecretExpiresAt = sqlbase.FromTS(disabledAt), sqlbase.FromTS(oldExp)
	e.CreatedAt, e.UpdatedAt = sqlbase.FromTS(created), sqlbase.FromTS(updated)
	e.FailingSince, e.LeaseUntil = sqlbase.FromTS(failingSince), sqlbase.FromTS(leaseUntil)
	return &e, nil
}

// CreateEndpoint implements webhook.Store.
func (s *Store) CreateEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	types, err := sqlbase.ToJSON(e.EventTypes)
	if err != nil {
		return err
	}
	return s.write(ctx, func(q sqlbase.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO ssokit_webhook_endpoints (`+endpointCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
			e.ID, e.OrgID, string(e.Kind), e.URL, e.Description, types, e.Enabled, e.DisabledReason, sqlbase.TS(e.DisabledAt),
			e.Timeout.Milliseconds(), e.MaxResponseBytes, e.BatchSize, e.SecretSealed, e.OldSecretSealed, sqlbase.TS(e.OldSecretExpiresAt),
			sqlbase.TS(e.CreatedAt), sqlbase.TS(e.UpdatedAt), e.Cursor, e.Failures, sqlbase.TS(e.FailingSince), e.LeaseOwner, sqlbase.TS(e.LeaseUntil))
		return sqlbase.Wrap(err)
	})
}

// GetEndpoint implements webhook.Store.
func (s *Store) GetEndpoint(ctx context.Context, id string) (*webhook.Endpoint, error) {
	return sqlbase.GetOne(ctx, s.db, "webhook endpoint", scanEndpoint,
		`SELECT `+endpointCols+` FROM ssokit_webhook_endpoints WHERE id = $1`, id)
}

// ListEndpoints implements webhook.Store.
func (s *Store) ListEndpoints(ctx context.Context, orgID string) ([]*webhook.Endpoint, error) {
	return sqlbase.Collect(ctx, s.db, scanEndpoint,
		`SELECT `+endpointCols+` FROM ssokit_webhook_endpoints WHERE org_id = $1 ORDER BY created_at, id`, orgID)
}

// ListEnabledEndpoints implements webhook.Store.
func (s *Store) ListEnabledEndpoints(ctx context.Context, k webhook.Kind, afterID string, limit int) ([]*webhook.Endpoint, error) {
	return sqlbase.Collect(ctx, s.db, scanEndpoint, `SELECT `+endpointCols+` FROM ssokit_webhook_endpoints
WHERE enabled AND kind = $1 AND id > $2 ORDER BY id LIMIT $3`, string(k), afterID, sqlbase.Limit(limit))
}

// UpdateEndpoint implements webhook.Store.
func (s *Store) UpdateEndpoint(ctx context.Context, e *webhook.Endpoint) error {
	return s.updateEndpoint(ctx, e, nil)
}

var _ webhook.ConditionalEndpointUpdater = (*Store)(nil)

// UpdateEndpointIf implements webhook.ConditionalEndpointUpdater: the
// UPDATE also requires the stored updated_at to be prevUpdatedAt, so a
// change committed since the caller's read (which on PostgreSQL the
// UPDATE waits for and then re-checks) makes it write nothing.
func (s *Store) UpdateEndpointIf(ctx context.Context, e *webhook.Endpoint, prevUpdatedAt time.Time) error {
	return s.updateEndpoint(ctx, e, &prevUpdatedAt)
}

// updateEndpoint writes e's settings, when prev is set only while the
// stored updated_at equals *prev.
func (s *Store) updateEndpoint(ctx context.Context, e *webhook.Endpoint, prev *time.Time) error {
	types, err := sqlbase.ToJSON(e.EventTypes)
	if err != nil {
		return err
	}
	q := `UPDATE ssokit_webhook_endpoints SET url = $2, description = $3, event_types = $4,
timeout_ms = $5, max_response_bytes = $6, batch_size = $7, secret_sealed = $8, old_secret_sealed = $9,
old_secret_expires_at = $10, updated_at = $11 WHERE id = $1`
	args := []any{e.ID, e.URL, e.Description, types, e.Timeout.Milliseconds(), e.MaxResponseBytes, e.BatchSize,
		e.SecretSealed, e.OldSecretSealed, sqlbase.TS(e.OldSecretExpiresAt), sqlbase.TS(e.UpdatedAt)}
	if prev != nil {
		q += ` AND updated_at = $12`
		args = append(args, sqlbase.TS(*prev))
	}
	err = s.write(ctx, func(q2 sqlbase.Querier) error {
		res, err := q2.ExecContext(ctx, q, args...)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		return mustAffect(res, "webhook endpoint")
	})
	if prev != nil && errors.Is(err, sso.ErrNotFound) {
		// No row matched: the endpoint is gone, or it changed.
		if _, gerr := s.GetEndpoint(ctx, e.ID); gerr == nil {
			return webhook.EndpointChanged(e.ID)
		}
	}
	return err
}

// DeleteEndpoint implements webhook.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ssokit_webhook_endpoints WHERE id = $1`, id)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if err := mustAffect(res, "webhook endpoint"); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM ssokit_webhook_attempts WHERE delivery_id IN (SELECT id FROM ssokit_webhook_deliveries WHERE endpoint_id = $1)`,
			`DELETE FROM ssokit_webhook_deliveries WHERE endpoint_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return sqlbase.Wrap(err)
			}
		}
		return sqlbase.InsertEvents(ctx, tx, s.events)
	})
}

// SetEnabled implements webhook.Store in one transaction (with the
// events of a view WithEvents returned only when it changed the endpoint).
func (s *Store) SetEnabled(ctx context.Context, id string, enabled bool, reason string, now time.Time) (bool, error) {
	changed := false
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		changed = false
		q := `UPDATE ssokit_webhook_endpoints SET enabled = $2, disabled_reason = $3, disabled_at = $4 WHERE id = $1 AND enabled <> $2`
		from, to, at := webhook.StatusPending, webhook.StatusPaused, sqlbase.TS(now)
		if enabled {
			q = `UPDATE ssokit_webhook_endpoints SET enabled = $2, disabled_reason = $3, disabled_at = $4,
failures = 0, failing_since = 0, lease_owner = '', lease_until = 0 WHERE id = $1 AND enabled <> $2`
			from, to, reason, at = to, from, "", 0
		}
		res, err := tx.ExecContext(ctx, q, id, enabled, reason, at)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return sqlbase.Wrap(err)
			}
			var one int
			return sqlbase.Wrap(tx.QueryRowContext(ctx, `SELECT 1 FROM ssokit_webhook_endpoints WHERE id = $1`, id).Scan(&one))
		}
		changed = true
		if _, err = tx.ExecContext(ctx, `UPDATE ssokit_webhook_deliveries SET status = $3, next_attempt_at = $4, lease = ''
WHERE endpoint_id = $1 AND status = $2`, id, string(from), string(to), sqlbase.TS(now)); err != nil {
			return sqlbase.Wrap(err)
		}
		return sqlbase.InsertEvents(ctx, tx, s.events)
	})
	return changed, err
}

// mustAffect turns an update that touched no row into ErrNotFound naming
// what.
func mustAffect(res sql.Result, what string) error {
	if err := sqlbase.MustAffect(res); err != nil {
		if err == sso.ErrNotFound {
			return fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		return sqlbase.Wrap(err)
	}
	return nil
}

// newLease returns a claim token.
func newLease() string { return opaque.NewID("") }
