package saml_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

type benchEnv struct {
	sp    *saml.SP
	store *memsaml.Store
	conn  *sso.Connection
}

func newBenchEnv(b *testing.B) *benchEnv {
	st := memstore.New(memstore.WithClock(func() time.Time { return baseTime }))
	ss := memsaml.New(st)
	sp, err := saml.New(saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com", Path: "/sso/saml"}, Key: spKey(b).pair(),
		Connections: st, Store: ss, Completer: &recorder{}, Logger: discardLogger(), Now: func() time.Time { return baseTime }})
	if err != nil {
		b.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_b", OrgID: "org_b", Protocol: saml.Protocol, Status: sso.ConnectionActive, DisplayName: "b",
		Config: &saml.ConnectionConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(idpKey(b).cert)}}}
	if err := st.CreateConnection(context.Background(), conn); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{sp: sp, store: ss, conn: conn}
}

// realisticAttrs resembles an Okta/Entra response: a handful of profile
// attributes and some groups (about 5-6 KB signed).
var realisticAttrs = map[string][]string{
	"email": {"alice@example.com"}, "firstName": {"Alice"}, "lastName": {"Liddell"},
	"http://schemas.microsoft.com/identity/claims/displayname":      {"Alice Liddell"},
	"http://schemas.microsoft.com/identity/claims/objectidentifier": {"0b5e2a3c-1f7d-4c55-9a9e-0c7d5d6f1a2b"},
	"groups": {"engineering", "admins", "oncall", "platform", "security-reviewers", "everyone"},
}

// responses pre-builds n responses for SP-initiated logins, each with its
// outstanding request stored and the binding cookie value "tok".
func (e *benchEnv) responses(b *testing.B, n int) []string {
	out := make([]string, n)
	for i := range out {
		id := "_req" + strconv.Itoa(i)
		if err := e.store.SaveAuthnRequest(context.Background(), &saml.AuthnRequestState{ID: id, ConnectionID: e.conn.ID,
			BindingHash: opaque.Hash("tok"), CreatedAt: baseTime, ExpiresAt: baseTime.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		f := &fixture{acs: e.sp.ACSURL(e.conn.ID), audience: e.sp.EntityID(e.conn.ID), inResponseTo: id, signAssertion: true, signResponse: true, attrs: realisticAttrs}
		out[i] = f.encoded(b)
	}
	return out
}

func acsRequest(connID, id, encoded string) *http.Request {
	return acsRequestForm(connID, id, url.Values{"SAMLResponse": {encoded}}.Encode())
}

func acsRequestForm(connID, id, form string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/acs/"+connID, strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: "ssokit_saml_" + id, Value: "tok"})
	return r
}

// BenchmarkACSHandler runs the full ACS handler (form parsing, scan,
// gosaml2 validation, request binding, replay cache, profile) on a
// realistic signed response with memstore.
func BenchmarkACSHandler(b *testing.B) {
	e := newBenchEnv(b)
	resps := e.responses(b, b.N)
	b.SetBytes(int64(len(resps[0]) * 3 / 4))
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		e.sp.ServeHTTP(w, acsRequest(e.conn.ID, "_req"+strconv.Itoa(i), resps[i]))
		if w.Code != http.StatusSeeOther {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkGosaml2Bare validates the same kind of response with gosaml2
// alone (RetrieveAssertionInfo), as the baseline.
func BenchmarkGosaml2Bare(b *testing.B) {
	e := newBenchEnv(b)
	f := &fixture{acs: e.sp.ACSURL(e.conn.ID), audience: e.sp.EntityID(e.conn.ID), inResponseTo: "_req0", signAssertion: true, signResponse: true, attrs: realisticAttrs}
	enc := f.encoded(b)
	sp := &saml2.SAMLServiceProvider{IdentityProviderIssuer: testIdP, AssertionConsumerServiceURL: e.sp.ACSURL(e.conn.ID),
		AudienceURI: e.sp.EntityID(e.conn.ID), IDPCertificateStore: &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{idpKey(b).cert}},
		Clock: dsig.NewFakeClockAt(baseTime)}
	b.SetBytes(int64(len(enc) * 3 / 4))
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := 0; i < b.N; i++ {
		if _, err := sp.RetrieveAssertionInfo(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func benchHostile(b *testing.B, body string) {
	e := newBenchEnv(b)
	form := url.Values{"SAMLResponse": {body}}.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	defer func() { reportCPU(b, start) }()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		e.sp.ServeHTTP(w, acsRequestForm(e.conn.ID, "_x", form))
		if w.Code < 400 {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkHostile1MB posts a 1 MB SAMLResponse.
func BenchmarkHostile1MB(b *testing.B) {
	benchHostile(b, strings.Repeat("QUFB", 1<<18))
}

// BenchmarkHostileDeepNesting posts a 5,000-deep nesting.
func BenchmarkHostileDeepNesting(b *testing.B) {
	benchHostile(b, base64.StdEncoding.EncodeToString(deepNesting(5000)))
}

// BenchmarkHostileNamespaces posts thousands of namespace declarations.
func BenchmarkHostileNamespaces(b *testing.B) {
	benchHostile(b, base64.StdEncoding.EncodeToString(manyNamespaces(5000)))
}
