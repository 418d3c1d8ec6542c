package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/store/sqlstore"
)

// sqliteTemplate is an SQLite file migrated once per test binary. Each
// conformance case gets a copy of it, which is much cheaper than migrating a
// new file per case (notably under the race detector).
var sqliteTemplate struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func migratedSQLiteTemplate() (string, error) {
	t := &sqliteTemplate
	t.once.Do(func() {
		if t.dir, t.err = os.MkdirTemp("", "ssokit-sqlstore-test"); t.err != nil {
			return
		}
		t.path = filepath.Join(t.dir, "template.db")
		db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(t.path))
		if err != nil {
			t.err = err
			return
		}
		// Closing the last connection checkpoints the WAL into the file.
		defer db.Close()
		s, err := sqlstore.New(db, sqlstore.SQLite)
		if err == nil {
			err = s.Migrate(context.Background())
		}
		if err == nil {
			_, err = db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		}
		t.err = err
	})
	return t.path, t.err
}

// newSQLiteCopy returns a store on a fresh copy of the migrated template.
func newSQLiteCopy(t *testing.T) *sqlstore.Store {
	t.Helper()
	tmpl, err := migratedSQLiteTemplate()
	if err != nil {
		t.Fatalf("sqlite template: %v", err)
	}
	b, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ssokit.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func removeSQLiteTemplate() {
	if sqliteTemplate.dir != "" {
		os.RemoveAll(sqliteTemplate.dir)
	}
}
