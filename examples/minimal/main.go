// Command minimal is the glue a host writes to add SAML, OIDC, SCIM and
// server-side sessions to its own router and PostgreSQL database. It is the
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

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

func main() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
	must(err)
	st, err := sqlstore.New(db, sqlstore.Postgres)
	must(err)
	must(st.Migrate(ctx))
	key, _ := base64.StdEncoding.DecodeString(os.Getenv("SEAL_KEY"))
	sealer, err := sso.NewKeyring("k1", map[string][]byte{"k1": key})
	must(err)
	base, _ := url.Parse("https://app.example.com")

	sessions, err := session.New(session.Config{Store: st, Events: st, Orgs: st})
	must(err)
	auditor, err := sso.NewAuditor(sso.AuditorConfig{Store: st})
	must(err)
	completer, err := sso.NewCompleter(sso.CompleterConfig{Store: st, Sessions: sessions, Auditor: auditor})
	must(err)
	sp, err := saml.New(saml.Config{BaseURL: base.JoinPath("/sso/saml"), Connections: st, Store: st, Completer: completer,
		Sessions: sessions})
	must(err)
	rp, err := oidc.New(oidc.Config{BaseURL: base.JoinPath("/sso/oidc/"), Connections: st, Store: st, Completer: completer, Sealer: sealer,
		Sessions: sessions})
	must(err)
	discovery, err := sso.NewDiscovery(sso.DiscoveryConfig{Store: st, BaseURL: base.JoinPath("/sso"), LocalLoginURL: "/password-login",
		Starters: map[sso.Protocol]sso.Starter{sso.ProtocolSAML: sp, sso.ProtocolOIDC: rp}})
	must(err)
	directory, err := scim.New(scim.Config{Store: st, Core: st, Revoker: sessions, BaseURL: base.JoinPath("/scim/v2")})
	must(err)

	mux := http.NewServeMux()
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))
	mux.Handle("/sso/", http.StripPrefix("/sso", discovery))
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", directory))
	mux.Handle("/app/", sessions.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		w.Write([]byte("hello " + p.UserID + " of " + p.OrgID))
	})))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Load(mux)))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
