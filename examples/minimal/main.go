// Command minimal is the glue a host writes to add SAML, OIDC, SCIM,
// server-side sessions, MFA and the admin API to its own router and
// PostgreSQL database, through the composition root sso/stack. It is the
// "use it in your app" example of the README, kept compiling here.
//
//	DATABASE_URL=postgres://... SEAL_KEY=<base64 32 bytes> go run ./examples/minimal
package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"log"
	"net/http"
	"net/url"
	"os"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

func main() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	must(err)
	st, err := sqlstore.New(db, sqlstore.Postgres)
	must(err)
	must(st.Migrate(ctx))
	key, _ := base64.StdEncoding.DecodeString(os.Getenv("SEAL_KEY"))
	base, _ := url.Parse("https://app.example.com")

	kit, err := stack.New(ctx, stack.Config{
		Store:         st, // the core and sessions; each protocol's state below
		SAMLStore:     sqlsaml.New(st),
		OIDCStore:     sqloidc.New(st),
		SCIMStore:     sqlscim.New(st),
		MFAStore:      sqlmfa.New(st),
		BaseURL:       base,
		SealKeyID:     "k1",
		SealKeys:      map[string][]byte{"k1": key}, // seals OIDC client secrets, TOTP seeds
		LocalLoginURL: "/password-login",            // where emails that do not route to SSO go
		Authorize:     stack.AuthorizeRole("admin"), // who may use the admin API
		MFA:           &stack.MFAConfig{Issuer: "Example", EnrollmentURL: "/account/mfa", VerifyURL: "/account/mfa"},
	})
	must(err)
	go kit.Run(ctx) // metadata refresh, domain re-checks, health checks, sweeps

	mux := http.NewServeMux()
	kit.Mount(mux) // /sso/saml/, /sso/oidc/, /sso/, /scim/v2/, /mfa/, /admin/sso/
	mux.Handle("/app/", kit.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		w.Write([]byte("hello " + p.UserID + " of " + p.OrgID))
	})))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", kit.Middleware(mux)))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
