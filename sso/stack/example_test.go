package stack_test

import (
	"context"
	"database/sql"
	"log"
	"net/http"
	"net/url"

	_ "modernc.org/sqlite"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

// The whole host glue for SAML, OIDC, SCIM, sessions, MFA and the admin API
// on an embedded SQLite database.
func ExampleNew() {
	ctx := context.Background()
	db, _ := sql.Open("sqlite", sqlstore.SQLiteDSN("app.db"))
	st, _ := sqlstore.New(db, sqlstore.SQLite)
	_ = st.Migrate(ctx)
	base, _ := url.Parse("https://app.example.com")
	key32 := make([]byte, 32) // from your secret manager

	kit, err := stack.New(ctx, stack.Config{
		Store:         st,
		SAMLStore:     sqlsaml.New(st),
		OIDCStore:     sqloidc.New(st),
		SCIMStore:     sqlscim.New(st),
		MFAStore:      sqlmfa.New(st),
		BaseURL:       base,
		SealKeyID:     "k1",
		SealKeys:      map[string][]byte{"k1": key32},
		LocalLoginURL: "/password-login",
		Authorize:     stack.AuthorizeRole("admin"),
		MFA:           &stack.MFAConfig{Issuer: "Example", EnrollmentURL: "/account/mfa", VerifyURL: "/account/mfa"},
	})
	if err != nil {
		log.Fatal(err)
	}
	go kit.Run(ctx)

	mux := http.NewServeMux()
	kit.Mount(mux)
	mux.Handle("/app/", kit.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		w.Write([]byte("hello " + p.UserID))
	})))
	_ = http.ListenAndServe("127.0.0.1:8080", kit.Middleware(mux))
}
