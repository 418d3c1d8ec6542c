package sqlmfa_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the host picks the driver

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
)

// The MFA store lives in the database of a sqlstore.Store, whose Migrate
// creates its tables. It keeps recovery codes as the hashes the mfa.Manager
// gives it; each is used once.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "ssokit")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "ssokit.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	st, err := sqlstore.New(db, sqlstore.SQLite) // also the mfa.Config.Users, Orgs, Members and Events
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	factors := sqlmfa.New(st)
	now := time.Now()
	_ = factors.ReplaceRecoveryCodes(ctx, "usr_1", []string{"hash-a", "hash-b"}, now)
	fmt.Println(factors.UseRecoveryCode(ctx, "usr_1", "hash-a", now))
	fmt.Println("used twice:", errors.Is(factors.UseRecoveryCode(ctx, "usr_1", "hash-a", now), sso.ErrNotFound))
	n, _ := factors.CountRecoveryCodes(ctx, "usr_1")
	fmt.Println(n, "left")
	// Output:
	// <nil>
	// used twice: true
	// 1 left
}
