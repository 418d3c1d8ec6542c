package sqlinvite_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso/invite/invitetest"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlinvite"
)

func open(t *testing.T, db *sql.DB, d sqlstore.Dialect) invitetest.Stores {
	t.Helper()
	st, err := sqlstore.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return invitetest.Stores{Store: sqlinvite.New(st), Users: st, Events: st}
}

func TestConformanceSQLite(t *testing.T) {
	invitetest.Run(t, func(t *testing.T) invitetest.Stores { return open(t, testdb.SQLite(t), sqlstore.SQLite) })
}

func TestConformancePostgres(t *testing.T) {
	testdb.PostgresDSN(t)
	invitetest.Run(t, func(t *testing.T) invitetest.Stores {
		db := testdb.Postgres(t)
		db.SetMaxOpenConns(4) // the server allows 100 connections in all
		return open(t, db, sqlstore.Postgres)
	})
}
