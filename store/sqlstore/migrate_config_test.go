package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// configMigration is the version of migrations/0100_protocol_config.sql,
// which moves each connection's protocol configuration from a column per
// protocol into one versioned document.
const configMigration = 100

// TestMigrateProtocolConfig loads a database in the schema of the previous
// release (a column per protocol, features as a struct) with a SAML and an
// OIDC connection configured against a real IdP, migrates it in place, and
// signs in through both connections.
func TestMigrateProtocolConfig(t *testing.T) {
	t.Parallel()
	fresh := map[string]func(t *testing.T) (*sql.DB, sqlstore.Dialect){
		"sqlite": func(t *testing.T) (*sql.DB, sqlstore.Dialect) { return testdb.SQLite(t), sqlstore.SQLite },
		"postgres": func(t *testing.T) (*sql.DB, sqlstore.Dialect) {
			db, _ := testdb.PostgresSchema(t) // skips when SSOKIT_TEST_POSTGRES is unset
			return db, sqlstore.Postgres
		},
	}
	for name, mk := range fresh {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db, d := mk(t)
			s, err := sqlstore.New(db, d)
			if err != nil {
				t.Fatal(err)
			}
			testMigrateProtocolConfig(t, db, s)
		})
	}
}

func testMigrateProtocolConfig(t *testing.T, db *sql.DB, s *sqlstore.Store) {
	ctx := t.Context()
	if err := s.MigrateTo(ctx, configMigration-1); err != nil {
		t.Fatalf("migrate to %d: %v", configMigration-1, err)
	}
	idp := ssotest.NewServerWith(t, ssotest.Config{AutoLogin: "alice@example.com",
		Users: []ssotest.User{{Email: "alice@example.com", GivenName: "Alice", FamilyName: "Liddell"}}})
	h := newMigrationHarness(t, s)

	// Configure both connections as the previous release did, and write
	// them the way it stored them.
	now := time.Now().UTC().Truncate(time.Microsecond)
	sc := &sso.Connection{ID: "conn_saml", OrgID: "org_m", Protocol: saml.Protocol, Status: sso.ConnectionActive}
	if _, err := h.sp.Configure(ctx, sc, &saml.ConnectionInput{MetadataURL: idp.SAMLMetadataURL()}); err != nil {
		t.Fatal(err)
	}
	oc := &sso.Connection{ID: "conn_oidc", OrgID: "org_m", Protocol: oidc.Protocol, Status: sso.ConnectionActive}
	const secret = "migration-client-secret-value"
	if _, err := h.rp.Configure(ctx, oc, &oidc.ConnectionInput{Issuer: idp.Issuer(), ClientID: "mig-client", ClientSecret: secret}); err != nil {
		t.Fatal(err)
	}
	seedOldSchema(t, db, now, sc, oc)

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	org, err := s.GetOrg(ctx, "org_m")
	if err != nil {
		t.Fatal(err)
	}
	if want := (sso.Features{"enforce_sso", "oidc", "saml"}); !slices.Equal(org.Settings.Features, want) {
		t.Fatalf("migrated features = %v, want %v", org.Settings.Features, want)
	}
	for _, want := range []*sso.Connection{sc, oc} {
		got, err := s.GetConnection(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got.Config)
		wj, _ := json.Marshal(want.Config)
		if got.Config == nil {
			t.Fatalf("%s lost its configuration in the migration", want.ID)
		}
		if string(gj) != string(wj) || got.Config.Version() != 1 || got.Issuer() != want.Issuer() {
			t.Fatalf("%s after migration:\ngot  %s (v%d)\nwant %s", want.ID, gj, got.Config.Version(), wj)
		}
	}

	// Both connections still sign people in.
	md, _ := h.sp.Metadata(sc)
	if err := idp.RegisterSPMetadata(md); err != nil {
		t.Fatal(err)
	}
	if err := idp.RegisterClient(ssotest.Client{ID: "mig-client", Secret: secret, RedirectURIs: []string{h.rp.RedirectURI(oc.ID)}}); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{h.srv.URL + "/sso/saml/login/" + sc.ID, h.rp.LoginURL(oc.ID)} {
		res, err := ssotest.NewBrowser().Login(context.Background(), start)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || string(body) != "ok" {
			t.Fatalf("login through %s after migration: %d %s", start, res.StatusCode, body)
		}
	}
	if n := h.iss.Count(); n != 2 {
		t.Fatalf("%d sessions issued, want 2", n)
	}
}

// seedOldSchema writes an organization whose features are the old struct,
// its verified domain, and the two connections in the old columns.
func seedOldSchema(t *testing.T, db *sql.DB, now time.Time, sc, oc *sso.Connection) {
	t.Helper()
	settings := map[string]any{"AllowJIT": true,
		"Features": map[string]bool{"SAML": true, "OIDC": true, "SCIM": false, "EnforceSSO": true, "EnforceMFA": false}}
	sj, _ := json.Marshal(settings)
	mapping, _ := json.Marshal(sso.AttributeMapping{})
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO ssokit_orgs (id, slug, name, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			[]any{"org_m", "mig", "Migrated", string(sj), now.UnixMicro()}},
		{`INSERT INTO ssokit_domains (org_id, name, token, state, verified_at, last_checked_at, consecutive_failures, failing_since, created_at)
			VALUES ($1, $2, $3, $4, $5, $5, 0, 0, $5)`, []any{"org_m", "example.com", "tok", "verified", now.UnixMicro()}},
	}
	for _, c := range []*sso.Connection{sc, oc} {
		cfg, _ := json.Marshal(c.Config)
		samlDoc, oidcDoc := string(cfg), "null"
		if c.Protocol == oidc.Protocol {
			samlDoc, oidcDoc = "null", string(cfg)
		}
		stmts = append(stmts, struct {
			q    string
			args []any
		}{`INSERT INTO ssokit_connections (id, org_id, protocol, status, display_name, saml, oidc, mapping, group_roles,
			last_test, last_test_ok, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'null', 'null', $9, $9, $9)`,
			[]any{c.ID, c.OrgID, string(c.Protocol), string(c.Status), c.ID, samlDoc, oidcDoc, string(mapping), now.UnixMicro()}})
	}
	for _, st := range stmts {
		if _, err := db.ExecContext(t.Context(), st.q, st.args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, st.q)
		}
	}
}

type migrationHarness struct {
	srv *httptest.Server
	sp  *saml.SP
	rp  *oidc.RP
	iss *ssoenv.FakeIssuer
}

func newMigrationHarness(t *testing.T, s *sqlstore.Store) *migrationHarness {
	h := &migrationHarness{iss: &ssoenv.FakeIssuer{}}
	aud, err := audit.New(audit.Config{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	comp, err := login.New(login.Config{Store: s, Sessions: h.iss, Auditor: aud, DefaultReturnTo: "/app"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	mux.HandleFunc("/app", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	spBase, _ := url.Parse(h.srv.URL + "/sso/saml")
	if h.sp, err = saml.New(saml.Config{BaseURL: spBase, Connections: s, Store: sqlsaml.New(s), Events: s, Completer: comp,
		AllowInsecureURLs: true, AllowPrivateAddresses: true}); err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", h.sp))
	sealer, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	rpBase, _ := url.Parse(h.srv.URL + "/sso/oidc/")
	if h.rp, err = oidc.New(oidc.Config{BaseURL: rpBase, Completer: comp, Store: sqloidc.New(s), Connections: s, Sealer: sealer,
		AllowInsecureURLs: true, AllowPrivateAddresses: true}); err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", h.rp))
	return h
}
