package ssotest_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso/ssotest"
)

func FuzzParseAuthnRequest(f *testing.F) {
	good := authnRequestXML("_1", spEntityID, spACS)
	f.Add(redirectRequest(f, good), true)
	f.Add(base64.StdEncoding.EncodeToString([]byte(good)), false)
	f.Add(base64.StdEncoding.EncodeToString([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`+good)), false)
	f.Add("%%%", true)
	f.Fuzz(func(t *testing.T, param string, deflate bool) {
		req, err := ssotest.ParseAuthnRequest(param, deflate)
		if err == nil && (req.ID == "" || req.Issuer == "") {
			t.Fatalf("accepted a request without ID or Issuer: %+v", req)
		}
	})
}

func FuzzParseSPMetadata(f *testing.F) {
	f.Add([]byte(spMetadata))
	f.Add([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="a"/>`))
	f.Add([]byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="a"><md:SPSSODescriptor><md:KeyDescriptor use="encryption"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>AAAA</X509Certificate></X509Data></KeyInfo></md:KeyDescriptor></md:SPSSODescriptor></md:EntityDescriptor>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sp, err := ssotest.ParseSPMetadata(data)
		if err == nil && (sp.EntityID == "" || len(sp.ACSURLs) == 0) {
			t.Fatalf("accepted incomplete metadata: %+v", sp)
		}
	})
}

// FuzzEndpoints sends arbitrary queries and forms to every route: nothing
// may panic or answer 500.
func FuzzEndpoints(f *testing.F) {
	idp := newIdP(f, ssotest.Config{Clients: []ssotest.Client{{ID: "c", Secret: "s", RedirectURIs: []string{"https://rp.test/cb"}}}})
	f.Add("GET", "/saml/sso", "SAMLRequest="+url.QueryEscape(redirectRequest(f, authnRequestXML("_1", spEntityID, spACS))), "")
	f.Add("POST", "/saml/sso", "", "SAMLRequest="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(authnRequestXML("_1", spEntityID, "")))))
	f.Add("GET", "/saml/idp-initiated", "sp="+url.QueryEscape(spEntityID)+"&user=bob@example.com", "")
	f.Add("POST", "/login", "", "login=abc&user=bob@example.com")
	f.Add("GET", "/oidc/authorize", "client_id=c&redirect_uri=https%3A%2F%2Frp.test%2Fcb&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&login_hint=bob@example.com", "")
	f.Add("POST", "/oidc/token", "", "grant_type=authorization_code&code=x&client_id=c&client_secret=s&code_verifier=abc")
	f.Add("GET", "/oidc/userinfo", "", "")
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if method != "GET" && method != "POST" {
			return
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# \t\r\n") {
			return
		}
		u := &url.URL{Path: path, RawQuery: query}
		req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+query)
		rec := httptest.NewRecorder()
		idp.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s: status %d", method, path, query, rec.Code)
		}
	})
}
