// Package sqlsaml implements saml.Store (pending AuthnRequests, the
// assertion replay cache and cached IdP metadata) on the database of a
// sqlstore.Store, so that only hosts that use SAML link the SAML stack.
//
//	sp, err := saml.New(saml.Config{Store: sqlsaml.New(st), Connections: st, ...})
//
// A request is taken with one DELETE ... RETURNING and an assertion ID is
// marked used with one upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE
// the stored record has expired), so of concurrent callers exactly one
// wins, also across replicas, and a login costs one statement for each.
//
// # Expired records
//
// Expired requests and replay records are deleted in bounded batches: by
// DeleteExpired, which a host may call on a schedule, and on every 128th
// save or mark through a Store, so that a store nobody sweeps stays small
// without a sweep on every login.
package sqlsaml

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ saml.Store = (*Store)(nil)

// Store is the SAML store on a sqlstore.Store's database. It is safe for
// concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// postgres selects the one-statement ConsumeLogin.
	postgres bool
	// writes counts saves and marks, to sweep on every sweepEvery-th.
	writes atomic.Uint64
}

// sweepEvery is how many request saves and assertion marks a Store makes
// between two sweeps of expired records, each deleting at most sweepBatch
// rows per table. A replica's share of the logins thus keeps the tables
// small (a sweep removes far more than sweepEvery writes add), at the cost
// of two bounded DELETEs on one write in sweepEvery.
const (
	sweepEvery = 128
	sweepBatch = 1000
)

// New returns the SAML store on st's database and clock. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	b := sqlbase.Of(st)
	return &Store{db: b.DB, now: b.Now, postgres: st.Dialect() == sqlstore.Postgres}
}

// SaveAuthnRequest implements saml.RequestStore with one INSERT (and, on
// every sweepEvery-th write of the Store, a bounded sweep of expired
// records).
func (s *Store) SaveAuthnRequest(ctx context.Context, r *saml.AuthnRequestState) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_saml_requests (id, connection_id, binding_hash, return_to, test, created_at, expires_at,
require_mfa, force_authn, max_age_seconds, step_up)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, r.ID, r.ConnectionID, r.BindingHash, r.ReturnTo, r.Test, sqlbase.TS(r.CreatedAt), sqlbase.TS(r.ExpiresAt),
		r.RequireMFA, r.ForceAuthn, int64(r.MaxAge/time.Second), sso.EncodeStepUp(r.StepUp))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	s.maybeSweep(ctx)
	return nil
}

// TakeAuthnRequest implements saml.RequestStore with a single
// DELETE ... RETURNING, so exactly one concurrent caller gets the row.
func (s *Store) TakeAuthnRequest(ctx context.Context, id string) (*saml.AuthnRequestState, error) {
	return s.takeRequest(ctx, s.db, id)
}

// ConsumeLogin implements saml.LoginConsumer: the request's DELETE and the
// replay upsert in one transaction, one commit.
//
// On PostgreSQL both are one statement (one round trip, one commit; see
// consumeOnce); on SQLite, whose statements cannot modify two tables,
// they are one transaction.
func (s *Store) ConsumeLogin(ctx context.Context, requestID, issuer, assertionID string, expiresAt time.Time) (*saml.AuthnRequestState, error) {
	if s.postgres {
		r, err := s.consumeOnce(ctx, requestID, issuer, assertionID, expiresAt)
		if err != nil {
			return nil, err
		}
		s.maybeSweep(ctx)
		return r, nil
	}
	var r *saml.AuthnRequestState
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var err error
		if r, err = s.takeRequest(ctx, tx, requestID); err != nil {
			return err
		}
		return s.markUsed(ctx, tx, issuer, assertionID, expiresAt)
	})
	if err != nil {
		return nil, err
	}
	s.maybeSweep(ctx)
	return r, nil
}

func (s *Store) takeRequest(ctx context.Context, q sqlbase.Querier, id string) (*saml.AuthnRequestState, error) {
	var r saml.AuthnRequestState
	var created, expires, maxAge int64
	var stepUp string
	err := q.QueryRowContext(ctx, `DELETE FROM ssokit_saml_requests WHERE id = $1
RETURNING id, connection_id, binding_hash, return_to, test, created_at, expires_at, require_mfa, force_authn, max_age_seconds, step_up`, id).
		Scan(&r.ID, &r.ConnectionID, &r.BindingHash, &r.ReturnTo, &r.Test, &created, &expires, &r.RequireMFA, &r.ForceAuthn, &maxAge, &stepUp)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	if r.StepUp, err = sso.DecodeStepUp(stepUp); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(expires)
	r.MaxAge = time.Duration(maxAge) * time.Second
	if !s.now().Before(r.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &r, nil
}

// PeekAuthnRequest implements saml.RequestPeeker with one indexed SELECT:
// the request is returned and stays outstanding.
func (s *Store) PeekAuthnRequest(ctx context.Context, id string) (*saml.AuthnRequestState, error) {
	var r saml.AuthnRequestState
	var created, expires, maxAge int64
	var stepUp string
	err := s.db.QueryRowContext(ctx, `SELECT id, connection_id, binding_hash, return_to, test, created_at, expires_at, require_mfa, force_authn, max_age_seconds, step_up
FROM ssokit_saml_requests WHERE id = $1`, id).
		Scan(&r.ID, &r.ConnectionID, &r.BindingHash, &r.ReturnTo, &r.Test, &created, &expires, &r.RequireMFA, &r.ForceAuthn, &maxAge, &stepUp)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	if r.StepUp, err = sso.DecodeStepUp(stepUp); err != nil {
		return nil, err
	}
	r.CreatedAt, r.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(expires)
	r.MaxAge = time.Duration(maxAge) * time.Second
	if !s.now().Before(r.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &r, nil
}

// MarkAssertionUsed implements saml.ReplayCache with one upsert: a new
// pair is inserted, a record that has expired is renewed, and a live record
// is left alone, which the affected row count reports (ErrConflict). Of
// concurrent callers with one pair exactly one changes a row.
func (s *Store) MarkAssertionUsed(ctx context.Context, issuer, assertionID string, expiresAt time.Time) error {
	if err := s.markUsed(ctx, s.db, issuer, assertionID, expiresAt); err != nil {
		return err
	}
	s.maybeSweep(ctx)
	return nil
}

// markUsed is MarkAssertionUsed's upsert through q.
func (s *Store) markUsed(ctx context.Context, q sqlbase.Querier, issuer, assertionID string, expiresAt time.Time) error {
	res, err := q.ExecContext(ctx, `INSERT INTO ssokit_saml_replay (issuer, assertion_id, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (issuer, assertion_id) DO UPDATE SET expires_at = excluded.expires_at
WHERE ssokit_saml_replay.expires_at <= $4`, issuer, assertionID, sqlbase.TS(expiresAt), sqlbase.TS(s.now()))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n == 0 {
		return fmt.Errorf("%w: sqlstore: assertion already used", sso.ErrConflict)
	}
	return nil
}

// maybeSweep runs DeleteExpired on every sweepEvery-th write. A failed
// sweep is ignored: the next one retries, and expired records are inert
// (TakeAuthnRequest checks expiry, MarkAssertionUsed renews them).
func (s *Store) maybeSweep(ctx context.Context) {
	if s.writes.Add(1)%sweepEvery == 0 {
		_, _ = s.DeleteExpired(ctx)
	}
}

// DeleteExpired deletes up to 1000 expired requests and as many expired
// replay records, and returns how many rows it deleted. A host may call it
// on a schedule; Store also calls it on every 128th write.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	now := s.now()
	return sqlbase.Sweep(ctx, s.db, sweepBatch,
		sqlbase.SweepStep{SQL: `DELETE FROM ssokit_saml_requests WHERE id IN (
			SELECT id FROM ssokit_saml_requests WHERE expires_at <= $1 LIMIT $2)`, Cutoff: now},
		sqlbase.SweepStep{SQL: `DELETE FROM ssokit_saml_replay WHERE (issuer, assertion_id) IN (
			SELECT issuer, assertion_id FROM ssokit_saml_replay WHERE expires_at <= $1 LIMIT $2)`, Cutoff: now})
}

// PutMetadata implements saml.MetadataCache.
func (s *Store) PutMetadata(ctx context.Context, m *saml.CachedMetadata) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_saml_metadata (connection_id, xml, fetched_at, expires_at, last_error, failures)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (connection_id) DO UPDATE SET xml = excluded.xml, fetched_at = excluded.fetched_at,
expires_at = excluded.expires_at, last_error = excluded.last_error, failures = excluded.failures`,
		m.ConnectionID, m.XML, sqlbase.TS(m.FetchedAt), sqlbase.TS(m.ExpiresAt), m.LastError, m.Failures)
	return sqlbase.Wrap(err)
}

// GetMetadata implements saml.MetadataCache.
func (s *Store) GetMetadata(ctx context.Context, connectionID string) (*saml.CachedMetadata, error) {
	var m saml.CachedMetadata
	var fetched, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT connection_id, xml, fetched_at, expires_at, last_error, failures
FROM ssokit_saml_metadata WHERE connection_id = $1`, connectionID).
		Scan(&m.ConnectionID, &m.XML, &fetched, &expires, &m.LastError, &m.Failures)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	m.FetchedAt, m.ExpiresAt = sqlbase.FromTS(fetched), sqlbase.FromTS(expires)
	return &m, nil
}
