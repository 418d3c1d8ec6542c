package sqlnotify_test

import (
	"context"
	"database/sql"
	"log"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlnotify"
)

// Every replica builds the same bus on the shared database and runs its
// Manager's Run, which listens and reconnects.
func ExampleNew() {
	const dsn = "postgres://app@db.internal:5432/app?sslmode=verify-full"
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		log.Fatal(err)
	}
	st, err := sqlstore.New(db, sqlstore.Postgres)
	if err != nil {
		log.Fatal(err)
	}
	bus, err := sqlnotify.New(sqlnotify.Config{DB: db, DSN: dsn})
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Store: st, Tokens: st, Revocations: st, Events: st, Orgs: st, Memberships: st,
		RevocationBus: bus,
		// SigningKeys, Issuer, ...
	})
	if err != nil {
		log.Fatal(err)
	}
	go m.Run(context.Background())
}
