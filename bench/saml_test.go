// Package bench compares ssokit's SAML ACS with the bare gosaml2 validation
// it builds on and with crewjam/saml, on the same signed responses. It is a
// separate module so the library's go.mod never gains crewjam.
package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewsaml "github.com/crewjam/saml"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const idpEntity = "https://idp.example.com/metadata"

type key struct {
	k *rsa.PrivateKey
	c *x509.Certificate
}

func newKey(b testing.TB) key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		b.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return key{k, c}
}

func sign(b testing.TB, k key, el *etree.Element) *etree.Element {
	ctx, err := dsig.NewSigningContext(k.k, [][]byte{k.c.Raw})
	if err != nil {
		b.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		b.Fatal(err)
	}
	out := el.Copy()
	out.InsertChildAt(1, sig) // after Issuer
	return out
}

// response builds a realistic signed Response with a signed Assertion
// (about 5-6 KB), like Okta or Entra ID send.
func response(b testing.TB, k key, acs, audience, inResponseTo string, n int) string {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	a.CreateAttr("ID", fmt.Sprintf("_a%032d", n))
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", now.Format(time.RFC3339))
	a.CreateElement("saml:Issuer").SetText(idpEntity)
	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
	nid.SetText("alice@example.com")
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("InResponseTo", inResponseTo)
	scd.CreateAttr("NotOnOrAfter", now.Add(5*time.Minute).Format(time.RFC3339))
	scd.CreateAttr("Recipient", acs)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", now.Add(-time.Minute).Format(time.RFC3339))
	cond.CreateAttr("NotOnOrAfter", now.Add(5*time.Minute).Format(time.RFC3339))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(audience)
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", now.Format(time.RFC3339))
	as.CreateAttr("SessionIndex", "_s1")
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	st := a.CreateElement("saml:AttributeStatement")
	for _, at := range [][]string{
		{"email", "alice@example.com"}, {"firstName", "Alice"}, {"lastName", "Liddell"},
		{"http://schemas.microsoft.com/identity/claims/displayname", "Alice Liddell"},
		{"http://schemas.microsoft.com/identity/claims/objectidentifier", "0b5e2a3c-1f7d-4c55-9a9e-0c7d5d6f1a2b"},
		{"groups", "engineering", "admins", "oncall", "platform", "security-reviewers", "everyone"},
	} {
		e := st.CreateElement("saml:Attribute")
		e.CreateAttr("Name", at[0])
		for _, v := range at[1:] {
			e.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	a = sign(b, k, a)
	r := etree.NewElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	r.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	r.CreateAttr("ID", fmt.Sprintf("_r%032d", n))
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", now.Format(time.RFC3339))
	r.CreateAttr("Destination", acs)
	r.CreateAttr("InResponseTo", inResponseTo)
	r.CreateElement("saml:Issuer").SetText(idpEntity)
	r.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	r.AddChild(a)
	r = sign(b, k, r)
	doc := etree.NewDocument()
	doc.SetRoot(r)
	out, err := doc.WriteToBytes()
	if err != nil {
		b.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(out)
}

type flow struct{}

func (flow) Complete(w http.ResponseWriter, r *http.Request, l *sso.Login) error {
	w.WriteHeader(http.StatusSeeOther)
	return nil
}
func (flow) Fail(*http.Request, *sso.LoginFailure) {}

type env struct {
	k           key
	ssokit      *saml.SP
	store       *memstore.Store
	saml        *memsaml.Store // the SAML state, on store
	conn        *sso.Connection
	acs, entity string
	pool        []string
	gosaml      *saml2.SAMLServiceProvider
	crew        *crewsaml.ServiceProvider
}

func newEnv(b testing.TB, n int) *env {
	e := &env{k: newKey(b)}
	e.store = memstore.New(memstore.WithClock(func() time.Time { return now }))
	e.saml = memsaml.New(e.store)
	base, _ := url.Parse("https://sp.example.com/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: base, Connections: e.store, Store: e.saml, Completer: flow{},
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	e.ssokit = sp
	e.conn = &sso.Connection{ID: "conn_b", OrgID: "org_b", Protocol: saml.Protocol, Status: sso.ConnectionActive, DisplayName: "b",
		Config: &saml.ConnectionConfig{IdPEntityID: idpEntity, SSOURL: "https://idp.example.com/sso",
			Certificates: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.k.c.Raw}))}}}
	if err := e.store.CreateConnection(context.Background(), e.conn); err != nil {
		b.Fatal(err)
	}
	e.acs, e.entity = sp.ACSURL(e.conn.ID), sp.EntityID(e.conn.ID)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("_req%d", i)
		if err := e.saml.SaveAuthnRequest(context.Background(), &saml.AuthnRequestState{ID: id, ConnectionID: e.conn.ID,
			BindingHash: opaque.Hash("tok"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		e.pool = append(e.pool, response(b, e.k, e.acs, e.entity, id, i))
	}
	e.gosaml = &saml2.SAMLServiceProvider{IdentityProviderIssuer: idpEntity, AssertionConsumerServiceURL: e.acs, AudienceURI: e.entity,
		IDPCertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{e.k.c}}, Clock: dsig.NewFakeClockAt(now)}
	crewsaml.TimeNow = func() time.Time { return now }
	acsURL, _ := url.Parse(e.acs)
	entURL, _ := url.Parse(e.entity)
	md := fmt.Sprintf(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`,
		idpEntity, base64.StdEncoding.EncodeToString(e.k.c.Raw))
	var ed crewsaml.EntityDescriptor
	if err := xml.Unmarshal([]byte(md), &ed); err != nil {
		b.Fatal(err)
	}
	e.crew = &crewsaml.ServiceProvider{EntityID: e.entity, AcsURL: *acsURL, MetadataURL: *entURL, IDPMetadata: &ed}
	return e
}

func form(enc string) string { return url.Values{"SAMLResponse": {enc}}.Encode() }

// BenchmarkSAML compares, on the same realistic signed responses (Response
// and Assertion signed, RSA-SHA256, ~5.6 KB):
//   - ssokit: the full ACS handler (form, scan, gosaml2 + goxmldsig,
//     request binding, replay cache, profile) with memstore;
//   - gosaml2: bare RetrieveAssertionInfo;
//   - crewjam: ServiceProvider.ParseResponse.
func BenchmarkSAML(b *testing.B) {
	b.Run("ssokit", func(b *testing.B) {
		e := newEnv(b, b.N)
		b.SetBytes(int64(base64.StdEncoding.DecodedLen(len(e.pool[0]))))
		b.ReportAllocs()
		b.ResetTimer()
		start := cpuTime()
		defer func() { reportCPU(b, start) }()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest(http.MethodPost, "/acs/conn_b", strings.NewReader(form(e.pool[i])))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(&http.Cookie{Name: fmt.Sprintf("ssokit_saml__req%d", i), Value: "tok"})
			w := httptest.NewRecorder()
			e.ssokit.ServeHTTP(w, r)
			if w.Code != http.StatusSeeOther {
				b.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
		}
	})
	b.Run("gosaml2", func(b *testing.B) {
		e := newEnv(b, 1)
		b.SetBytes(int64(base64.StdEncoding.DecodedLen(len(e.pool[0]))))
		b.ReportAllocs()
		b.ResetTimer()
		start := cpuTime()
		defer func() { reportCPU(b, start) }()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest(http.MethodPost, "/acs/conn_b", strings.NewReader(form(e.pool[0])))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if err := r.ParseForm(); err != nil {
				b.Fatal(err)
			}
			if _, err := e.gosaml.RetrieveAssertionInfo(r.PostForm.Get("SAMLResponse")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crewjam", func(b *testing.B) {
		e := newEnv(b, 1)
		b.SetBytes(int64(base64.StdEncoding.DecodedLen(len(e.pool[0]))))
		b.ReportAllocs()
		b.ResetTimer()
		start := cpuTime()
		defer func() { reportCPU(b, start) }()
		for i := 0; i < b.N; i++ {
			r := httptest.NewRequest(http.MethodPost, e.acs, strings.NewReader(form(e.pool[0])))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if err := r.ParseForm(); err != nil {
				b.Fatal(err)
			}
			if _, err := e.crew.ParseResponse(r, []string{"_req0"}); err != nil {
				b.Fatal(fmt.Sprintf("%v: %v", err, privateErr(err)))
			}
		}
	})
}

func privateErr(err error) error {
	if ie, ok := err.(*crewsaml.InvalidResponseError); ok {
		return ie.PrivateErr
	}
	return nil
}

// TestSameResponseAccepted checks that all three accept the benchmark
// response, so the benchmark compares like with like.
func TestSameResponseAccepted(t *testing.T) {
	e := newEnv(t, 1)
	r := httptest.NewRequest(http.MethodPost, "/acs/conn_b", strings.NewReader(form(e.pool[0])))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: "ssokit_saml__req0", Value: "tok"})
	w := httptest.NewRecorder()
	e.ssokit.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("ssokit: status %d", w.Code)
	}
	if _, err := e.gosaml.RetrieveAssertionInfo(e.pool[0]); err != nil {
		t.Fatalf("gosaml2: %v", err)
	}
	r = httptest.NewRequest(http.MethodPost, e.acs, strings.NewReader(form(e.pool[0])))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_ = r.ParseForm()
	if _, err := e.crew.ParseResponse(r, []string{"_req0"}); err != nil {
		t.Fatalf("crewjam: %v: %v", err, privateErr(err))
	}
}

// cpuTime returns the process user+system CPU time; benchmarks report it
// per iteration ("cpu-ns/op") because wall-clock time on a shared machine
// swings with other load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
