package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"

	_ "modernc.org/sqlite" // the host picks the driver
)

// ExampleNew opens an SQLite file, applies the schema and stores an
// organization with a verified domain.
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

	if err := st.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme"}); err != nil {
		log.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: "org_1", Name: "acme.com", State: sso.DomainVerified}); err != nil {
		log.Fatal(err)
	}
	// A second organization cannot hold the same verified domain.
	err = st.CreateDomain(ctx, &sso.Domain{OrgID: "org_2", Name: "acme.com", State: sso.DomainVerified})
	fmt.Println("second holder refused:", errors.Is(err, sso.ErrConflict))

	d, err := st.FindVerifiedDomain(ctx, "acme.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("acme.com routes to", d.OrgID)
	// Output:
	// second holder refused: true
	// acme.com routes to org_1
}
