// Package sqlsaml implements saml.Store (pending AuthnRequests, the
// assertion replay cache and cached IdP metadata) on the database of a
// sqlstore.Store, so that only hosts that use SAML link the SAML stack.
//
//	sp, err := saml.New(saml.Config{Store: sqlsaml.New(st), Connections: st, ...})
//
// A request is taken with one DELETE ... RETURNING and an assertion ID is
// marked used with one INSERT ... ON CONFLICT DO NOTHING, so of concurrent
// callers exactly one wins, also across replicas.
package sqlsaml

import (
	"context"
	"database/sql"
	"fmt"
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
}

// New returns the SAML store on st's database and clock. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	b := sqlbase.Of(st)
	return &Store{db: b.DB, now: b.Now}
}

// SaveAuthnRequest implements saml.RequestStore. Expired requests are
// swept on the way.
func (s *Store) SaveAuthnRequest(ctx context.Context, r *saml.AuthnRequestState) error {
	now := sqlbase.TS(s.now())
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_saml_requests WHERE expires_at <= $1`, now); err != nil {
		return sqlbase.Wrap(err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_saml_requests (id, connection_id, binding_hash, return_to, test, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ID, r.ConnectionID, r.BindingHash, r.ReturnTo, r.Test, sqlbase.TS(r.CreatedAt), sqlbase.TS(r.ExpiresAt))
	return sqlbase.Wrap(err)
}

// TakeAuthnRequest implements saml.RequestStore with a single
// DELETE ... RETURNING, so exactly one concurrent caller gets the row.
func (s *Store) TakeAuthnRequest(ctx context.Context, id string) (*saml.AuthnRequestState, error) {
	var r saml.AuthnRequestState
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM ssokit_saml_requests WHERE id = $1
RETURNING id, connection_id, binding_hash, return_to, test, created_at, expires_at`, id).
		Scan(&r.ID, &r.ConnectionID, &r.BindingHash, &r.ReturnTo, &r.Test, &created, &expires)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	r.CreatedAt, r.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(expires)
	if !s.now().Before(r.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &r, nil
}

// MarkAssertionUsed implements saml.ReplayCache: an expired record is
// removed first, then INSERT ... ON CONFLICT DO NOTHING decides the single
// winner by the affected row count.
func (s *Store) MarkAssertionUsed(ctx context.Context, issuer, assertionID string, expiresAt time.Time) error {
	now := sqlbase.TS(s.now())
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_saml_replay WHERE issuer = $1 AND assertion_id = $2 AND expires_at <= $3`,
		issuer, assertionID, now); err != nil {
		return sqlbase.Wrap(err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_saml_replay (issuer, assertion_id, expires_at) VALUES ($1, $2, $3)
ON CONFLICT (issuer, assertion_id) DO NOTHING`, issuer, assertionID, sqlbase.TS(expiresAt))
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
	if sqlbase.TS(expiresAt)%64 == 0 {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM ssokit_saml_replay WHERE expires_at <= $1`, now)
	}
	return nil
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
