package admin_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// importMetadata is SAML IdP metadata with a fresh signing certificate.
func importMetadata(t *testing.T, entityID string) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + entityID + `">` +
		`<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(der) +
		`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>` +
		`</md:IDPSSODescriptor></md:EntityDescriptor>`
}

// importFixture is the admin API with the real SAML configurer.
func importFixture(t *testing.T) *fixture {
	return newFixture(t, func(c *admin.Config) {
		base, _ := url.Parse("https://app.example.com/sso/saml")
		sp, err := saml.New(saml.Config{BaseURL: base, Connections: c.Store, Store: memsaml.New(c.Store.(*memstore.Store)),
			Completer: importCompleter{}, ExtraACSURLs: []string{"https://app.example.com/legacy/"},
			OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		c.Configurers[saml.Protocol] = sp
	})
}

// importCompleter completes nothing: the import test runs no login.
type importCompleter struct{}

func (importCompleter) Complete(http.ResponseWriter, *http.Request, *sso.Login) error { return nil }
func (importCompleter) Fail(*http.Request, *sso.LoginFailure)                         {}

func TestImportConnections(t *testing.T) {
	f := importFixture(t)
	rows := []map[string]any{
		{"name": "Acme Okta", "protocol": "saml", "idp_metadata_xml": importMetadata(t, "https://okta.example.com/acme"),
			"sp_entity_id": "urn:legacy:acme", "acs_url": "https://app.example.com/legacy/acme/acs",
			"attribute_mapping": map[string]string{"email": "mail"}},
		{"org": f.orgB.ID, "name": "Beta", "protocol": "saml", "idp_metadata_xml": importMetadata(t, "https://idp.beta.example.com")},
	}
	body := func(rows ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"connections": rows})
		return string(b)
	}
	count := func() int {
		conns, _ := f.st.ListConnections(ctx, f.orgA.ID)
		return len(conns)
	}

	// Dry run: the plan, nothing written; the row of another org refused.
	code, m := f.json(f.orgA, "POST", "/connections/import?dry_run=true", body(rows...))
	items, _ := m["items"].([]any)
	if code != http.StatusOK || len(items) != 2 || m["applied"] != false {
		t.Fatalf("dry run: %d %v", code, m)
	}
	first, second := items[0].(map[string]any), items[1].(map[string]any)
	sp, _ := first["sp"].(map[string]any)
	if first["action"] != "create" || sp["entity_id"] != "urn:legacy:acme" || sp["acs_url"] != "https://app.example.com/legacy/acme/acs" {
		t.Fatalf("first item %v", first)
	}
	iss, _ := second["issues"].([]any)
	if second["action"] != "invalid" || len(iss) != 1 || iss[0].(map[string]any)["field"] != "org" {
		t.Fatalf("second item %v", second)
	}
	if count() != 0 {
		t.Fatal("dry run wrote connections")
	}

	// Apply with the invalid row: 400, the plan, nothing written.
	code, m = f.json(f.orgA, "POST", "/connections/import", body(rows...))
	if code != http.StatusBadRequest || m["error"] != "invalid_import" || m["plan"] == nil || count() != 0 {
		t.Fatalf("invalid apply: %d %v (connections %d)", code, m, count())
	}

	// Apply the valid row: 201, then again: 200, unchanged.
	code, m = f.json(f.orgA, "POST", "/connections/import", body(rows[0]))
	if code != http.StatusCreated || m["applied"] != true || count() != 1 {
		t.Fatalf("apply: %d %v", code, m)
	}
	id := m["items"].([]any)[0].(map[string]any)["connection_id"].(string)
	code, m = f.json(f.orgA, "POST", "/connections/import", body(rows[0]))
	if code != http.StatusOK || m["counts"].(map[string]any)["unchanged"] != float64(1) || count() != 1 {
		t.Fatalf("re-apply: %d %v", code, m)
	}
	code, m = f.json(f.orgA, "GET", "/connections/"+id, "")
	if code != http.StatusOK || m["status"] != "draft" || m["saml"].(map[string]any)["acs_url"] != "https://app.example.com/legacy/acme/acs" ||
		m["attribute_mapping"].(map[string]any)["email"] != "mail" {
		t.Fatalf("imported connection: %d %v", code, m)
	}

	// Audited once: the connection and the import.
	evs, err := f.st.ListEvents(ctx, sso.EventQuery{OrgID: f.orgA.ID})
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range evs {
		n[e.Type]++
		if e.Type == admin.EventConnectionCreated && e.Details["import"] != "true" {
			t.Fatalf("created event %+v lacks the import detail", e)
		}
	}
	if n[admin.EventConnectionCreated] != 1 || n[admin.EventConnectionsImported] != 1 {
		t.Fatalf("events %v", n)
	}

	// CSV, and the other org cannot touch this org's connection by ID.
	csvBody := "id,name,protocol,idp_metadata_xml\n" + id + ",Stolen,saml,\"" + strings.ReplaceAll(importMetadata(t, "https://x.example.com"), `"`, `""`) + "\"\n"
	code, m, _ = f.do(f.orgB, "POST", "/connections/import?dry_run=true", "text/csv", csvBody)
	it := m["items"].([]any)[0].(map[string]any)
	if code != http.StatusOK || it["action"] != "invalid" || it["issues"].([]any)[0].(map[string]any)["field"] != "id" {
		t.Fatalf("cross-org id: %d %v", code, m)
	}
	// Bad input is named.
	code, m, _ = f.do(f.orgA, "POST", "/connections/import", "text/csv", "org,colour\n")
	if code != http.StatusBadRequest || m["field"] != "body" || !strings.Contains(m["message"].(string), "colour") {
		t.Fatalf("bad csv: %d %v", code, m)
	}
	code, m = f.json(f.orgA, "POST", "/connections/import?dry_run=maybe", body(rows[0]))
	if code != http.StatusBadRequest || m["field"] != "dry_run" {
		t.Fatalf("bad dry_run: %d %v", code, m)
	}
}

// TestImportOverAConnectionChangedDuringIt: a connection disabled between
// the import's read of it and its write stays disabled; the import answers
// 409 connection_changed with the plan (nothing written), and running it
// again applies the rename over the disabled connection.
func TestImportOverAConnectionChangedDuringIt(t *testing.T) {
	st := &staleConn{wholeStore: memstore.New()}
	f := newFixtureOn(t, st, func(c *admin.Config) {
		base, _ := url.Parse("https://app.example.com/sso/saml")
		sp, err := saml.New(saml.Config{BaseURL: base, Connections: c.Store, Store: memsaml.New(memstore.New()),
			Completer: importCompleter{}, OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		c.Configurers[saml.Protocol] = sp
	})
	row := map[string]any{"name": "Acme Okta", "protocol": "saml", "idp_metadata_xml": importMetadata(t, "https://okta.example.com/acme")}
	body := func() string {
		b, _ := json.Marshal([]map[string]any{row})
		return string(b)
	}
	code, m := f.json(f.orgA, "POST", "/connections/import", body())
	if code != http.StatusCreated {
		t.Fatalf("import: %d %v", code, m)
	}
	id := m["items"].([]any)[0].(map[string]any)["connection_id"].(string)
	row["id"], row["name"] = id, "Acme Okta (EU)"

	st.Arm(0, func() {
		if code, m := f.json(f.orgA, "POST", "/connections/"+id+"/disable", ""); code != http.StatusOK {
			t.Errorf("disable: %d %v", code, m)
		}
	})
	code, m = f.json(f.orgA, "POST", "/connections/import", body())
	plan, _ := m["plan"].(map[string]any)
	if code != http.StatusConflict || m["error"] != "connection_changed" || plan == nil || plan["applied"] != false {
		t.Fatalf("import over a changed connection: %d %v", code, m)
	}
	c, err := st.GetConnection(ctx, id)
	if err != nil || c.Status != sso.ConnectionDisabled || c.DisplayName != "Acme Okta" {
		t.Fatalf("after the refused import: %+v, %v; want disabled, the old name", c, err)
	}

	code, m = f.json(f.orgA, "POST", "/connections/import", body())
	if code != http.StatusCreated {
		t.Fatalf("again: %d %v", code, m)
	}
	c, err = st.GetConnection(ctx, id)
	if err != nil || c.Status != sso.ConnectionDisabled || c.DisplayName != "Acme Okta (EU)" {
		t.Fatalf("after the second import: %+v, %v; want disabled and renamed", c, err)
	}
}

// TestImportKeepsTheEnforcedConnection: while the organization requires
// single sign-on, an import that changes the IdP settings of its only
// active, tested connection (which would return it to draft and leave
// nobody but break-glass members able to sign in) is refused like the
// same PATCH: 409 last_enforced_connection with the plan, and the
// connection stays active with its settings. With another ready
// connection the import goes through.
func TestImportKeepsTheEnforcedConnection(t *testing.T) {
	f := importFixture(t)
	a := f.orgA
	body := func(md string) string {
		b, _ := json.Marshal(map[string]any{"connections": []map[string]any{
			{"name": "Acme Okta", "protocol": "saml", "idp_metadata_xml": md}}})
		return string(b)
	}
	code, m := f.json(a, "POST", "/connections/import", body(importMetadata(t, "https://okta.example.com/acme")))
	if code != http.StatusCreated {
		t.Fatalf("import: %d %v", code, m)
	}
	id := m["items"].([]any)[0].(map[string]any)["connection_id"].(string)
	ready := func(id string) {
		c, err := f.st.GetConnection(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		c.Status, c.LastTestOK, c.LastTest = sso.ConnectionActive, now, &sso.TestResult{At: now, OK: true}
		if err := f.st.UpdateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ready(id)
	if code, m := f.json(a, "PUT", "/enforcement", `{"enabled":true}`); code != 200 || m["enforced"] != true {
		t.Fatalf("enforce: %d %v", code, m)
	}
	before, _ := f.st.GetConnection(ctx, id)
	code, m = f.json(a, "POST", "/connections/import", body(importMetadata(t, "https://okta.example.com/acme")))
	if code != http.StatusConflict || m["error"] != "last_enforced_connection" || m["plan"] == nil {
		t.Fatalf("import over the only enforced connection: %d %v", code, m)
	}
	after, _ := f.st.GetConnection(ctx, id)
	if after.Status != sso.ConnectionActive || after.LastTestOK.IsZero() || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("connection after the refused import: %s, tested %v, updated %v (was %v)", after.Status, after.LastTestOK, after.UpdatedAt, before.UpdatedAt)
	}
	// A second ready connection: the import may return the first to draft.
	code, m = f.json(a, "POST", "/connections", `{"protocol":"oidc","display_name":"Entra","config":{"issuer":"https://login.example/t/v2.0","client_id":"cid"}}`)
	if code != 201 {
		t.Fatalf("second connection: %d %v", code, m)
	}
	ready(m["id"].(string))
	code, m = f.json(a, "POST", "/connections/import", body(importMetadata(t, "https://okta.example.com/acme")))
	if code != http.StatusCreated {
		t.Fatalf("import with another ready connection: %d %v", code, m)
	}
	if c, _ := f.st.GetConnection(ctx, id); c.Status != sso.ConnectionDraft {
		t.Fatalf("reconfigured connection %s, want draft", c.Status)
	}
}
