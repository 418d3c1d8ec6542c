package saml_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// withSQLSAML keeps the harness's SAML state (requests, replay cache) in a
// migrated sqlstore of dialect d, on the harness clock: SQLite in a
// temporary file, PostgreSQL in a fresh schema (the test skips without
// SSOKIT_TEST_POSTGRES).
func withSQLSAML(t testing.TB, d sqlstore.Dialect) harnessOpt {
	var db *sql.DB
	if d == sqlstore.Postgres {
		db = testdb.Postgres(t)
	} else {
		db = testdb.SQLite(t)
	}
	return func(c *saml.Config) {
		st, err := sqlstore.New(db, d, sqlstore.WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		c.Store = sqlsaml.New(st)
	}
}
