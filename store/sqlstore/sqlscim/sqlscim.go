// Package sqlscim implements scim.Store and scim.RateStore on the database
// of a sqlstore.Store, so that only hosts that serve SCIM link the SCIM
// packages.
//
//	h, err := scim.New(scim.Config{Store: sqlscim.New(st), Core: st, ...})
//
// A SCIM user is written with its core user and membership in one
// transaction on the shared database. List filters become parameterised SQL
// on indexed, lower-cased columns (see UserFilterSQL): no part of a filter
// reaches the SQL text. Store is a scim.Seeker: pages are read by key.
package sqlscim

import (
	"context"
	"database/sql"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var (
	_ scim.Store     = (*Store)(nil)
	_ scim.Seeker    = (*Store)(nil)
	_ scim.RateStore = (*Store)(nil)
)

// Store is the SCIM store on a sqlstore.Store's database. It is safe for
// concurrent use.
type Store struct {
	db      *sql.DB
	dialect sqlstore.Dialect
}

// New returns the SCIM store on st's database. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	return &Store{db: sqlbase.Of(st).DB, dialect: st.Dialect()}
}

// IncrementSCIMRate implements scim.RateStore with one atomic upsert.
func (s *Store) IncrementSCIMRate(ctx context.Context, key string, window time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO ssokit_scim_rate (rate_key, window_start, n) VALUES ($1, $2, 1)
		ON CONFLICT (rate_key) DO UPDATE SET
			n = CASE WHEN ssokit_scim_rate.window_start = excluded.window_start THEN ssokit_scim_rate.n + 1
				WHEN ssokit_scim_rate.window_start < excluded.window_start THEN 1
				ELSE ssokit_scim_rate.n END,
			window_start = CASE WHEN ssokit_scim_rate.window_start < excluded.window_start THEN excluded.window_start
				ELSE ssokit_scim_rate.window_start END
		RETURNING n`, key, sqlbase.TS(window)).Scan(&n)
	if err != nil {
		return 0, sqlbase.Wrap(err)
	}
	return n, nil
}
