package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// testKey is an RSA key and a self-signed certificate.
type testKey struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

func (k *testKey) pair() *saml.KeyPair { return &saml.KeyPair{Key: k.key, Certificate: k.cert} }

var (
	keysMu  sync.Mutex
	keyPool = map[int]*testKey{}
)

// testKeys returns the i-th test key, generated once per test binary.
func testKeys(t testing.TB, i int) *testKey {
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keyPool[i]; ok {
		return k
	}
	// Test-only keys generated for this package (testdata/key<i>.pem),
	// so tests and fuzz workers skip RSA key generation.
	nb, na := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	var k *testKey
	if b, err := os.ReadFile(filepath.Join("testdata", "key"+strconv.Itoa(i)+".pem")); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("testdata/key%d.pem: no PEM block", i)
		}
		pk, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		k = certFor(t, pk.(*rsa.PrivateKey), "key"+strconv.Itoa(i), nb, na)
	} else {
		k = newTestKey(t, "key"+strconv.Itoa(i), nb, na)
	}
	keyPool[i] = k
	return k
}

func newTestKey(t testing.TB, cn string, nb, na time.Time) *testKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return certFor(t, k, cn, nb, na)
}

func certFor(t testing.TB, k *rsa.PrivateKey, cn string, nb, na time.Time) *testKey {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{key: k, cert: c}
}

// idpKey signs responses; spKey is the SP key; otherKey is an attacker's.
func idpKey(t testing.TB) *testKey   { return testKeys(t, 0) }
func spKey(t testing.TB) *testKey    { return testKeys(t, 1) }
func otherKey(t testing.TB) *testKey { return testKeys(t, 2) }
func idpKey2(t testing.TB) *testKey  { return testKeys(t, 3) }

const testIdP = "https://idp.example.com/metadata"

// baseTime is the fixed test clock.
var baseTime = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fixture describes a response to build.
type fixture struct {
	acs, audience, inResponseTo, nameID, issuer string
	// now is the IdP's issue time.
	now time.Time
	// validity of Conditions and SubjectConfirmationData.
	validity                    time.Duration
	signAssertion, signResponse bool
	key                         *testKey
	sha1                        bool
	withComments                bool
	// encrypt: "" (no), "aes256-gcm", "aes128-cbc"; encKey is the SP cert.
	encrypt string
	encKey  *testKey
	rsa15   bool
	attrs   map[string][]string
	// mutate edits the assertion before it is signed; mutateResp edits the
	// response before the response is signed.
	mutate     func(a *etree.Element)
	mutateResp func(r *etree.Element)
}

func (f *fixture) defaults(t testing.TB) {
	if f.nameID == "" {
		f.nameID = "alice@example.com"
	}
	if f.issuer == "" {
		f.issuer = testIdP
	}
	if f.now.IsZero() {
		f.now = baseTime
	}
	if f.validity == 0 {
		f.validity = 5 * time.Minute
	}
	if f.key == nil {
		f.key = idpKey(t)
	}
	if f.attrs == nil {
		f.attrs = map[string][]string{"email": {"alice@example.com"}, "firstName": {"Alice"}, "lastName": {"Liddell"}, "groups": {"eng", "admins"}}
	}
}

func ts3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// buildAssertion returns the Assertion element (signed if asked).
func (f *fixture) buildAssertion(t testing.TB) *etree.Element {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
	a.CreateAttr("ID", "_a"+opaque.NewID(""))
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", ts3339(f.now))
	a.CreateElement("saml:Issuer").SetText(f.issuer)
	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", saml.NameIDEmail)
	nid.SetText(f.nameID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if f.inResponseTo != "" {
		scd.CreateAttr("InResponseTo", f.inResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", ts3339(f.now.Add(f.validity)))
	scd.CreateAttr("Recipient", f.acs)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts3339(f.now.Add(-30*time.Second)))
	cond.CreateAttr("NotOnOrAfter", ts3339(f.now.Add(f.validity)))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(f.audience)
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", ts3339(f.now))
	as.CreateAttr("SessionIndex", "_sess1")
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	st := a.CreateElement("saml:AttributeStatement")
	for name, vals := range f.attrs {
		at := st.CreateElement("saml:Attribute")
		at.CreateAttr("Name", name)
		for _, v := range vals {
			at.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	if f.mutate != nil {
		f.mutate(a)
	}
	if f.signAssertion {
		a = f.sign(t, a)
	}
	return a
}

// sign returns el with an enveloped signature placed after its Issuer.
func (f *fixture) sign(t testing.TB, el *etree.Element) *etree.Element {
	return signWith(t, el, f.key, f.sha1, f.withComments)
}

func signWith(t testing.TB, el *etree.Element, k *testKey, sha1 bool, withComments bool) *etree.Element {
	ctx, err := dsig.NewSigningContext(k.key, [][]byte{k.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if withComments {
		ctx.Canonicalizer = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("")
	}
	if sha1 {
		ctx.Hash = 3 // crypto.SHA1
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		t.Fatal(err)
	}
	out := el.Copy()
	pos := 0
	for i, c := range out.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			pos = i + 1
			break
		}
	}
	out.InsertChildAt(pos, sig)
	return out
}

// build returns the response document bytes.
func (f *fixture) build(t testing.TB) []byte {
	f.defaults(t)
	a := f.buildAssertion(t)
	r := etree.NewElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", nsProtocol)
	r.CreateAttr("xmlns:saml", nsAssertion)
	r.CreateAttr("ID", "_r"+opaque.NewID(""))
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", ts3339(f.now))
	r.CreateAttr("Destination", f.acs)
	if f.inResponseTo != "" {
		r.CreateAttr("InResponseTo", f.inResponseTo)
	}
	r.CreateElement("saml:Issuer").SetText(f.issuer)
	r.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
	if f.encrypt != "" {
		r.AddChild(f.encryptAssertion(t, a))
	} else {
		r.AddChild(a)
	}
	if f.mutateResp != nil {
		f.mutateResp(r)
	}
	if f.signResponse {
		r = f.sign(t, r)
	}
	doc := etree.NewDocument()
	doc.SetRoot(r)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fixture) encoded(t testing.TB) string { return base64.StdEncoding.EncodeToString(f.build(t)) }

// encryptAssertion wraps a in an EncryptedAssertion for f.encKey.
func (f *fixture) encryptAssertion(t testing.TB, a *etree.Element) *etree.Element {
	doc := etree.NewDocument()
	doc.SetRoot(a)
	plain, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	var alg string
	var key []byte
	var data []byte
	switch f.encrypt {
	case "aes256-gcm":
		alg, key = algAES256GCM, make([]byte, 32)
		_, _ = rand.Read(key)
		blk, _ := aes.NewCipher(key)
		gcm, _ := cipher.NewGCM(blk)
		nonce := make([]byte, gcm.NonceSize())
		_, _ = rand.Read(nonce)
		data = gcm.Seal(nonce, nonce, plain, nil)
	case "aes128-cbc":
		alg, key = algAES128CBC, make([]byte, 16)
		_, _ = rand.Read(key)
		blk, _ := aes.NewCipher(key)
		pad := 16 - len(plain)%16
		plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
		iv := make([]byte, 16)
		_, _ = rand.Read(iv)
		out := make([]byte, len(plain))
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(out, plain)
		data = append(iv, out...)
	default:
		t.Fatalf("unknown encryption %q", f.encrypt)
	}
	ek := f.encKey
	if ek == nil {
		ek = spKey(t)
	}
	kt := algRSAOAEPMGF1P
	var wrapped []byte
	if f.rsa15 {
		kt = algRSA15
		wrapped, err = rsa.EncryptPKCS1v15(rand.Reader, &ek.key.PublicKey, key)
	} else {
		wrapped, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, &ek.key.PublicKey, key, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	ea := etree.NewElement("saml:EncryptedAssertion")
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXMLEnc)
	ed.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", alg)
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", nsDSig)
	ekEl := ki.CreateElement("xenc:EncryptedKey")
	em := ekEl.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", kt)
	if !f.rsa15 {
		em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algDigestSHA1)
	}
	ekEl.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(data))
	return ea
}

// recorder is an sso.Completer that records what reached it.
type recorder struct {
	mu       sync.Mutex
	logins   []*sso.Login
	failures []*sso.LoginFailure
}

func (c *recorder) Complete(w http.ResponseWriter, r *http.Request, l *sso.Login) error {
	c.mu.Lock()
	c.logins = append(c.logins, l)
	c.mu.Unlock()
	http.Redirect(w, r, returnto.Safe(l.ReturnTo, "/"), http.StatusSeeOther)
	return nil
}

func (c *recorder) Fail(r *http.Request, f *sso.LoginFailure) {
	c.mu.Lock()
	c.failures = append(c.failures, f)
	c.mu.Unlock()
}

// reset forgets what was recorded.
func (c *recorder) reset() {
	c.mu.Lock()
	c.logins, c.failures = nil, nil
	c.mu.Unlock()
}

func (c *recorder) counts() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.logins), len(c.failures)
}

func (c *recorder) lastLogin() *sso.Login {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.logins) == 0 {
		return nil
	}
	return c.logins[len(c.logins)-1]
}

func (c *recorder) lastFailure() *sso.LoginFailure {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) == 0 {
		return nil
	}
	return c.failures[len(c.failures)-1]
}

// harness is an SP behind a TLS test server with a browser-like client.
type harness struct {
	t      testing.TB
	sp     *saml.SP
	store  *memstore.Store
	saml   *memsaml.Store // the SAML state, on store
	rec    *recorder
	srv    *httptest.Server
	client *http.Client
	now    atomic.Int64
	conn   *sso.Connection
	logout []*saml.LogoutRequest
	errs   []error
	mu     sync.Mutex
}

func (h *harness) lastErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	return h.errs[len(h.errs)-1]
}

func (h *harness) logoutCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.logout)
}

func (h *harness) clock() time.Time { return time.Unix(0, h.now.Load()).UTC() }

func (h *harness) setNow(t time.Time) { h.now.Store(t.UnixNano()) }

type harnessOpt func(*saml.Config)

func newHarness(t testing.TB, opts ...harnessOpt) *harness {
	h := &harness{t: t, rec: &recorder{}}
	h.setNow(baseTime)
	h.store = memstore.New(memstore.WithClock(h.clock))
	h.saml = memsaml.New(h.store)
	var handler http.Handler = http.NotFoundHandler()
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.srv.Close)
	base, _ := url.Parse(h.srv.URL + "/sso/saml")
	cfg := saml.Config{BaseURL: base, Key: spKey(t).pair(), Connections: h.store, Store: h.saml, Events: h.store,
		Completer: h.rec, Now: h.clock, Logger: discardLogger(),
		OnLogout: func(ctx context.Context, req *saml.LogoutRequest) error {
			h.mu.Lock()
			h.logout = append(h.logout, req)
			h.mu.Unlock()
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
			saml.DefaultErrorHandler(w, r, err)
		}}
	for _, o := range opts {
		o(&cfg)
	}
	sp, err := saml.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.sp = sp
	mux := http.NewServeMux()
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))
	// An extra location for connections' own ACS URLs, mounted without
	// StripPrefix (used when Config.ExtraACSURLs names it).
	mux.Handle("/auth/saml2/", sp)
	handler = mux
	jar, _ := cookiejar.New(nil)
	h.client = h.srv.Client()
	h.client.Jar = jar
	h.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	h.conn = h.addConn(t, "conn_a", "org_a", func(c *saml.ConnectionConfig) {})
	return h
}

// addConn creates an active SAML connection trusting idpKey.
func (h *harness) addConn(t testing.TB, id, org string, edit func(c *saml.ConnectionConfig)) *sso.Connection {
	c := &sso.Connection{ID: id, OrgID: org, Protocol: saml.Protocol, Status: sso.ConnectionActive, DisplayName: "Test IdP",
		Config: &saml.ConnectionConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", SSOBinding: "redirect",
			SLOURL: "https://idp.example.com/slo", Certificates: []string{certPEM(idpKey(t).cert)}},
		CreatedAt: baseTime, UpdatedAt: baseTime}
	edit(saml.ConfigOf(c))
	if err := h.store.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// updateConn edits a stored connection.
func (h *harness) updateConn(t testing.TB, c *sso.Connection, edit func(c *saml.ConnectionConfig)) {
	edit(saml.ConfigOf(c))
	if err := h.store.UpdateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// startLogin runs GET /login/{conn} and returns the AuthnRequest ID.
func (h *harness) startLogin(t testing.TB, connID string) string {
	return startLoginWith(t, h.client, h.srv.URL+"/sso/saml/login/"+connID)
}

func startLoginWith(t testing.TB, c *http.Client, loginURL string) string {
	resp, err := c.Get(loginURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login: status %d", resp.StatusCode)
	}
	return authnRequestID(t, resp.Header.Get("Location"))
}

// authnRequestID returns the ID of the AuthnRequest in a redirect to the
// IdP.
func authnRequestID(t testing.TB, location string) string {
	loc, _ := url.Parse(location)
	raw, err := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLRequest"))
	if err != nil {
		t.Fatal(err)
	}
	xmlb, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(xmlb); err != nil {
		t.Fatal(err)
	}
	return doc.Root().SelectAttrValue("ID", "")
}

// fixtureFor returns a valid, assertion-signed fixture for conn.
func (h *harness) fixtureFor(c *sso.Connection, inResponseTo string) *fixture {
	return &fixture{acs: h.sp.ACSURL(c.ID), audience: h.sp.EntityID(c.ID), inResponseTo: inResponseTo,
		now: h.clock(), signAssertion: true}
}

// post sends SAMLResponse to the ACS of connID with the harness client.
func (h *harness) post(t testing.TB, connID, encoded, relayState string) *http.Response {
	return postWith(t, h.client, h.srv.URL+"/sso/saml/acs/"+connID, encoded, relayState)
}

func postWith(t testing.TB, c *http.Client, acs, encoded, relayState string) *http.Response {
	form := url.Values{"SAMLResponse": {encoded}}
	if relayState != "" {
		form.Set("RelayState", relayState)
	}
	resp, err := c.PostForm(acs, form)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// login runs a full SP-initiated login with f built for the request ID and
// returns the ACS response.
func (h *harness) login(t testing.TB, c *sso.Connection, edit func(f *fixture)) *http.Response {
	id := h.startLogin(t, c.ID)
	f := h.fixtureFor(c, id)
	if edit != nil {
		edit(f)
	}
	return h.post(t, c.ID, f.encoded(t), "")
}

// expectRejected asserts that the latest ACS call was rejected with reason
// and that no profile ever reached the completion flow.
func (h *harness) expectRejected(t testing.TB, resp *http.Response, reason string) {
	t.Helper()
	if resp != nil && resp.StatusCode < 400 {
		t.Errorf("status %d, want an error status", resp.StatusCode)
	}
	logins, _ := h.rec.counts()
	if logins != 0 {
		t.Fatalf("%d logins reached the completion flow, want 0 (profile %+v)", logins, h.rec.lastLogin().Profile)
	}
	f := h.rec.lastFailure()
	if f == nil {
		t.Fatalf("no failure recorded, want reason %q", reason)
	}
	var ve *sso.ValidationError
	if !errors.As(f.Err, &ve) {
		t.Fatalf("failure %v is not a *sso.ValidationError", f.Err)
	}
	if ve.Reason != reason {
		t.Fatalf("reason %q (%s), want %q", ve.Reason, ve.Detail(), reason)
	}
}

// expectAccepted asserts one completed login and returns it.
func (h *harness) expectAccepted(t testing.TB, resp *http.Response) *sso.Login {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		f := h.rec.lastFailure()
		detail := ""
		var ve *sso.ValidationError
		if f != nil && errors.As(f.Err, &ve) {
			detail = ve.Detail()
		} else if f != nil {
			detail = f.Err.Error()
		}
		t.Fatalf("status %d, want 303; failure: %s", resp.StatusCode, detail)
	}
	l := h.rec.lastLogin()
	if l == nil {
		t.Fatal("no login recorded")
	}
	return l
}

// findEl returns the first element with the given local name under root.
func findEl(root *etree.Element, local string) *etree.Element {
	if root.Tag == local {
		return root
	}
	for _, c := range root.ChildElements() {
		if e := findEl(c, local); e != nil {
			return e
		}
	}
	return nil
}

func parseDoc(t testing.TB, b []byte) *etree.Document {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return doc
}

func encodeDoc(t testing.TB, doc *etree.Document) string {
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

const (
	nsProtocol      = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion     = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig          = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc        = "http://www.w3.org/2001/04/xmlenc#"
	algAES256GCM    = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	algAES128CBC    = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	algRSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	algRSA15        = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	algDigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
)

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func errorsAs(err error, target **sso.ValidationError) bool { return errors.As(err, target) }

func strconvI(i int) string { return strconv.Itoa(i) }
