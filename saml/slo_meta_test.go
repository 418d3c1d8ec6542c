package saml_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// logoutRequest builds an IdP LogoutRequest for conn.
func (h *harness) logoutRequest(t *testing.T, sign bool) *etree.Document {
	return logoutRequestFor(t, h.sp.SLOURL(h.conn.ID), h.clock(), "alice@example.com", sign)
}

// logoutRequestFor builds an IdP LogoutRequest to sloURL issued at now.
func logoutRequestFor(t testing.TB, sloURL string, now time.Time, nameID string, sign bool) *etree.Document {
	doc := etree.NewDocument()
	r := doc.CreateElement("samlp:LogoutRequest")
	r.CreateAttr("xmlns:samlp", nsProtocol)
	r.CreateAttr("xmlns:saml", nsAssertion)
	r.CreateAttr("ID", "_lr"+opaque.NewID(""))
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", ts3339(now))
	r.CreateAttr("Destination", sloURL)
	r.CreateElement("saml:Issuer").SetText(testIdP)
	r.CreateElement("saml:NameID").SetText(nameID)
	r.CreateElement("samlp:SessionIndex").SetText("_sess1")
	if sign {
		doc.SetRoot(signWith(t, r, idpKey(t), false, false))
	}
	return doc
}

func redirectQuery(t testing.TB, doc *etree.Document, key *rsa.PrivateKey) string {
	b, _ := doc.WriteToBytes()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = fw.Write(b)
	_ = fw.Close()
	q := "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes())) +
		"&RelayState=rs1&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
	if key != nil {
		sum := sha256.Sum256([]byte(q))
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	return q
}

func (h *harness) get(t *testing.T, path string) *http.Response {
	resp, err := h.client.Get(h.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestTS21_UnsignedLogoutRejected(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, h *harness, resp *http.Response, reason string) {
		t.Helper()
		if resp.StatusCode < 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := sso.ReasonOf(h.lastErr()); got != reason {
			t.Fatalf("reason %q, want %q", got, reason)
		}
		if h.logoutCount() != 0 {
			t.Fatal("the local session was ended")
		}
		if n, _ := h.rec.counts(); n != 0 {
			t.Fatal("a profile reached the completion flow")
		}
	}
	t.Run("POSTUnsigned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp := postWithParam(t, h, "SAMLRequest", encodeDoc(t, h.logoutRequest(t, false)))
		check(t, h, resp, saml.ReasonLogoutUnsigned)
	})
	t.Run("POSTForgedSignature", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		doc := h.logoutRequest(t, false)
		doc.SetRoot(signWith(t, doc.Root(), otherKey(t), false, false))
		check(t, h, postWithParam(t, h, "SAMLRequest", encodeDoc(t, doc)), saml.ReasonSignatureInvalid)
	})
	t.Run("RedirectStripped", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		q := redirectQuery(t, h.logoutRequest(t, false), nil)
		check(t, h, h.get(t, "/sso/saml/slo/"+h.conn.ID+"?"+q), saml.ReasonLogoutUnsigned)
	})
	t.Run("RedirectWrongKey", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		q := redirectQuery(t, h.logoutRequest(t, false), otherKey(t).key)
		check(t, h, h.get(t, "/sso/saml/slo/"+h.conn.ID+"?"+q), saml.ReasonSignatureInvalid)
	})
	t.Run("RedirectSigned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp := h.get(t, "/sso/saml/slo/"+h.conn.ID+"?"+redirectQuery(t, h.logoutRequest(t, false), idpKey(t).key))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://idp.example.com/slo?SAMLResponse=") {
			t.Fatalf("status %d, location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if h.logoutCount() != 1 || h.logout[0].NameID != "alice@example.com" || h.logout[0].SessionIndex != "_sess1" {
			t.Fatalf("logout hook: %+v", h.logout)
		}
	})
	t.Run("POSTSigned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		resp := postWithParam(t, h, "SAMLRequest", encodeDoc(t, h.logoutRequest(t, true)))
		if resp.StatusCode != http.StatusFound || h.logoutCount() != 1 {
			t.Fatalf("status %d, logouts %d, err %v", resp.StatusCode, h.logoutCount(), h.lastErr())
		}
	})
}

func postWithParam(t *testing.T, h *harness, param, value string) *http.Response {
	resp, err := h.client.PostForm(h.srv.URL+"/sso/saml/slo/"+h.conn.ID, url.Values{param: {value}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestStartLogoutSigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/logout", nil)
	if err := h.sp.StartLogout(w, r, h.conn, "alice@example.com", "_sess1", "/bye"); err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	if loc.Host != "idp.example.com" || loc.Query().Get("Signature") == "" || loc.Query().Get("SigAlg") == "" {
		t.Fatalf("location %s", loc)
	}
}

// idpMetadata returns IdP metadata XML with the given SSO location.
func idpMetadata(ssoLocation string, certs ...string) string {
	var kd strings.Builder
	for _, c := range certs {
		kd.WriteString(`<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + c + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`)
	}
	return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + testIdP + `" cacheDuration="PT2H">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` + kd.String() + `
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/slo"/>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + ssoLocation + `"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`
}

func certB64(k *testKey) string { return base64.StdEncoding.EncodeToString(k.cert.Raw) }

func TestTS24_MetadataInjection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, loc := range []string{"javascript:alert(document.domain)", "data:text/html,x", "//evil.example/sso", "file:///etc/passwd", "vbscript:x"} {
		c := &sso.Connection{ID: "conn_x", OrgID: "org_a"}
		_, err := h.sp.Configure(context.Background(), c, &saml.ConnectionInput{MetadataXML: idpMetadata(loc, certB64(idpKey(t)))})
		if !errors.Is(err, sso.ErrInvalidInput) || sso.ReasonOf(err) != saml.ReasonMetadataInvalid {
			t.Fatalf("Location %q: err %v (reason %s), want invalid input / metadata_invalid", loc, err, sso.ReasonOf(err))
		}
		if saml.ConfigOf(c) != nil {
			t.Fatalf("Location %q: connection configured", loc)
		}
		_, err = saml.ParseIdPMetadata([]byte(idpMetadata(loc, certB64(idpKey(t)))))
		if sso.ReasonOf(err) != saml.ReasonMetadataInvalid {
			t.Fatalf("ParseIdPMetadata %q: %v", loc, err)
		}
	}
	// Manual configuration with a javascript: SSO URL is refused too.
	_, err := h.sp.Configure(context.Background(), &sso.Connection{ID: "c"}, &saml.ConnectionInput{
		IdPEntityID: testIdP, SSOURL: "javascript:alert(1)", Certificates: []string{certPEM(idpKey(t).cert)}})
	if !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("manual javascript: SSO URL: %v", err)
	}
	// A connection stored with an unsafe SSO URL never produces a redirect.
	bad := h.addConn(t, "conn_bad", "org_a", func(c *saml.ConnectionConfig) { c.SSOURL = "javascript:alert(1)" })
	resp := h.get(t, "/sso/saml/login/"+bad.ID)
	if resp.StatusCode < 400 || resp.Header.Get("Location") != "" {
		t.Fatalf("login with javascript: SSO URL: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n, _ := h.rec.counts(); n != 0 {
		t.Fatal("a profile reached the completion flow")
	}
}

func TestConfigureFromMetadataAndRollover(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := &sso.Connection{ID: "conn_m", OrgID: "org_a", Config: &saml.ConnectionConfig{AllowIdPInitiated: true}}
	d, err := h.sp.Configure(context.Background(), c, &saml.ConnectionInput{
		MetadataXML: idpMetadata("https://idp.example.com/sso-post", certB64(idpKey(t)), certB64(idpKey2(t)))})
	if err != nil {
		t.Fatal(err)
	}
	if d.EntityID != testIdP || len(d.Certificates) != 2 || d.Certificates[0].NotAfter.Year() != 2040 || d.Endpoints["sso"] != "https://idp.example.com/sso-post" {
		t.Fatalf("details %+v", d)
	}
	if saml.ConfigOf(c).SSOBinding != "post" || saml.ConfigOf(c).SLOURL != "https://idp.example.com/slo" || !saml.ConfigOf(c).AllowIdPInitiated || len(saml.ConfigOf(c).Certificates) != 2 {
		t.Fatalf("config %+v", saml.ConfigOf(c))
	}
	sp := h.sp.SPDetails(c)
	if sp.ACSURL != h.srv.URL+"/sso/saml/acs/conn_m" || sp.EntityID != h.srv.URL+"/sso/saml/metadata/conn_m" {
		t.Fatalf("sp details %+v", sp)
	}
}

func TestLoginPOSTBindingAndSignedRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.addConn(t, "conn_p", "org_a", func(c *saml.ConnectionConfig) { c.SSOBinding = "post"; c.SignAuthnRequests = true })
	resp, err := h.client.Get(h.srv.URL + "/sso/saml/login/" + c.ID + "?return_to=/home")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	s := body.String()
	if resp.StatusCode != http.StatusOK || !strings.Contains(s, `action="https://idp.example.com/sso"`) || !strings.Contains(s, `name="SAMLRequest"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, s)
	}
	i := strings.Index(s, `name="SAMLRequest" value="`) + len(`name="SAMLRequest" value="`)
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(s[i : i+strings.IndexByte(s[i:], '"')]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("SignatureValue")) || !bytes.Contains(raw, []byte("AssertionConsumerServiceURL=\""+h.sp.ACSURL(c.ID))) {
		t.Fatalf("AuthnRequest %s", raw)
	}
	// Redirect binding with signing: SigAlg and Signature in the query.
	c2 := h.addConn(t, "conn_r", "org_a", func(c *saml.ConnectionConfig) { c.SignAuthnRequests = true })
	r2 := h.get(t, "/sso/saml/login/"+c2.ID)
	loc, _ := url.Parse(r2.Header.Get("Location"))
	if loc.Query().Get("Signature") == "" || loc.Query().Get("SigAlg") == "" {
		t.Fatalf("location %s", loc)
	}
}

func TestServeMetadata(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp, err := h.client.Get(h.srv.URL + "/sso/saml/metadata/" + h.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	s := body.String()
	for _, want := range []string{`entityID="` + h.sp.EntityID(h.conn.ID) + `"`, `Location="` + h.sp.ACSURL(h.conn.ID) + `"`, `use="encryption"`, "X509Certificate"} {
		if !strings.Contains(s, want) {
			t.Errorf("metadata lacks %s:\n%s", want, s)
		}
	}
	if r := h.get(t, "/sso/saml/metadata/nope"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown connection: %d", r.StatusCode)
	}
}

func TestMetadataURLGuard(t *testing.T) {
	t.Parallel()
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(idpMetadata("https://idp.example.com/sso", certB64(idpKey(t)))))
	}))
	defer idp.Close()
	h := newHarness(t)
	ctx := context.Background()
	// http:// refused by default.
	if _, err := h.sp.FetchMetadata(ctx, "http://idp.example.com/md"); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("http URL: %v", err)
	}
	for _, u := range []string{"ftp://x/y", "file:///etc/passwd", "gopher://x"} {
		if _, err := h.sp.FetchMetadata(ctx, u); !errors.Is(err, sso.ErrInvalidInput) {
			t.Fatalf("%s: %v", u, err)
		}
	}
	// Loopback refused on the dialed address.
	if _, err := h.sp.FetchMetadata(ctx, idp.URL); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("loopback: %v", err)
	}
	// A redirect from an allowed host to an internal one is refused too
	// (the guard checks every dial); here the dev switch is on for the
	// first hop only through a custom client.
	h2 := newHarness(t, func(c *saml.Config) {
		c.AllowPrivateAddresses = true
		c.HTTPClient = idp.Client()
	})
	c := &sso.Connection{ID: "conn_u", OrgID: "org_a"}
	if _, err := h2.sp.Configure(ctx, c, &saml.ConnectionInput{MetadataURL: idp.URL + "/md"}); err != nil {
		t.Fatal(err)
	}
	if saml.ConfigOf(c).MetadataURL != idp.URL+"/md" || saml.ConfigOf(c).MetadataExpiresAt.Sub(h2.clock()) != time.Hour {
		t.Fatalf("config %+v", saml.ConfigOf(c))
	}
	// Size cap.
	huge := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("a"), 2<<20))
	}))
	defer huge.Close()
	h3 := newHarness(t, func(c *saml.Config) { c.AllowPrivateAddresses = true; c.HTTPClient = huge.Client() })
	if _, err := h3.sp.FetchMetadata(ctx, huge.URL); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("oversize: %v", err)
	}
}

func TestRefreshKeepsLastGoodAndWarnsOnExpiry(t *testing.T) {
	t.Parallel()
	fail := false
	soon := certFor(t, idpKey(t).key, "soon", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), baseTime.Add(20*24*time.Hour))
	idp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(idpMetadata("https://idp.example.com/sso2", certB64(soon), certB64(idpKey2(t)))))
	}))
	defer idp.Close()
	h := newHarness(t, func(c *saml.Config) { c.AllowPrivateAddresses = true; c.HTTPClient = idp.Client() })
	ctx := context.Background()
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.MetadataURL = idp.URL })
	h.sp.RefreshAll(ctx)
	got, _ := h.store.GetConnection(ctx, h.conn.ID)
	if saml.ConfigOf(got).SSOURL != "https://idp.example.com/sso2" || len(saml.ConfigOf(got).Certificates) != 2 {
		t.Fatalf("after refresh: %+v", saml.ConfigOf(got))
	}
	// 20 days left: a 30-day warning, once.
	h.sp.RefreshAll(ctx)
	evs, _ := h.store.ListEvents(ctx, sso.EventQuery{OrgID: "org_a", Type: sso.EventCertificateExpiring})
	if len(evs) != 1 || evs[0].Details["threshold_days"] != "30" {
		t.Fatalf("events %+v", evs)
	}
	// 6 days left: the 7-day warning; and the IdP is down now.
	fail = true
	h.setNow(baseTime.Add(14*24*time.Hour + 2*time.Hour))
	h.sp.RefreshAll(ctx)
	got, _ = h.store.GetConnection(ctx, h.conn.ID)
	if saml.ConfigOf(got).SSOURL != "https://idp.example.com/sso2" {
		t.Fatalf("last good metadata lost: %+v", saml.ConfigOf(got))
	}
	m, err := h.saml.GetMetadata(ctx, h.conn.ID)
	if err != nil || m.Failures != 1 || m.LastError == "" {
		t.Fatalf("cache %+v %v", m, err)
	}
	evs, _ = h.store.ListEvents(ctx, sso.EventQuery{OrgID: "org_a", Type: sso.EventCertificateExpiring})
	if len(evs) != 2 || evs[1].Details["threshold_days"] != "7" {
		t.Fatalf("events %+v", evs)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	testkit.Start(t, h.sp.Run)()
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://sp.example.com/sso")
	h := newHarness(t)
	ok := saml.Config{BaseURL: base, Connections: h.store, Store: h.saml, Completer: h.rec}
	for name, edit := range map[string]func(c *saml.Config){
		"NoBaseURL":      func(c *saml.Config) { c.BaseURL = nil },
		"RelativeBase":   func(c *saml.Config) { c.BaseURL = &url.URL{Path: "/sso"} },
		"NoStore":        func(c *saml.Config) { c.Store = nil },
		"NoCompleter":    func(c *saml.Config) { c.Completer = nil },
		"HugeSkew":       func(c *saml.Config) { c.MaxClockSkew = time.Hour },
		"HalfKey":        func(c *saml.Config) { c.Key = &saml.KeyPair{Key: spKey(t).key} },
		"UnsafeReturnTo": func(c *saml.Config) { c.DefaultReturnTo = "//evil.example" },
	} {
		c := ok
		edit(&c)
		if _, err := saml.New(c); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: err %v, want ErrInvalidConfig", name, err)
		}
	}
	if _, err := saml.New(ok); err != nil {
		t.Fatal(err)
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The HTTPClient rule shared with oidc: a non-*http.Transport RoundTripper
// cannot be guarded and is refused unless private addresses are allowed.
func TestHTTPClientCustomRoundTripper(t *testing.T) {
	t.Parallel()
	md := idpMetadata("https://idp.example.com/sso", certB64(idpKey(t)))
	custom := rtFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(md)), Request: r}, nil
	})
	store := memstore.New()
	base, _ := url.Parse("https://sp.example.com/sso/saml")
	cfg := saml.Config{BaseURL: base, Connections: store, Store: memsaml.New(store), Completer: &recorder{}, Logger: discardLogger(),
		HTTPClient: &http.Client{Transport: custom}}
	if _, err := saml.New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("custom RoundTripper without AllowPrivateAddresses: err = %v, want ErrInvalidConfig", err)
	}
	cfg.AllowPrivateAddresses = true
	sp, err := saml.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sp.FetchMetadata(context.Background(), "https://idp.example.com/md"); err != nil || string(got) != md {
		t.Fatalf("FetchMetadata through the custom RoundTripper: %v", err)
	}
}

// A new connection's IdP may import our metadata before the admin pastes
// anything back (the setup guides start that way), so metadata is served
// without IdP settings; a login through it is still refused.
func TestServeMetadataBeforeIdPSettings(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := &sso.Connection{ID: "conn_new", OrgID: "org_a", Protocol: saml.Protocol, Status: sso.ConnectionDraft,
		DisplayName: "New", CreatedAt: baseTime, UpdatedAt: baseTime}
	if err := h.store.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	r, err := h.client.Get(h.srv.URL + "/sso/saml/metadata/" + c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	r.Body.Close()
	if r.StatusCode != http.StatusOK || !strings.Contains(body.String(), `Location="`+h.sp.ACSURL(c.ID)+`"`) {
		t.Fatalf("metadata of a new connection: %d %s", r.StatusCode, body.String())
	}
	if r := h.get(t, "/sso/saml/login/"+c.ID); r.StatusCode < 400 {
		t.Fatalf("login through a connection without IdP settings: got %d, want a refusal", r.StatusCode)
	}
}
