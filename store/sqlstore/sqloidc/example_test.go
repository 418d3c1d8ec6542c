package sqloidc_test

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
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
)

// The OIDC store lives in the database of a sqlstore.Store, whose Migrate
// creates its tables. A back-channel logout token's key is used once, on
// every replica.
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
	st, err := sqlstore.New(db, sqlstore.SQLite) // also the oidc.Config.Connections of the RP
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	flows := sqloidc.New(st)
	exp := time.Now().Add(time.Hour)
	fmt.Println(flows.UseOnce(ctx, "jti-1", exp))
	fmt.Println("replayed:", errors.Is(flows.UseOnce(ctx, "jti-1", exp), sso.ErrConflict))
	// Output:
	// <nil>
	// replayed: true
}
