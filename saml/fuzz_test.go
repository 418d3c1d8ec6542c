package saml_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

func fuzzSP(t testing.TB) (*saml.SP, *sso.Connection) {
	sp, err := saml.New(saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com"}, Key: spKey(t).pair(),
		Connections: memstore.New(), Store: memstore.New(), Completer: &recorder{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_f", OrgID: "org_f", Protocol: sso.ProtocolSAML, Status: sso.ConnectionActive,
		SAML: &sso.SAMLConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(idpKey(t).cert)}}}
	return sp, conn
}

// FuzzACS feeds arbitrary documents to the ACS validation core. It must
// never panic and never accept a document it did not verify.
func FuzzACS(f *testing.F) {
	sp, conn := fuzzSP(f)
	acs, aud := sp.ACSURL(conn.ID), sp.EntityID(conn.ID)
	for _, fx := range []*fixture{
		{acs: acs, audience: aud, signAssertion: true},
		{acs: acs, audience: aud, signResponse: true, signAssertion: true},
		{acs: acs, audience: aud, signAssertion: true, encrypt: "aes256-gcm"},
		{acs: acs, audience: aud, signAssertion: true, encrypt: "aes128-cbc"},
	} {
		f.Add(fx.build(f))
	}
	f.Add(deepNesting(100))
	f.Add(manyNamespaces(300))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ::foo="bar"/>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x/>`))
	dir := filepath.Join(moduleDir(f, "github.com/russellhaering/gosaml2"), "providertests", "testdata")
	for _, name := range []string{"okta_response.xml", "auth0_response.xml", "onelogin_response.xml"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, _, err := sp.ValidateForTest(conn, aud, acs, b64(doc), baseTime)
		if err == nil && p == nil {
			t.Fatal("nil profile without error")
		}
		if err != nil && sso.ReasonOf(err) == "" {
			t.Fatalf("error without reason: %v", err)
		}
	})
}

// FuzzMetadata feeds arbitrary documents to the IdP metadata parser.
func FuzzMetadata(f *testing.F) {
	f.Add([]byte(idpMetadata("https://idp.example.com/sso", certB64(idpKey(f)))))
	f.Add([]byte(idpMetadata("javascript:alert(1)", certB64(idpKey(f)))))
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"></md:EntitiesDescriptor>`))
	f.Add([]byte(strings.Repeat("<a>", 100)))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := saml.ParseIdPMetadata(data)
		if err == nil {
			if md.EntityID == "" || md.SSOURL == "" || len(md.Certificates) == 0 {
				t.Fatalf("incomplete metadata accepted: %+v", md)
			}
			u, perr := url.Parse(md.SSOURL)
			if perr != nil || (u.Scheme != "https" && u.Scheme != "http") {
				t.Fatalf("unsafe SSO URL accepted: %q", md.SSOURL)
			}
		}
	})
}

// FuzzScan fuzzes the structural pre-scan, the first parser every ACS and
// SLO message meets, at a much higher rate than FuzzACS (which verifies RSA
// signatures on every well-formed input).
func FuzzScan(f *testing.F) {
	// Signed and encrypted seeds live in testdata/fuzz/FuzzScan (written by
	// TestWriteFuzzCorpus), so fuzz workers start without RSA work.
	f.Add(deepNesting(50))
	f.Add([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></samlp:LogoutRequest>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for _, root := range []bool{false, true} {
				if err := saml.ScanForTest(doc, false, root); err != nil {
					_ = err.Error()
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("scan of %d bytes did not finish in 5s: %q", len(doc), doc)
		}
	})
}

// TestWriteFuzzCorpus regenerates the signed seed corpus of FuzzScan when
// SSOKIT_WRITE_FUZZ_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("SSOKIT_WRITE_FUZZ_CORPUS") != "1" {
		t.Skip("set SSOKIT_WRITE_FUZZ_CORPUS=1 to rewrite testdata/fuzz/FuzzScan")
	}
	acs := "https://sp.example.com/acs/conn_f"
	dir := filepath.Join("testdata", "fuzz", "FuzzScan")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, fx := range []*fixture{
		{acs: acs, audience: "sp", signAssertion: true},
		{acs: acs, audience: "sp", signResponse: true, signAssertion: true, encrypt: "aes128-cbc"},
		{acs: acs, audience: "sp", signResponse: true, signAssertion: true, encrypt: "aes256-gcm", sha1: true},
	} {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", fx.build(t))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
