package ssotest_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
)

func TestNewIdPValidatesConfig(t *testing.T) {
	t.Parallel()
	k, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	base := mustURL(t, "https://idp.test")
	for _, tc := range []struct {
		name string
		cfg  ssotest.Config
	}{
		{"no base URL", ssotest.Config{}},
		{"relative base URL", ssotest.Config{BaseURL: mustURL(t, "/idp")}},
		{"ftp base URL", ssotest.Config{BaseURL: mustURL(t, "ftp://idp.test")}},
		{"bad user", ssotest.Config{BaseURL: base, Users: []ssotest.User{{Email: "nobody"}}}},
		{"unknown auto login", ssotest.Config{BaseURL: base, AutoLogin: "carol@example.com"}},
		{"key without cert", ssotest.Config{BaseURL: base, SAMLKey: k.samlKey}},
		{"cert of another key", ssotest.Config{BaseURL: base, SAMLKey: k.oidcKey, SAMLCert: k.samlCert}},
		{"bad SP", ssotest.Config{BaseURL: base, ServiceProviders: []ssotest.ServiceProvider{{EntityID: "x"}}}},
		{"bad ACS", ssotest.Config{BaseURL: base, ServiceProviders: []ssotest.ServiceProvider{{EntityID: "x", ACSURLs: []string{"/acs"}}}}},
		{"bad client", ssotest.Config{BaseURL: base, Clients: []ssotest.Client{{ID: "c", RedirectURIs: []string{"cb"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			if cfg.OIDCKey == nil {
				cfg.OIDCKey = k.oidcKey
			}
			if cfg.SAMLKey == nil && cfg.SAMLCert == nil {
				cfg.SAMLKey, cfg.SAMLCert = k.samlKey, k.samlCert
			}
			_, err := ssotest.NewIdP(cfg)
			if !errors.Is(err, sso.ErrInvalidConfig) {
				t.Fatalf("got %v, want ErrInvalidConfig", err)
			}
		})
	}
}

func TestSAMLMetadata(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{})
	rec := httptest.NewRecorder()
	idp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/saml/metadata", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	root := parseXML(t, rec.Body.Bytes())
	if got := root.SelectAttrValue("entityID", ""); got != "https://idp.test/idp/saml/metadata" || got != idp.SAMLEntityID() {
		t.Errorf("entityID %q", got)
	}
	d := child(root, "IDPSSODescriptor")
	if d == nil {
		t.Fatal("no IDPSSODescriptor")
	}
	bindings := map[string]string{}
	for _, s := range children(d, "SingleSignOnService") {
		bindings[s.SelectAttrValue("Binding", "")] = s.SelectAttrValue("Location", "")
	}
	for _, b := range []string{"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"} {
		if bindings[b] != "https://idp.test/idp/saml/sso" {
			t.Errorf("binding %s at %q", b, bindings[b])
		}
	}
	c := root.FindElement("//KeyDescriptor[@use='signing']/KeyInfo/X509Data/X509Certificate")
	if c == nil || c.Text() != base64.StdEncoding.EncodeToString(idp.SAMLCertificate().Raw) {
		t.Errorf("signing certificate missing or different")
	}
	blk, _ := pem.Decode(idp.SAMLCertificatePEM())
	if blk == nil || string(blk.Bytes) != string(idp.SAMLCertificate().Raw) {
		t.Errorf("PEM does not hold the certificate")
	}
}

// assertions returns the Assertion children of a Response.
func assertions(resp *etree.Element) []*etree.Element { return children(resp, "Assertion") }

func TestSAMLResponseIsComplete(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	idp := newIdP(t, ssotest.Config{Now: func() time.Time { return now }})
	res, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "alice@example.com", InResponseTo: "_req1", RelayState: "/home"})
	if err != nil {
		t.Fatal(err)
	}
	root := parseXML(t, res.XML)
	cert := idp.SAMLCertificate()
	if err := verify(root, cert); err != nil {
		t.Fatalf("response signature: %v", err)
	}
	as := assertions(root)
	if len(as) != 1 {
		t.Fatalf("%d assertions", len(as))
	}
	a := as[0]
	if err := verify(a, cert); err != nil {
		t.Fatalf("assertion signature: %v", err)
	}
	// The Signature follows the Issuer in both.
	for _, el := range []*etree.Element{root, a} {
		kids := el.ChildElements()
		if len(kids) < 2 || kids[0].Tag != "Issuer" || kids[1].Tag != "Signature" {
			t.Errorf("%s: signature not right after Issuer", el.Tag)
		}
		sm := el.FindElement("./Signature/SignedInfo/SignatureMethod")
		cm := el.FindElement("./Signature/SignedInfo/CanonicalizationMethod")
		if sm.SelectAttrValue("Algorithm", "") != dsig.RSASHA256SignatureMethod || cm.SelectAttrValue("Algorithm", "") != string(dsig.CanonicalXML10ExclusiveAlgorithmId) {
			t.Errorf("%s: algorithms %s %s", el.Tag, sm.SelectAttrValue("Algorithm", ""), cm.SelectAttrValue("Algorithm", ""))
		}
	}
	want := map[string]string{
		"Response@Destination":    spACS,
		"Response@InResponseTo":   "_req1",
		"Response@ID":             res.ID,
		"Assertion@ID":            res.AssertionID,
		"Issuer":                  idp.SAMLEntityID(),
		"Assertion/Issuer":        idp.SAMLEntityID(),
		"NameID":                  "alice@example.com",
		"NameID@Format":           ssotest.NameIDEmail,
		"SC@Method":               "urn:oasis:names:tc:SAML:2.0:cm:bearer",
		"SCD@Recipient":           spACS,
		"SCD@InResponseTo":        "_req1",
		"SCD@NotOnOrAfter":        "2026-05-01T12:05:00.000Z",
		"Conditions@NotBefore":    "2026-05-01T11:59:30.000Z",
		"Conditions@NotOnOrAfter": "2026-05-01T12:05:00.000Z",
		"Audience":                spEntityID,
		"AuthnContextClassRef":    ssotest.MFAAuthnContext,
		"StatusCode@Value":        "urn:oasis:names:tc:SAML:2.0:status:Success",
	}
	get := map[string]string{
		"Response@Destination":    root.SelectAttrValue("Destination", ""),
		"Response@InResponseTo":   root.SelectAttrValue("InResponseTo", ""),
		"Response@ID":             root.SelectAttrValue("ID", ""),
		"Assertion@ID":            a.SelectAttrValue("ID", ""),
		"Issuer":                  child(root, "Issuer").Text(),
		"Assertion/Issuer":        child(a, "Issuer").Text(),
		"NameID":                  a.FindElement("./Subject/NameID").Text(),
		"NameID@Format":           a.FindElement("./Subject/NameID").SelectAttrValue("Format", ""),
		"SC@Method":               a.FindElement("./Subject/SubjectConfirmation").SelectAttrValue("Method", ""),
		"SCD@Recipient":           a.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData").SelectAttrValue("Recipient", ""),
		"SCD@InResponseTo":        a.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData").SelectAttrValue("InResponseTo", ""),
		"SCD@NotOnOrAfter":        a.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData").SelectAttrValue("NotOnOrAfter", ""),
		"Conditions@NotBefore":    a.FindElement("./Conditions").SelectAttrValue("NotBefore", ""),
		"Conditions@NotOnOrAfter": a.FindElement("./Conditions").SelectAttrValue("NotOnOrAfter", ""),
		"Audience":                a.FindElement("./Conditions/AudienceRestriction/Audience").Text(),
		"AuthnContextClassRef":    a.FindElement("./AuthnStatement/AuthnContext/AuthnContextClassRef").Text(),
		"StatusCode@Value":        root.FindElement("./Status/StatusCode").SelectAttrValue("Value", ""),
	}
	for k, w := range want {
		if get[k] != w {
			t.Errorf("%s: got %q, want %q", k, get[k], w)
		}
	}
	if a.FindElement("./AuthnStatement").SelectAttrValue("SessionIndex", "") == "" {
		t.Error("no SessionIndex")
	}
	attrs := map[string][]string{}
	for _, at := range a.FindElements("./AttributeStatement/Attribute") {
		for _, v := range at.ChildElements() {
			attrs[at.SelectAttrValue("Name", "")] = append(attrs[at.SelectAttrValue("Name", "")], v.Text())
		}
	}
	if fmt.Sprint(attrs["email"], attrs["givenName"], attrs["sn"], attrs["surname"], attrs["groups"]) != "[alice@example.com] [Alice] [Admin] [Admin] [admins engineering]" {
		t.Errorf("attributes %v", attrs)
	}
	if res.RelayState != "/home" || res.Form().Get("RelayState") != "/home" {
		t.Errorf("relay state %q", res.RelayState)
	}
}

func TestSAMLPersistentNameIDAndPasswordContext(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{Users: []ssotest.User{{Email: "p@example.com", Subject: "sub-42"}}})
	res, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "p@example.com", NameIDFormat: ssotest.NameIDPersistent})
	if err != nil {
		t.Fatal(err)
	}
	a := assertions(parseXML(t, res.XML))[0]
	n := a.FindElement("./Subject/NameID")
	if n.Text() != "sub-42" || n.SelectAttrValue("Format", "") != ssotest.NameIDPersistent {
		t.Errorf("NameID %q %q", n.Text(), n.SelectAttrValue("Format", ""))
	}
	if got := a.FindElement("./AuthnStatement/AuthnContext/AuthnContextClassRef").Text(); got != ssotest.PasswordAuthnContext {
		t.Errorf("class ref %q", got)
	}
	if a.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData").SelectAttr("InResponseTo") != nil {
		t.Error("IdP-initiated response carries InResponseTo")
	}
}

func TestSAMLFaults(t *testing.T) {
	t.Parallel()
	now := time.Now()
	idp := newIdP(t, ssotest.Config{})
	cert := idp.SAMLCertificate()
	parseT := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Errorf("time %q: %v", s, err)
		}
		return v
	}
	for _, tc := range []struct {
		fault ssotest.SAMLFault
		check func(t *testing.T, root *etree.Element)
	}{
		{ssotest.SAMLWrongAudience, func(t *testing.T, root *etree.Element) {
			if got := root.FindElement("//Audience").Text(); got != ssotest.WrongAudience {
				t.Errorf("audience %q", got)
			}
			if err := verify(root, cert); err != nil {
				t.Errorf("still properly signed: %v", err)
			}
		}},
		{ssotest.SAMLWrongRecipient, func(t *testing.T, root *etree.Element) {
			if root.SelectAttrValue("Destination", "") != ssotest.WrongRecipient ||
				root.FindElement("//SubjectConfirmationData").SelectAttrValue("Recipient", "") != ssotest.WrongRecipient {
				t.Error("destination/recipient not wrong")
			}
		}},
		{ssotest.SAMLExpired, func(t *testing.T, root *etree.Element) {
			if !parseT(root.FindElement("//Conditions").SelectAttrValue("NotOnOrAfter", "")).Before(now) ||
				!parseT(root.FindElement("//SubjectConfirmationData").SelectAttrValue("NotOnOrAfter", "")).Before(now) {
				t.Error("not expired")
			}
		}},
		{ssotest.SAMLNotYetValid, func(t *testing.T, root *etree.Element) {
			if !parseT(root.FindElement("//Conditions").SelectAttrValue("NotBefore", "")).After(now.Add(30 * time.Minute)) {
				t.Error("already valid")
			}
		}},
		{ssotest.SAMLUnsignedResponse, func(t *testing.T, root *etree.Element) {
			if child(root, "Signature") != nil {
				t.Error("response signed")
			}
			if err := verify(assertions(root)[0], cert); err != nil {
				t.Errorf("assertion: %v", err)
			}
		}},
		{ssotest.SAMLUnsignedAssertion, func(t *testing.T, root *etree.Element) {
			if child(assertions(root)[0], "Signature") != nil {
				t.Error("assertion signed")
			}
			if err := verify(root, cert); err != nil {
				t.Errorf("response: %v", err)
			}
		}},
		{ssotest.SAMLUnsignedResponse | ssotest.SAMLUnsignedAssertion, func(t *testing.T, root *etree.Element) {
			if len(root.FindElements("//Signature")) != 0 {
				t.Error("a signature is present")
			}
		}},
		{ssotest.SAMLUntrustedKey, func(t *testing.T, root *etree.Element) {
			if err := verify(root, cert); err == nil {
				t.Error("verifies against the published certificate")
			}
			der, err := base64.StdEncoding.DecodeString(root.FindElement("./Signature/KeyInfo/X509Data/X509Certificate").Text())
			if err != nil {
				t.Fatal(err)
			}
			other, err := parseCert(der)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify(root, other); err != nil {
				t.Errorf("not signed by the embedded key: %v", err)
			}
		}},
		{ssotest.SAMLWrapped, func(t *testing.T, root *etree.Element) {
			as := assertions(root)
			if len(as) != 2 || child(root, "Signature") != nil {
				t.Fatalf("%d assertions, response signed %v", len(as), child(root, "Signature") != nil)
			}
			if child(as[0], "Signature") != nil || as[0].FindElement("./Subject/NameID").Text() != ssotest.WrappedEmail {
				t.Error("first assertion is not the unsigned evil one")
			}
			if err := verify(as[1], cert); err != nil || as[1].FindElement("./Subject/NameID").Text() != "bob@example.com" {
				t.Errorf("second assertion is not the genuine signed one: %v", err)
			}
			if as[0].SelectAttrValue("ID", "") == as[1].SelectAttrValue("ID", "") {
				t.Error("same IDs")
			}
		}},
		{ssotest.SAMLSHA1, func(t *testing.T, root *etree.Element) {
			if got := root.FindElement("./Signature/SignedInfo/SignatureMethod").SelectAttrValue("Algorithm", ""); got != dsig.RSASHA1SignatureMethod {
				t.Errorf("method %q", got)
			}
			if got := root.FindElement("./Signature/SignedInfo/Reference/DigestMethod").SelectAttrValue("Algorithm", ""); got != "http://www.w3.org/2000/09/xmldsig#sha1" {
				t.Errorf("digest %q", got)
			}
			if err := verify(root, cert); err != nil {
				t.Errorf("SHA-1 signature invalid: %v", err)
			}
		}},
		{ssotest.SAMLNoInResponseTo, func(t *testing.T, root *etree.Element) {
			if root.SelectAttr("InResponseTo") != nil || root.FindElement("//SubjectConfirmationData").SelectAttr("InResponseTo") != nil {
				t.Error("InResponseTo present")
			}
		}},
		{ssotest.SAMLBadStatus, func(t *testing.T, root *etree.Element) {
			if got := root.FindElement("./Status/StatusCode").SelectAttrValue("Value", ""); got != "urn:oasis:names:tc:SAML:2.0:status:Responder" {
				t.Errorf("status %q", got)
			}
			if len(assertions(root)) != 0 {
				t.Error("assertion present")
			}
			if err := verify(root, cert); err != nil {
				t.Errorf("status response not signed: %v", err)
			}
		}},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			res, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "bob@example.com", InResponseTo: "_r", Faults: tc.fault})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, parseXML(t, res.XML))
		})
	}
}

func TestSAMLReplay(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{})
	first, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "bob@example.com", InResponseTo: "_a"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "alice@example.com", InResponseTo: "_b", Faults: ssotest.SAMLReplay, RelayState: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if string(first.XML) != string(again.XML) || again.RelayState != "x" {
		t.Error("replay did not resend the previous response")
	}
	fresh, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: spEntityID, User: "bob@example.com", InResponseTo: "_a"})
	if err != nil {
		t.Fatal(err)
	}
	if fresh.ID == first.ID || fresh.AssertionID == first.AssertionID {
		t.Error("IDs repeat without the replay fault")
	}
}

func TestFaultString(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ got, want string }{
		{ssotest.SAMLFault(0).String(), "none"},
		{ssotest.SAMLWrapped.String(), "wrapped"},
		{(ssotest.SAMLExpired | ssotest.SAMLSHA1).String(), "expired|sha1"},
		{ssotest.SAMLFault(1 << 30).String(), "0x40000000"},
		{ssotest.OIDCFault(0).String(), "none"},
		{(ssotest.OIDCAlgNone | ssotest.OIDCMissingIssParam).String(), "alg_none|missing_iss_param"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// fakeSP is an SP on an httptest server: /login redirects to the IdP with an
// AuthnRequest; /acs verifies the posted response with goxmldsig against the
// IdP's published certificate and the request's ID.
type fakeSP struct {
	srv      *httptest.Server
	entityID string
	mu       sync.Mutex
	ids      map[string]bool
	posted   []string
}

func newFakeSP(t *testing.T, idpSSO func() string, cert func() []byte) *fakeSP {
	sp := &fakeSP{ids: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		id := fmt.Sprintf("_id%d", time.Now().UnixNano())
		sp.mu.Lock()
		sp.ids[id] = true
		sp.mu.Unlock()
		q := url.Values{"SAMLRequest": {redirectRequest(t, authnRequestXML(id, sp.entityID, sp.srv.URL+"/acs"))}, "RelayState": {"/after"}}
		http.Redirect(w, r, idpSSO()+"?"+q.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
		raw, err := base64.StdEncoding.DecodeString(r.FormValue("SAMLResponse"))
		if err != nil {
			http.Error(w, "bad base64", 400)
			return
		}
		sp.mu.Lock()
		sp.posted = append(sp.posted, string(raw))
		sp.mu.Unlock()
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil {
			http.Error(w, "bad xml", 400)
			return
		}
		blk, _ := pem.Decode(cert())
		c, err := parseCert(blk.Bytes)
		if err != nil {
			http.Error(w, "cert", 500)
			return
		}
		if err := verify(doc.Root(), c); err != nil {
			http.Error(w, "bad signature", 403)
			return
		}
		irt := doc.Root().SelectAttrValue("InResponseTo", "")
		sp.mu.Lock()
		ok := sp.ids[irt]
		delete(sp.ids, irt)
		sp.mu.Unlock()
		if !ok {
			http.Error(w, "unsolicited", 403)
			return
		}
		fmt.Fprintf(w, "welcome %s relay=%s", doc.Root().FindElement("//NameID").Text(), r.FormValue("RelayState"))
	})
	sp.srv = httptest.NewServer(mux)
	t.Cleanup(sp.srv.Close)
	sp.entityID = sp.srv.URL + "/metadata"
	return sp
}

func TestSAMLBrowserLoginRedirectBinding(t *testing.T) {
	t.Parallel()
	s := ssotest.NewServerWith(t, withKeys(t, ssotest.Config{}))
	sp := newFakeSP(t, s.SAMLSSOURL, s.SAMLCertificatePEM)
	if err := s.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: sp.entityID, ACSURLs: []string{sp.srv.URL + "/acs"}}); err != nil {
		t.Fatal(err)
	}
	b := ssotest.NewBrowser()
	b.User = "bob@example.com"
	resp, err := b.Login(context.Background(), sp.srv.URL+"/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "welcome bob@example.com relay=/after" {
		t.Fatalf("status %d body %q visited %v", resp.StatusCode, body, b.Visited)
	}
	// The next login carries a fault: the SP sees an unsigned response and refuses it.
	s.NextSAMLFaults(ssotest.SAMLUnsignedResponse | ssotest.SAMLUnsignedAssertion)
	resp, err = b.Login(context.Background(), sp.srv.URL+"/login")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("faulty response accepted: %d", resp.StatusCode)
	}
	// NextSAMLFaults is one-shot.
	resp, err = b.Login(context.Background(), sp.srv.URL+"/login")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("third login: %v %v", err, resp.StatusCode)
	}
	// Replay resends the previous response, whose InResponseTo the SP already consumed.
	s.SetSAMLFaults(ssotest.SAMLReplay)
	resp, err = b.Login(context.Background(), sp.srv.URL+"/login")
	if err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replay: %v %v", err, resp.StatusCode)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if n := len(sp.posted); n != 4 || sp.posted[2] != sp.posted[3] {
		t.Errorf("replayed response differs (%d posts)", n)
	}
}

func TestSAMLPOSTBindingAndAutoLogin(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{AutoLogin: "alice@example.com"})
	form := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(authnRequestXML("_post1", spEntityID, spACS)))}, "RelayState": {"r1"}}
	req := httptest.NewRequest(http.MethodPost, "/saml/sso", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	idp.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	page := rec.Body.String()
	if !strings.Contains(page, `action="`+spACS+`"`) || !strings.Contains(page, `name="RelayState" value="r1"`) || !strings.Contains(page, "submit()") {
		t.Fatalf("not an auto-submitting form to the ACS:\n%s", page)
	}
	i := strings.Index(page, `name="SAMLResponse" value="`)
	v := page[i+len(`name="SAMLResponse" value="`):]
	v = v[:strings.IndexByte(v, '"')]
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(v, "&#43;", "+"))
	if err != nil {
		t.Fatal(err)
	}
	root := parseXML(t, raw)
	if root.SelectAttrValue("InResponseTo", "") != "_post1" || root.FindElement("//NameID").Text() != "alice@example.com" {
		t.Error("response does not answer the request for the auto-login user")
	}
}

func TestSAMLRejectsBadRequests(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{})
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"missing", "", 400},
		{"not base64", "SAMLRequest=%%%", 400},
		{"not deflate", "SAMLRequest=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("plain"))), 400},
		{"dtd", "SAMLRequest=" + url.QueryEscape(redirectRequest(t, `<!DOCTYPE x [<!ENTITY a "b">]>`+authnRequestXML("_1", spEntityID, ""))), 400},
		{"unknown SP", "SAMLRequest=" + url.QueryEscape(redirectRequest(t, authnRequestXML("_1", "https://evil.test", ""))), 403},
		{"unregistered ACS", "SAMLRequest=" + url.QueryEscape(redirectRequest(t, authnRequestXML("_1", spEntityID, "https://evil.test/acs"))), 403},
		{"no ID", "SAMLRequest=" + url.QueryEscape(redirectRequest(t, authnRequestXML("", spEntityID, ""))), 400},
		{"ok, login page", "SAMLRequest=" + url.QueryEscape(redirectRequest(t, authnRequestXML("_1", spEntityID, spACS))), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			idp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/saml/sso?"+tc.query, nil))
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 200 && !strings.Contains(rec.Body.String(), `id="ssotest-login"`) {
				t.Error("no login page")
			}
			if tc.want != 200 && strings.Contains(rec.Body.String(), "ssotest:") {
				t.Errorf("internal error text leaked: %s", rec.Body)
			}
		})
	}
}

func TestSAMLIdPInitiated(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{})
	rec := httptest.NewRecorder()
	u, _ := url.Parse(idp.IdPInitiatedURL(spEntityID, "bob@example.com", "/x"))
	idp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.RequestURI()[len("/idp"):], nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="SAMLResponse"`) || !strings.Contains(rec.Body.String(), `value="/x"`) {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	idp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/saml/idp-initiated?sp=unknown", nil))
	if rec.Code != http.StatusForbidden {
		t.Errorf("unknown SP: %d", rec.Code)
	}
}

const spMetadata = `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://app.test/sp">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="false">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://app.test/artifact" index="0"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://app.test/acs" index="1"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>`

func TestRegisterSPMetadata(t *testing.T) {
	t.Parallel()
	idp := newIdP(t, ssotest.Config{ServiceProviders: []ssotest.ServiceProvider{}})
	if err := idp.RegisterSPMetadata([]byte(spMetadata)); err != nil {
		t.Fatal(err)
	}
	res, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: "https://app.test/sp", User: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	root := parseXML(t, res.XML)
	if res.ACSURL != "https://app.test/acs" {
		t.Errorf("ACS %q", res.ACSURL)
	}
	if root.SelectAttrValue("Destination", "") != "https://app.test/acs" || root.FindElement("//NameID").SelectAttrValue("Format", "") != ssotest.NameIDPersistent {
		t.Error("metadata not applied")
	}
	for _, bad := range []string{"", "<x/>", `<!DOCTYPE x><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="a"/>`,
		`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="a"/>`} {
		if err := idp.RegisterSPMetadata([]byte(bad)); !errors.Is(err, sso.ErrInvalidInput) {
			t.Errorf("%q: got %v, want ErrInvalidInput", bad, err)
		}
	}
	if _, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: "https://app.test/sp", User: "bob@example.com", ACSURL: "https://evil.test/acs"}); !errors.Is(err, ssotest.ErrNotRegistered) {
		t.Errorf("unregistered ACS: got %v", err)
	}
	if _, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: "https://app.test/sp", User: "mallory@example.com"}); !errors.Is(err, sso.ErrNotFound) {
		t.Errorf("unknown user: got %v", err)
	}
}
