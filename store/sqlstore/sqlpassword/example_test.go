package sqlpassword_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpassword"
)

// The throttle counter of a key counts failures across every replica
// sharing the database.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "sqlpassword")
	defer os.RemoveAll(dir)
	db, _ := sql.Open("sqlite", "file:"+filepath.Join(dir, "ssokit.db")+"?_pragma=busy_timeout(5000)")
	defer db.Close()
	st, _ := sqlstore.New(db, sqlstore.SQLite)
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		panic(err)
	}
	pw := sqlpassword.New(st)
	now := time.Now()
	for range 3 {
		_, _ = pw.RecordFailure(ctx, "account-key", now, now.Add(-24*time.Hour))
	}
	n, _, _ := pw.Failures(ctx, "account-key")
	fmt.Println(n, "failures")
	// Output: 3 failures
}
