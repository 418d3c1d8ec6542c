// Package testdb opens real databases for tests: a fresh SQLite file per
// test, and a fresh PostgreSQL schema per test when SSOKIT_TEST_POSTGRES is
// set. It is shared by the store tests and every package whose tests need a
// real database.
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	// The drivers under test.
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/ssokit/ssokit/internal/opaque"
	_ "modernc.org/sqlite"
)

// PostgresEnv is the environment variable holding the PostgreSQL DSN used by
// tests, e.g. "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".
const PostgresEnv = "SSOKIT_TEST_POSTGRES"

// RedisEnv is the environment variable holding the Redis address used by
// tests, e.g. "redis://127.0.0.1:6379/0".
const RedisEnv = "SSOKIT_TEST_REDIS"

// SQLite opens a new SQLite database in t.TempDir and closes it when the
// test ends.
func SQLite(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ssokit.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)")
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresDSN returns the DSN from SSOKIT_TEST_POSTGRES, skipping the test
// with a clear message when it is unset.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("%s is not set; skipping PostgreSQL test (e.g. %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresEnv, PostgresEnv)
	}
	return dsn
}

// Postgres creates a fresh schema in the database named by
// SSOKIT_TEST_POSTGRES, returns a *sql.DB whose connections use it, and drops
// the schema when the test ends. It skips the test when the variable is
// unset.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	db, _ := PostgresSchema(t)
	return db
}

// PostgresSchema is Postgres that also returns a DSN for the new schema, for
// tests that start other processes on the same database.
func PostgresSchema(t testing.TB) (*sql.DB, string) {
	t.Helper()
	dsn := PostgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	defer admin.Close()
	schema := "t_" + strings.ToLower(opaque.NewID(""))[:20]
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	sdsn := WithSearchPath(dsn, schema)
	db, err := sql.Open("pgx", sdsn)
	if err != nil {
		t.Fatalf("open postgres schema: %v", err)
	}
	t.Cleanup(func() {
		db.Close()
		admin, err := sql.Open("pgx", dsn)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	return db, sdsn
}

// WithSearchPath returns dsn (URL or key=value form) with search_path set to
// schema.
func WithSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "search_path=" + schema
	}
	return fmt.Sprintf("%s search_path=%s", dsn, schema)
}
