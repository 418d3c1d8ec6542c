package migrate_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/migrate"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
	"github.com/ssokit/ssokit/store/sqlstore"
)

var testNow = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// idpMetadata returns SAML IdP metadata for entityID with a fresh
// self-signed signing certificate.
func idpMetadata(t testing.TB, entityID string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: entityID},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.AddDate(2, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + entityID + `">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(der) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`
}

type nopCompleter struct{}

func (nopCompleter) Complete(http.ResponseWriter, *http.Request, *sso.Login) error { return nil }
func (nopCompleter) Fail(*http.Request, *sso.LoginFailure)                         {}

// env is an importer on one store with a SAML configurer.
type env struct {
	im    *migrate.Importer
	store coreStore
	sp    *saml.SP
}

type coreStore interface {
	migrate.Store
	CreateOrg(ctx context.Context, o *sso.Organization) error
	UpdateOrg(ctx context.Context, o *sso.Organization) error
}

func newEnv(t *testing.T, st coreStore) *env {
	t.Helper()
	base, _ := url.Parse("https://app.example.com/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(memstore.New()), Completer: nopCompleter{},
		Now: func() time.Time { return testNow }, OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil },
		ExtraACSURLs: []string{"https://app.example.com/legacy/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"org_a", "org_b"} {
		if err := st.CreateOrg(context.Background(), &sso.Organization{ID: o, Slug: strings.ReplaceAll(o, "_", "-"), Name: o, CreatedAt: testNow, UpdatedAt: testNow}); err != nil {
			t.Fatal(err)
		}
	}
	return &env{store: st, sp: sp, im: &migrate.Importer{Store: st, Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: sp},
		Now: func() time.Time { return testNow }}}
}

// stores runs fn on memstore, SQLite and PostgreSQL.
func stores(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("memstore", func(t *testing.T) { fn(t, newEnv(t, memstore.New())) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlstore.New(testdb.SQLite(t), sqlstore.SQLite)
		if err == nil {
			err = st.Migrate(context.Background())
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(t, newEnv(t, st))
	})
	t.Run("postgres", func(t *testing.T) {
		db := testdb.Postgres(t)
		db.SetMaxOpenConns(2)
		st, err := sqlstore.New(db, sqlstore.Postgres)
		if err == nil {
			err = st.Migrate(context.Background())
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(t, newEnv(t, st))
	})
}

func legacyRows(t *testing.T) []migrate.Row {
	return []migrate.Row{
		{Org: "org_a", Name: "Acme Okta", Protocol: saml.Protocol, IdPMetadataXML: idpMetadata(t, "https://okta.example.com/acme"),
			SPEntityID: "urn:legacy:acme", ACSURL: "https://app.example.com/legacy/acme/acs",
			Mapping: &migrate.Mapping{Email: "mail", Groups: "memberOf"}},
		{Org: "org_a", Name: "Acme Entra", Protocol: saml.Protocol, IdPMetadataXML: idpMetadata(t, "https://sts.example.com/acme"),
			SPEntityID: "urn:legacy:acme-entra", ACSURL: "https://app.example.com/sso/saml/old/acme-entra"},
	}
}

func TestImportIdempotent(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rows := legacyRows(t)
		dry, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a", DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if dry.Applied || dry.Counts[migrate.Create] != 2 {
			t.Fatalf("dry run: %+v", dry)
		}
		if got, _ := e.store.ListConnections(ctx, "org_a"); len(got) != 0 {
			t.Fatalf("dry run wrote %d connections", len(got))
		}
		if sp := dry.Items[0].SP; sp.EntityID != "urn:legacy:acme" || sp.ACSURL != "https://app.example.com/legacy/acme/acs" {
			t.Fatalf("planned SP side %+v", sp)
		}

		p, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if err != nil || !p.Applied || p.Counts[migrate.Create] != 2 {
			t.Fatalf("apply: %+v, %v", p, err)
		}
		conns, _ := e.store.ListConnections(ctx, "org_a")
		if len(conns) != 2 {
			t.Fatalf("%d connections, want 2", len(conns))
		}
		c, err := e.store.GetConnection(ctx, p.Items[0].ConnectionID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != sso.ConnectionDraft || c.DisplayName != "Acme Okta" || c.Mapping.Email != "mail" || c.Mapping.Groups != "memberOf" ||
			e.sp.SPEntityIDOf(c) != "urn:legacy:acme" || e.sp.ACSURLOf(c) != "https://app.example.com/legacy/acme/acs" {
			t.Fatalf("stored %+v (entity %s acs %s)", c, e.sp.SPEntityIDOf(c), e.sp.ACSURLOf(c))
		}

		// Again: nothing new.
		again, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if err != nil || again.Counts[migrate.Unchanged] != 2 {
			t.Fatalf("re-run: %+v, %v", again, err)
		}
		c2, _ := e.store.GetConnection(ctx, c.ID)
		if !c2.UpdatedAt.Equal(c.UpdatedAt) {
			t.Fatal("re-run rewrote an unchanged connection")
		}

		// An edited mapping is an update of that row only.
		rows[1].Mapping = &migrate.Mapping{Email: "upn"}
		up, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
		if err != nil || up.Counts[migrate.Update] != 1 || up.Counts[migrate.Unchanged] != 1 {
			t.Fatalf("mapping edit: %+v, %v", up, err)
		}
		if it := up.Items[1]; it.Action != migrate.Update || strings.Join(it.Changes, ",") != "attribute_mapping" {
			t.Fatalf("item %+v", it)
		}
	})
}

func TestImportInvalidRows(t *testing.T) {
	stores(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		md := idpMetadata(t, "https://idp.example.com/x")
		// An existing connection of org_b holding a legacy ACS URL and one
		// of org_a, to clash with.
		for _, r := range []migrate.Row{
			{Org: "org_b", ID: "conn_b1", Name: "B", Protocol: saml.Protocol, IdPMetadataXML: md, ACSURL: "https://app.example.com/legacy/b/acs"},
			{Org: "org_a", ID: "conn_a1", Name: "Twin", Protocol: saml.Protocol, IdPMetadataXML: md},
			{Org: "org_a", ID: "conn_a2", Name: "Twin", Protocol: saml.Protocol, IdPMetadataXML: md},
		} {
			if _, err := e.im.Run(ctx, []migrate.Row{r}, migrate.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		ok := migrate.Row{Org: "org_a", Name: "ok", Protocol: saml.Protocol, IdPMetadataXML: md}
		with := func(edit func(r *migrate.Row)) migrate.Row { r := ok; edit(&r); return r }
		cases := []struct {
			name          string
			row           migrate.Row
			field, reason string
		}{
			{"OtherOrg", with(func(r *migrate.Row) { r.Org = "org_b" }), "org", "other_org"},
			{"NoName", with(func(r *migrate.Row) { r.Name = " " }), "name", "required"},
			{"UnknownProtocol", with(func(r *migrate.Row) { r.Protocol = "ldap" }), "protocol", "unknown_protocol"},
			{"BadID", with(func(r *migrate.Row) { r.ID = "a/b" }), "id", "invalid_id"},
			{"IDOfOtherOrg", with(func(r *migrate.Row) { r.ID = "conn_b1" }), "id", "id_in_use"},
			{"AmbiguousName", with(func(r *migrate.Row) { r.Name = "Twin" }), "name", "ambiguous_name"},
			{"ConfigNotObject", with(func(r *migrate.Row) { r.Config = []byte(`[1]`) }), "config", "invalid_config"},
			{"DuplicateSetting", with(func(r *migrate.Row) { r.Config = []byte(`{"metadata_xml":"x"}`) }), "idp_metadata_xml", "duplicate_setting"},
			{"RedirectURIOnSAML", with(func(r *migrate.Row) { r.RedirectURI = "https://app.example.com/cb" }), "redirect_uri", "not_a_setting"},
			{"ACSNotHTTPS", with(func(r *migrate.Row) { r.ACSURL = "http://app.example.com/legacy/x" }), "acs_url", "invalid_acs_url"},
			{"ACSNotMounted", with(func(r *migrate.Row) { r.ACSURL = "https://app.example.com/other/x" }), "acs_url", "acs_url_not_mounted"},
			{"ACSInUse", with(func(r *migrate.Row) { r.ACSURL = "https://app.example.com/legacy/b/acs" }), "acs_url", "acs_url_in_use"},
			{"EntityIDBad", with(func(r *migrate.Row) { r.SPEntityID = "not a uri" }), "sp_entity_id", "invalid_sp_entity_id"},
			{"BadMetadata", with(func(r *migrate.Row) { r.IdPMetadataXML = "<x/>" }), "idp_metadata", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p, err := e.im.Run(ctx, []migrate.Row{tc.row}, migrate.Options{OrgID: "org_a"})
				if !errors.Is(err, migrate.ErrInvalidPlan) || !errors.Is(err, sso.ErrInvalidInput) {
					t.Fatalf("err %v, want ErrInvalidPlan", err)
				}
				it := p.Items[0]
				if it.Action != migrate.Invalid || len(it.Issues) == 0 || it.Issues[0].Field != tc.field ||
					(tc.reason != "" && it.Issues[0].Reason != tc.reason) || it.Issues[0].Message == "" {
					t.Fatalf("item %+v, want field %q reason %q", it, tc.field, tc.reason)
				}
			})
		}
		t.Run("UnknownOrgWithoutScope", func(t *testing.T) {
			p, _ := e.im.Run(ctx, []migrate.Row{with(func(r *migrate.Row) { r.Org = "org_zz" })}, migrate.Options{DryRun: true})
			if it := p.Items[0]; it.Action != migrate.Invalid || it.Issues[0].Reason != "unknown_org" {
				t.Fatalf("item %+v", it)
			}
		})
		t.Run("DuplicateInImport", func(t *testing.T) {
			a := with(func(r *migrate.Row) { r.Name = "one"; r.ACSURL = "https://app.example.com/legacy/same" })
			b := with(func(r *migrate.Row) { r.Name = "two"; r.ACSURL = "https://app.example.com/legacy/same" })
			p, err := e.im.Run(ctx, []migrate.Row{a, b}, migrate.Options{OrgID: "org_a"})
			if !errors.Is(err, migrate.ErrInvalidPlan) {
				t.Fatalf("err %v", err)
			}
			if p.Items[0].Action != migrate.Create || p.Items[1].Action != migrate.Invalid ||
				p.Items[1].Issues[0].Field != "acs_url" || p.Items[1].Issues[0].Reason != "duplicate_in_import" {
				t.Fatalf("items %+v", p.Items)
			}
		})
		// Nothing of the refused imports was written.
		conns, _ := e.store.ListConnections(ctx, "org_a")
		if len(conns) != 2 {
			t.Fatalf("org_a has %d connections, want the 2 set up", len(conns))
		}
	})
}

func TestParse(t *testing.T) {
	csvText := "org,name,protocol,sp_entity_id,acs_url,map_email,config\n" +
		`org_a,Acme,saml,urn:legacy:acme,https://app.example.com/legacy/acme,mail,"{""allow_rsa15_key_transport"":false}"` + "\n" +
		"org_a,Beta,saml,,,,\n"
	rows, err := migrate.ParseCSV(strings.NewReader(csvText))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Line != 2 || rows[0].SPEntityID != "urn:legacy:acme" || rows[0].Mapping.Email != "mail" ||
		string(rows[0].Config) != `{"allow_rsa15_key_transport":false}` || rows[1].Mapping != nil {
		t.Fatalf("rows %+v", rows)
	}
	if _, err := migrate.ParseCSV(strings.NewReader("org,colour\n")); !errors.Is(err, migrate.ErrFormat) || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown column: %v", err)
	}
	js := `{"connections":[{"org":"org_a","name":"Acme","protocol":"oidc","redirect_uri":"https://app.example.com/cb","config":{"issuer":"https://op.example.com"}}]}`
	rows, err = migrate.ParseJSON(strings.NewReader(js))
	if err != nil || len(rows) != 1 || rows[0].RedirectURI != "https://app.example.com/cb" || rows[0].Line != 1 {
		t.Fatalf("json rows %+v, %v", rows, err)
	}
	if _, err := migrate.ParseJSON(strings.NewReader(`[{"name":"x","colour":"red"}]`)); !errors.Is(err, migrate.ErrFormat) || !strings.Contains(err.Error(), "row 1") {
		t.Fatalf("unknown field: %v", err)
	}
}

// failingStore fails every CreateConnection after the first ok ones.
type failingStore struct {
	*memstore.Store
	ok int
}

func (f *failingStore) CreateConnection(ctx context.Context, c *sso.Connection) error {
	if f.ok == 0 {
		return errors.New("disk full")
	}
	f.ok--
	return f.Store.CreateConnection(ctx, c)
}

// TestImportPartialFailure: a store failure part way reports what was
// written, and running the import again completes it.
func TestImportPartialFailure(t *testing.T) {
	fs := &failingStore{Store: memstore.New(), ok: 1}
	e := newEnv(t, fs)
	ctx := context.Background()
	rows := legacyRows(t)
	p, err := e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
	if err == nil || p == nil || p.Applied || !p.Items[0].Written || p.Items[1].Written {
		t.Fatalf("partial: %+v, %v", p, err)
	}
	fs.ok = 10
	p, err = e.im.Run(ctx, rows, migrate.Options{OrgID: "org_a"})
	if err != nil || !p.Applied || p.Items[0].Action != migrate.Unchanged || p.Items[1].Action != migrate.Create {
		t.Fatalf("completion: %+v, %v", p, err)
	}
}
