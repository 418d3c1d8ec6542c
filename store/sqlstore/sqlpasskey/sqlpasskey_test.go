package sqlpasskey_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/passkey/passkeytest"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpasskey"
)

func open(t *testing.T, db *sql.DB, d sqlstore.Dialect) passkey.Store {
	t.Helper()
	st, err := sqlstore.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sqlpasskey.New(st)
}

func TestConformanceSQLite(t *testing.T) {
	passkeytest.Run(t, func(t *testing.T) passkey.Store { return open(t, testdb.SQLite(t), sqlstore.SQLite) })
}

func TestConformancePostgres(t *testing.T) {
	testdb.PostgresDSN(t)
	passkeytest.Run(t, func(t *testing.T) passkey.Store { return open(t, testdb.Postgres(t), sqlstore.Postgres) })
}
