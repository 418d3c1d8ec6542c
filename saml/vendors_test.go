package saml_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// moduleDir returns a module's directory in the module cache.
func moduleDir(t testing.TB, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("module %s not in the module cache: %v", mod, err)
	}
	return dir
}

type vendorCase struct {
	name, file, cert, issuer, acs, audience string
	at                                      time.Time
	sha1, responseOnly                      bool
	spCert, spKey                           string
}

var vendorCases = []vendorCase{
	{name: "Auth0", file: "auth0_response.xml", cert: "auth0_cert.pem", issuer: "urn:scaleft-test.auth0.com",
		acs: "http://localhost:8080/v1/_saml_callback", audience: "urn:scaleft-test.auth0.com", at: time.Date(2016, 7, 25, 18, 30, 0, 0, time.UTC), sha1: true, responseOnly: true},
	{name: "ADFS", file: "adfs_response.b64", cert: "adfs_idp_signing_cert.pem", issuer: "http://fs.spstest2.com/adfs/services/trust",
		acs: "https://saml.test.nope/session/sso/saml/acs/dknhyszjl7", audience: "https://saml.test.nope/session/sso/saml/spentityid/dknhyszjl7",
		at: time.Date(2017, 9, 21, 23, 28, 0, 0, time.UTC)},
	{name: "OktaEncrypted", file: "oktaenc_response.b64", cert: "oktaenc_idp_signing_cert.pem", issuer: "http://www.okta.com/exkbb59wb20X96NY20h7",
		acs: "https://saml.test.nope/session/sso/saml/acs/skv8dv26wh", audience: "https://saml.test.nope/session/sso/saml/spentityid/skv8dv26wh",
		at: time.Date(2017, 9, 6, 22, 14, 0, 0, time.UTC), spCert: "oktaenc_sp_encryption_cert.pem", spKey: "oktaenc_sp_encryption_key.pem"},
	{name: "Okta", file: "okta_response.xml", cert: "okta_cert.pem", issuer: "http://www.okta.com/exk659aytfMeNI49v0h7",
		acs: "http://localhost:8080/v1/_saml_callback", audience: `"123"`, at: time.Date(2016, 7, 25, 23, 20, 30, 0, time.UTC)},
	{name: "OneLogin", file: "onelogin_response.xml", cert: "onelogin_cert.pem", issuer: "https://app.onelogin.com/saml/metadata/634027",
		acs: "http://884d40bf.ngrok.io/api/sso/saml2/acs/58af624473d4f375b8e70d81", audience: "{audience}", at: time.Date(2017, 3, 8, 7, 54, 0, 0, time.UTC), sha1: true},
	{name: "OracleAccessManager", file: "oam_response.xml", cert: "oam_cert.pem", issuer: "https://deaoam-dev02.jpl.nasa.gov:14101/oam/fed",
		acs: "http://127.0.0.1:5556/callback", audience: "JSAuth", at: time.Date(2016, 12, 12, 16, 55, 0, 0, time.UTC), sha1: true},
}

func loadVendor(t testing.TB, dir string, c vendorCase) (string, *sso.Connection, *saml.SP) {
	data, err := os.ReadFile(filepath.Join(dir, c.file))
	if err != nil {
		t.Fatal(err)
	}
	enc := strings.TrimSpace(string(data))
	if strings.HasSuffix(c.file, ".xml") {
		enc = base64.StdEncoding.EncodeToString(data)
	}
	certPEMBytes, err := os.ReadFile(filepath.Join(dir, c.cert))
	if err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_v", OrgID: "org_v", Protocol: saml.Protocol, Status: sso.ConnectionActive,
		Config: &saml.ConnectionConfig{IdPEntityID: c.issuer, SSOURL: "https://idp.example.com/sso", Certificates: []string{string(certPEMBytes)},
			AllowSHA1: c.sha1, AllowResponseSignatureOnly: c.responseOnly}}
	cfg := saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com"}, Connections: memstore.New(), Store: memsaml.New(memstore.New()),
		Completer: &recorder{}, Logger: discardLogger()}
	if c.spKey != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, c.spCert), filepath.Join(dir, c.spKey))
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(pair.Certificate[0])
		cfg.Key = &saml.KeyPair{Key: pair.PrivateKey.(*rsa.PrivateKey), Certificate: leaf}
	}
	sp, err := saml.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = pem.Decode
	return enc, conn, sp
}

// TestVendorResponses validates real captured IdP responses from gosaml2's
// provider tests through the ACS validation core, at their own clock with
// their own certificates.
func TestVendorResponses(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(moduleDir(t, "github.com/russellhaering/gosaml2"), "providertests", "testdata")
	for _, c := range vendorCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			enc, conn, sp := loadVendor(t, dir, c)
			p, _, err := sp.ValidateForTest(conn, c.audience, c.acs, enc, c.at)
			if err != nil {
				t.Fatalf("validate: %v (%s)", err, detail(err))
			}
			if p.Subject == "" || p.Issuer != c.issuer {
				t.Fatalf("profile %+v", p)
			}
			// The same response with its base64 values indented and wrapped
			// (as Google Workspace writes them) verifies too.
			wrapped, n := wrapUncovered(t, mustB64(t, enc))
			if n == 0 {
				t.Fatal("nothing wrapped")
			}
			if _, _, err := sp.ValidateForTest(conn, c.audience, c.acs, b64(wrapped), c.at); err != nil {
				t.Fatalf("wrapped: %v (%s)", err, detail(err))
			}
			// The same response a day later is expired.
			if _, _, err := sp.ValidateForTest(conn, c.audience, c.acs, enc, c.at.Add(24*time.Hour)); sso.ReasonOf(err) != saml.ReasonExpired {
				t.Fatalf("a day later: %v, want expired", err)
			}
			// For another SP it is refused.
			if _, _, err := sp.ValidateForTest(conn, "https://other-sp.example", c.acs, enc, c.at); sso.ReasonOf(err) != saml.ReasonAudienceMismatch {
				t.Fatalf("other audience: %v", err)
			}
			if c.sha1 {
				saml.ConfigOf(conn).AllowSHA1 = false
				if _, _, err := sp.ValidateForTest(conn, c.audience, c.acs, enc, c.at); sso.ReasonOf(err) != saml.ReasonWeakAlgorithm {
					t.Fatalf("SHA-1 without opt-in: %v", err)
				}
			}
		})
	}
}

func detail(err error) string {
	if ve, ok := err.(*sso.ValidationError); ok {
		return ve.Detail()
	}
	return ""
}

// wrapUncovered wraps the base64 values of a captured response that no
// signature covers as written: every one when the Response is unsigned,
// else the Response's own SignatureValue.
func wrapUncovered(t testing.TB, raw []byte) ([]byte, int) {
	t.Helper()
	doc := parseDoc(t, raw)
	sig := doc.Root().SelectElement("Signature")
	if sig == nil {
		return wrapAll(raw)
	}
	v := sig.SelectElement("SignatureValue").Text()
	if bytes.Count(raw, []byte(v)) != 1 {
		t.Fatalf("SignatureValue found %d times", bytes.Count(raw, []byte(v)))
	}
	return bytes.Replace(raw, []byte(v), []byte(wrapBase64(v)), 1), 1
}
