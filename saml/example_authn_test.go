package saml_test

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// A login that requires MFA and a recent authentication asks the IdP for
// both; the ACS refuses a response that does not show them.
func ExampleSP_StartLogin_requireMFA() {
	store := memstore.New()
	base, _ := url.Parse("https://app.example.com/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: base, Connections: store, Store: memsaml.New(store), Completer: exampleFlow{},
		Logger: discardLogger()})
	if err != nil {
		panic(err)
	}
	conn := &sso.Connection{ID: "conn_123", Protocol: saml.Protocol, Status: sso.ConnectionActive,
		Config: &saml.ConnectionConfig{IdPEntityID: "https://idp.example.com", SSOURL: "https://idp.example.com/sso"}}
	w := httptest.NewRecorder()
	err = sp.StartLogin(w, httptest.NewRequest("GET", "https://app.example.com/login", nil), conn,
		sso.StartOptions{RequireMFA: true, MaxAge: 15 * time.Minute})
	if err != nil {
		panic(err)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	raw, _ := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLRequest"))
	xmlb, _ := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
	doc := etree.NewDocument()
	_ = doc.ReadFromBytes(xmlb)
	req := doc.Root()
	fmt.Println("ForceAuthn:", req.SelectAttrValue("ForceAuthn", "false"))
	rac := req.SelectElement("RequestedAuthnContext")
	fmt.Println("Comparison:", rac.SelectAttrValue("Comparison", ""))
	for _, ref := range rac.SelectElements("AuthnContextClassRef") {
		fmt.Println(ref.Text())
	}
	// Output:
	// ForceAuthn: true
	// Comparison: exact
	// http://schemas.microsoft.com/claims/multipleauthn
	// https://refeds.org/profile/mfa
	// urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract
}
