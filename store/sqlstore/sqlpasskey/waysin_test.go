package sqlpasskey_test

import (
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpasskey"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpassword"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsocial"
	"github.com/ssokit/ssokit/store/storetest"
)

// waysIn returns the passkey, social and password stores of a fresh
// migrated database of dialect d.
func waysIn(t *testing.T, d sqlstore.Dialect) storetest.WaysIn {
	st := teststore.SQL(t, d, nil)
	return storetest.WaysIn{Passkeys: sqlpasskey.New(st), Social: sqlsocial.New(st), Passwords: sqlpassword.New(st)}
}

func TestWaysInSQLite(t *testing.T) {
	storetest.RunWaysIn(t, func(t *testing.T) storetest.WaysIn { return waysIn(t, sqlstore.SQLite) })
}

func TestWaysInPostgres(t *testing.T) {
	testdb.PostgresDSN(t)
	storetest.RunWaysIn(t, func(t *testing.T) storetest.WaysIn { return waysIn(t, sqlstore.Postgres) })
}
