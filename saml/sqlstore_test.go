package saml_test

import (
	"testing"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// withSQLSAML keeps the harness's SAML state (requests, replay cache) in a
// migrated sqlstore of dialect d, on the harness clock: SQLite in a
// temporary file, PostgreSQL in a fresh schema (the test skips without
// SSOKIT_TEST_POSTGRES).
func withSQLSAML(t testing.TB, d sqlstore.Dialect) harnessOpt {
	return func(c *saml.Config) { c.Store = sqlsaml.New(teststore.SQL(t, d, c.Now)) }
}
