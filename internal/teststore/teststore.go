// Package teststore opens the store back-ends that tests of the sign-in
// packages run on: memstore, and sqlstore on SQLite or PostgreSQL,
// migrated, on the test's clock. It is for tests only.
package teststore

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// The back-ends, by the names tests give their subtests.
const (
	Memstore = "memstore"
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Backends are the back-ends in the order Each runs them.
var Backends = []string{Memstore, SQLite, Postgres}

// pgConns caps each PostgreSQL test's pool: the server allows 100
// connections in all, shared by the tests running in parallel.
const pgConns = 4

// Each runs f on every back-end in a parallel subtest named after it. The
// PostgreSQL subtest skips with a message when SSOKIT_TEST_POSTGRES is
// unset.
func Each(t *testing.T, f func(t *testing.T, backend string)) {
	for _, name := range Backends {
		t.Run(name, func(t *testing.T) {
			if name == Postgres {
				testdb.PostgresDSN(t)
			}
			t.Parallel()
			f(t, name)
		})
	}
}

// Open opens the back-end named on the clock now: a memstore (mem), or a
// migrated sqlstore (sql) on a SQLite file in t.TempDir or in a fresh
// PostgreSQL schema. Exactly one of the two is non-nil.
func Open(t testing.TB, backend string, now func() time.Time) (mem *memstore.Store, sql *sqlstore.Store) {
	t.Helper()
	switch backend {
	case Memstore:
		return memstore.New(memstore.WithClock(now)), nil
	case SQLite:
		return nil, SQL(t, sqlstore.SQLite, now)
	case Postgres:
		return nil, SQL(t, sqlstore.Postgres, now)
	}
	t.Fatalf("teststore: unknown back-end %q", backend)
	return nil, nil
}

// SQL opens a migrated sqlstore of dialect d on the clock now, its
// PostgreSQL pool capped at a few connections.
func SQL(t testing.TB, d sqlstore.Dialect, now func() time.Time) *sqlstore.Store {
	t.Helper()
	st, db := SQLWithDB(t, d, now)
	if d == sqlstore.Postgres {
		db.SetMaxOpenConns(pgConns)
	}
	return st
}

// SQLWithDB is SQL with the database handle (for triggers or raw writes)
// and no cap on the pool. A nil now means the store's default clock.
func SQLWithDB(t testing.TB, d sqlstore.Dialect, now func() time.Time) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := testdb.SQLite(t)
	if d == sqlstore.Postgres {
		db = testdb.Postgres(t)
	}
	var opts []sqlstore.Option
	if now != nil {
		opts = append(opts, sqlstore.WithClock(now))
	}
	st, err := sqlstore.New(db, d, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, db
}

// Available are the back-ends this run can open: Backends, without
// PostgreSQL (logged on t) when SSOKIT_TEST_POSTGRES is unset.
func Available(t testing.TB) []string {
	if os.Getenv(testdb.PostgresEnv) != "" {
		return Backends
	}
	t.Logf("%s not set: the PostgreSQL runs are skipped", testdb.PostgresEnv)
	return Backends[:2]
}
