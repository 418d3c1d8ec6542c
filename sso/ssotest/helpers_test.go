package ssotest_test

import (
	"bytes"
	"compress/flate"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso/ssotest"
)

// Keys are generated once per test binary: RSA key generation dominates
// otherwise.
var testKeys = sync.OnceValues(func() (*keys, error) {
	samlKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &samlKey.PublicKey, samlKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	oidcKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &keys{samlKey, cert, oidcKey, ecKey}, nil
})

type keys struct {
	samlKey  *rsa.PrivateKey
	samlCert *x509.Certificate
	oidcKey  *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
}

// withKeys fills cfg's keys from the shared test keys.
func withKeys(t testing.TB, cfg ssotest.Config) ssotest.Config {
	t.Helper()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SAMLKey == nil {
		cfg.SAMLKey, cfg.SAMLCert = k.samlKey, k.samlCert
	}
	if cfg.OIDCKey == nil {
		cfg.OIDCKey = k.oidcKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newIdP returns an IdP at a fixed base URL with the test SP and client.
func newIdP(t testing.TB, cfg ssotest.Config) *ssotest.IdP {
	t.Helper()
	if cfg.BaseURL == nil {
		cfg.BaseURL = mustURL(t, "https://idp.test/idp")
	}
	cfg = withKeys(t, cfg)
	if cfg.ServiceProviders == nil {
		cfg.ServiceProviders = []ssotest.ServiceProvider{{EntityID: spEntityID, ACSURLs: []string{spACS}}}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	idp, err := ssotest.NewIdP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return idp
}

const (
	spEntityID = "https://sp.test/saml/metadata"
	spACS      = "https://sp.test/saml/acs"
)

// parseXML parses a document and returns its root.
func parseXML(t testing.TB, b []byte) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatalf("parse XML: %v\n%s", err, b)
	}
	return doc.Root()
}

// verify validates el's enveloped signature against cert with goxmldsig.
func verify(el *etree.Element, cert *x509.Certificate) error {
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	_, err := ctx.Validate(el)
	return err
}

func child(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

func children(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			out = append(out, c)
		}
	}
	return out
}

// redirectRequest returns an HTTP-Redirect SAMLRequest value.
func redirectRequest(t testing.TB, xml string) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(xml)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func authnRequestXML(id, issuer, acs string) string {
	acsAttr := ""
	if acs != "" {
		acsAttr = fmt.Sprintf(` AssertionConsumerServiceURL="%s"`, acs)
	}
	return fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"%s ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>%s</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/></samlp:AuthnRequest>`, id, acsAttr, issuer)
}

func parseCert(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }
