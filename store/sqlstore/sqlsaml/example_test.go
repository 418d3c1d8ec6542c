package sqlsaml_test

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

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// The SAML store lives in the database of a sqlstore.Store, whose Migrate
// creates its tables. A request saved by one replica is taken, once, by
// another.
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
	st, err := sqlstore.New(db, sqlstore.SQLite) // also the saml.Config.Connections of the SP
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	replica1, replica2 := sqlsaml.New(st), sqlsaml.New(st)
	_ = replica1.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_req1", ConnectionID: "conn_1",
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(5 * time.Minute)})
	r, err := replica2.TakeAuthnRequest(ctx, "_req1")
	fmt.Println(r.ConnectionID, err)
	_, err = replica1.TakeAuthnRequest(ctx, "_req1")
	fmt.Println("taken twice:", errors.Is(err, sso.ErrNotFound))
	// Output:
	// conn_1 <nil>
	// taken twice: true
}
