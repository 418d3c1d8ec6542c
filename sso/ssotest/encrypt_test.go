package ssotest_test

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
)

func TestSAMLEncryptedAssertion(t *testing.T) {
	t.Parallel()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	// The SP's encryption key pair (the shared OIDC test key serves).
	spKey := k.oidcKey
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sp"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &spKey.PublicKey, spKey)
	if err != nil {
		t.Fatal(err)
	}
	spCert, _ := x509.ParseCertificate(der)
	md := `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://enc.test"><md:SPSSODescriptor>` +
		`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(k.samlCert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
		`<md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(der) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
		`<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://enc.test/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>`
	parsed, err := ssotest.ParseSPMetadata([]byte(md))
	if err != nil || parsed.EncryptionCert == nil || !parsed.EncryptionCert.Equal(spCert) {
		t.Fatalf("metadata encryption certificate: %v", err)
	}
	for _, method := range []string{"", ssotest.EncryptAES256GCM, ssotest.EncryptAES128CBC} {
		t.Run("method="+method, func(t *testing.T) {
			idp := newIdP(t, ssotest.Config{ServiceProviders: []ssotest.ServiceProvider{{
				EntityID: spEntityID, ACSURLs: []string{spACS},
				EncryptionCert: spCert, EncryptAssertions: true, EncryptionMethod: method,
			}}})
			res, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "bob@example.com", InResponseTo: "_e"})
			if err != nil {
				t.Fatal(err)
			}
			root := parseXML(t, res.XML)
			if err := verify(root, idp.SAMLCertificate()); err != nil {
				t.Fatalf("response signature: %v", err)
			}
			if len(assertions(root)) != 0 {
				t.Fatal("plaintext assertion present")
			}
			eaEl := child(root, "EncryptedAssertion")
			if eaEl == nil {
				t.Fatal("no EncryptedAssertion")
			}
			doc := etree.NewDocument()
			doc.SetRoot(eaEl.Copy())
			raw, _ := doc.WriteToBytes()
			// Decrypt with gosaml2, as an SP would.
			var ea types.EncryptedAssertion
			if err := xml.Unmarshal(raw, &ea); err != nil {
				t.Fatal(err)
			}
			plain, err := ea.DecryptBytes(&tls.Certificate{Certificate: [][]byte{spCert.Raw}, PrivateKey: spKey})
			if err != nil {
				t.Fatalf("gosaml2 cannot decrypt: %v", err)
			}
			a := parseXML(t, plain)
			if err := verify(a, idp.SAMLCertificate()); err != nil {
				t.Fatalf("decrypted assertion signature: %v", err)
			}
			if got := a.FindElement("./Subject/NameID").Text(); got != "bob@example.com" {
				t.Errorf("NameID %q", got)
			}
			// gosaml2's SP decrypts and validates it end to end.
			gsp := &saml2.SAMLServiceProvider{
				IdentityProviderIssuer: idp.SAMLEntityID(), ServiceProviderIssuer: spEntityID,
				AssertionConsumerServiceURL: spACS, AudienceURI: spEntityID,
				IDPCertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idp.SAMLCertificate()}},
				SPKeyStore:          dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{spCert.Raw}, PrivateKey: spKey}),
			}
			info, err := gsp.RetrieveAssertionInfo(res.Base64())
			if err != nil || info.NameID != "bob@example.com" || info.WarningInfo.NotInAudience || info.WarningInfo.InvalidTime {
				t.Fatalf("gosaml2 SP: %v %+v", err, info)
			}
			// Another key cannot decrypt it.
			other := &tls.Certificate{Certificate: [][]byte{spCert.Raw}, PrivateKey: k.samlKey}
			if _, err := ea.DecryptBytes(other); err == nil {
				t.Error("decrypted with the wrong key")
			}
		})
	}
}

func TestSAMLEncryptionConfig(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{})
	k, _ := testKeys()
	for _, sp := range []ssotest.ServiceProvider{
		{EntityID: "a", ACSURLs: []string{spACS}, EncryptAssertions: true},
		{EntityID: "b", ACSURLs: []string{spACS}, EncryptionMethod: "rot13"},
		{EntityID: "c", ACSURLs: []string{spACS}, EncryptAssertions: true, EncryptionCert: &x509.Certificate{PublicKey: &k.ecKey.PublicKey}},
	} {
		if err := idp.RegisterServiceProvider(sp); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", sp.EntityID, err)
		}
	}
}
