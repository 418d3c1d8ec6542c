package saml_test

import (
	"bytes"
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
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

func fuzzSP(t testing.TB) (*saml.SP, *sso.Connection) {
	sp, err := saml.New(saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com"}, Key: spKey(t).pair(),
		Connections: memstore.New(), Store: memsaml.New(memstore.New()), Completer: &recorder{}, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_f", OrgID: "org_f", Protocol: saml.Protocol, Status: sso.ConnectionActive,
		Config: &saml.ConnectionConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(idpKey(t).cert)}}}
	return sp, conn
}

// FuzzACS mutates real documents by one splice (cut bytes at an offset,
// insert others) and feeds them to the ACS validation core. The documents
// are responses signed with the test key (assertion-signed, also
// Response-signed, encrypted both ways), structural attack shapes and
// captured vendor responses; the input is the splice, not the document, so
// inputs stay small and quick to minimize while every run starts from a
// document that verifies. Invariant: no panic, every rejection has a
// reason, and an accepted document yields the identity the IdP signed.
func FuzzACS(f *testing.F) {
	sp, conn := fuzzSP(f)
	acs, aud := sp.ACSURL(conn.ID), sp.EntityID(conn.ID)
	const signed = 4 // bases[:signed] verify unmodified
	var bases [][]byte
	for _, fx := range []*fixture{
		{acs: acs, audience: aud, signAssertion: true},
		{acs: acs, audience: aud, signResponse: true, signAssertion: true},
		{acs: acs, audience: aud, signAssertion: true, encrypt: "aes256-gcm"},
		{acs: acs, audience: aud, signAssertion: true, encrypt: "aes128-cbc"},
	} {
		bases = append(bases, fx.build(f))
	}
	bases = append(bases, deepNesting(100), manyNamespaces(300),
		[]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ::foo="bar"/>`),
		[]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x/>`))
	dir := filepath.Join(moduleDir(f, "github.com/russellhaering/gosaml2"), "providertests", "testdata")
	for _, name := range []string{"okta_response.xml", "auth0_response.xml", "onelogin_response.xml"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			bases = append(bases, b)
		}
	}
	for i := range bases {
		f.Add(uint8(i), uint16(0), uint16(0), []byte(nil))
	}
	// Targeted splices of the first document: a comment and a new value in
	// the signed NameID, and a second Assertion start.
	at := uint16(bytes.Index(bases[0], []byte("alice@example.com")))
	f.Add(uint8(0), at+5, uint16(0), []byte("<!---->"))
	f.Add(uint8(0), at, uint16(5), []byte("admin"))
	f.Add(uint8(0), uint16(bytes.Index(bases[0], []byte("<saml:Assertion"))), uint16(0), []byte("<saml:Assertion/>"))
	f.Fuzz(func(t *testing.T, base uint8, at, cut uint16, insert []byte) {
		b := bases[int(base)%len(bases)]
		i := int(at) % (len(b) + 1)
		j := min(len(b), i+int(cut))
		doc := append(append(append(make([]byte, 0, len(b)+len(insert)), b[:i]...), insert...), b[j:]...)
		p, _, err := sp.ValidateForTest(conn, aud, acs, b64(doc), baseTime)
		switch {
		case err != nil && sso.ReasonOf(err) == "":
			t.Fatalf("error without reason: %v", err)
		case err != nil && int(base)%len(bases) < signed && j == i && len(insert) == 0:
			t.Fatalf("an unmodified signed document was rejected: %v", err)
		case err == nil && p == nil:
			t.Fatal("nil profile without error")
		case err == nil && (p.Subject != "alice@example.com" || p.Issuer != testIdP):
			t.Fatalf("accepted a profile the IdP did not sign: %+v", p)
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
