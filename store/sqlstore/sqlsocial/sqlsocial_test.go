package sqlsocial_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso/social/socialtest"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsocial"
)

func open(t *testing.T, db *sql.DB, d sqlstore.Dialect) socialtest.Stores {
	t.Helper()
	st, err := sqlstore.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return socialtest.Stores{Social: sqlsocial.New(st), Users: st}
}

func TestConformanceSQLite(t *testing.T) {
	socialtest.Run(t, func(t *testing.T) socialtest.Stores { return open(t, testdb.SQLite(t), sqlstore.SQLite) })
}

func TestConformancePostgres(t *testing.T) {
	testdb.PostgresDSN(t)
	socialtest.Run(t, func(t *testing.T) socialtest.Stores { return open(t, testdb.Postgres(t), sqlstore.Postgres) })
}
