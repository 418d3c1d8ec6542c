package sqlportal_test

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
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlportal"
)

// The portal store lives in the database of a sqlstore.Store, whose
// Migrate creates its tables; it is what portal.Config.Store (or
// stack.PortalConfig.Store) takes. A setup link starts one session only,
// whichever replica it is opened on.
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
	st, err := sqlstore.New(db, sqlstore.SQLite)
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	ps := sqlportal.New(st)

	now := time.Now()
	link := &portal.SetupLink{ID: "psl_1", OrgID: "org_1", Hash: "hash-of-the-token", Sections: []portal.Section{portal.SectionSSO},
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
	if err := ps.CreateLink(ctx, link); err != nil {
		log.Fatal(err)
	}
	if _, err := ps.UseLink(ctx, "hash-of-the-token", now); err != nil {
		log.Fatal(err)
	}
	_, err = ps.UseLink(ctx, "hash-of-the-token", now)
	fmt.Println("second use refused:", errors.Is(err, sso.ErrConflict))
	// Output: second use refused: true
}
