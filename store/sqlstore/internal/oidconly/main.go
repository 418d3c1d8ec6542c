// Command oidconly is the smallest host of one capability: OIDC sign-in
// with server-side sessions on PostgreSQL, wired by hand from sqlstore and
// sqloidc. It exists to be built: TestOIDCOnlyHostLinksNoOtherProtocol
// (store/sqlstore/deps_test.go) reads its import graph and fails when it
// links a SAML, SCIM or MFA library.
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

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
)

func main() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	must(err)
	st, err := sqlstore.New(db, sqlstore.Postgres)
	must(err)
	must(st.Migrate(ctx))
	key, _ := base64.StdEncoding.DecodeString(os.Getenv("SEAL_KEY"))
	sealer, err := keyring.New("k1", map[string][]byte{"k1": key})
	must(err)

	sessions, err := session.New(session.Config{Store: st, Events: st, Orgs: st, Memberships: st})
	must(err)
	auditor, err := audit.New(audit.Config{Store: st})
	must(err)
	completer, err := login.New(login.Config{Store: st, Sessions: sessions, Auditor: auditor})
	must(err)
	base, _ := url.Parse("https://app.example.com/sso/oidc/")
	rp, err := oidc.New(oidc.Config{
		BaseURL: base, Store: sqloidc.New(st), Connections: st, Completer: completer, Sessions: sessions, Sealer: sealer,
	})
	must(err)

	mux := http.NewServeMux()
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))
	mux.Handle("/app/", sessions.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		w.Write([]byte("hello " + p.UserID))
	})))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Load(mux)))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
