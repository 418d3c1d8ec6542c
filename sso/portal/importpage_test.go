package portal_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
)

// idpMetadata is SAML IdP metadata with a fresh signing certificate.
func idpMetadata(t *testing.T, entityID string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
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

func jsonRows(t *testing.T, rows ...map[string]any) string {
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) conns(org *sso.Organization) []*sso.Connection {
	f.t.Helper()
	cs, err := f.st.ListConnections(ctx, org.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

var formTokenRE = regexp.MustCompile(`name="form" value="([^"]+)"`)

func TestImportPlanConfirmApply(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	b, _ := f.open(f.orgA, portal.SectionSSO)
	if r := b.get("/sso"); !strings.Contains(r.Body, `/portal/sso/import"`) {
		t.Fatal("the single sign-on page does not link to the import")
	}
	rows := jsonRows(t, map[string]any{"name": "Acme Okta", "protocol": "saml",
		"idp_metadata_xml": idpMetadata(t, "https://okta.example.com/acme"), "sp_entity_id": "urn:legacy:acme"})
	r := b.post("/sso/import/plan", b.form("rows", rows))
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "1 to create, 0 to update, 0 unchanged, 0 invalid") ||
		!strings.Contains(r.text(), "Will be created") || !strings.Contains(r.text(), "urn:legacy:acme") {
		t.Fatalf("plan: %d %s", r.Status, r.text())
	}
	if n := len(f.conns(f.orgA)); n != 0 {
		t.Fatalf("the check wrote %d connections", n)
	}
	m := formTokenRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("no apply form")
	}
	form := b.form("rows", rows, "form", m[1])
	if r = b.post("/sso/import/apply", form); r.Status != http.StatusOK || !strings.Contains(r.text(), "Create 1 and update 0 connections") {
		t.Fatalf("no confirmation: %d %s", r.Status, r.text())
	}
	if n := len(f.conns(f.orgA)); n != 0 {
		t.Fatalf("written before confirmation: %d", n)
	}
	form.Set("confirmed", "yes")
	r = b.post("/sso/import/apply", form)
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "Imported: 1 created") || !strings.Contains(r.text(), "Created") {
		t.Fatalf("apply: %d %s", r.Status, r.text())
	}
	cs := f.conns(f.orgA)
	if len(cs) != 1 || saml.ConfigOf(cs[0]).SPEntityID != "urn:legacy:acme" || cs[0].Status != sso.ConnectionDraft {
		t.Fatalf("stored: %+v", cs)
	}
	if evs := f.events(f.orgA, "connections.imported"); len(evs) != 1 {
		t.Fatalf("import audit events: %d", len(evs))
	}
	// A second submission of the same form imports nothing again.
	if r = b.post("/sso/import/apply", form); r.Status != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "done=duplicate") {
		t.Fatalf("resubmission: %d %s", r.Status, r.Header.Get("Location"))
	}
	// Checking again shows the row unchanged.
	r = b.post("/sso/import/plan", b.form("rows", rows))
	if !strings.Contains(r.text(), "0 to create, 0 to update, 1 unchanged") || strings.Contains(r.Body, "/sso/import/apply") {
		t.Fatalf("re-check: %s", r.text())
	}
}

func TestImportOnlyOwnOrganization(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	b, _ := f.open(f.orgA, portal.SectionSSO)
	rows := jsonRows(t,
		map[string]any{"name": "Ours", "protocol": "saml", "idp_metadata_xml": idpMetadata(t, "https://idp.a.example")},
		map[string]any{"org": f.orgB.ID, "name": "Theirs", "protocol": "saml", "idp_metadata_xml": idpMetadata(t, "https://idp.b.example")})
	r := b.post("/sso/import/plan", b.form("rows", rows))
	if r.Status != http.StatusBadRequest && r.Status != http.StatusOK {
		t.Fatalf("plan: %d", r.Status)
	}
	if !strings.Contains(r.text(), "Invalid: fix and check again") || !strings.Contains(r.text(), "Field “org”") ||
		strings.Contains(r.Body, "/sso/import/apply") {
		t.Fatalf("the other organization's row is not named invalid, or the import is offered: %s", r.text())
	}
	// Forcing the apply writes nothing in either organization.
	r = b.post("/sso/import/apply", b.form("rows", rows, "form", "0123456789abcdef0123", "confirmed", "yes"))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "nothing can be imported") {
		t.Fatalf("forced apply: %d %s", r.Status, r.text())
	}
	if a, bb := len(f.conns(f.orgA)), len(f.conns(f.orgB)); a+bb != 0 {
		t.Fatalf("written: %d in A, %d in B", a, bb)
	}
}

func TestImportCSVAndUnreadableRows(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	b, _ := f.open(f.orgA, portal.SectionSSO)
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	_ = w.Write([]string{"name", "protocol", "idp_metadata_xml", "map_email"})
	_ = w.Write([]string{"CSV Okta", "saml", idpMetadata(t, "https://okta.example.com/csv"), "mail"})
	w.Flush()
	r := b.post("/sso/import/plan", b.form("rows", sb.String()))
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "CSV Okta (saml)") || !strings.Contains(r.text(), "1 to create") {
		t.Fatalf("CSV plan: %d %s", r.Status, r.text())
	}
	r = b.post("/sso/import/plan", b.form("rows", `[{"name": "x", "protocol": "saml", "bogus": 1`))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "The rows could not be read") ||
		!strings.Contains(r.Body, `name="rows" rows="12" aria-describedby="import-help" aria-invalid="true"`) {
		t.Fatalf("unreadable: %d %s", r.Status, r.Body)
	}
	if r = b.post("/sso/import/plan", b.form("rows", "  ")); r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "is empty") {
		t.Fatalf("empty: %d %s", r.Status, r.text())
	}
	dom, _ := f.open(f.orgA, portal.SectionDomains)
	if r = dom.get("/sso/import"); r.Status != http.StatusForbidden {
		t.Fatalf("a link without the SSO section: %d", r.Status)
	}
}
