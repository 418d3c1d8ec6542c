package ssotest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/sso/ssotest"
)

func ExampleNewIdP() {
	base, _ := url.Parse("https://idp.example.test/dev-idp")
	idp, err := ssotest.NewIdP(ssotest.Config{
		BaseURL:   base,
		AutoLogin: "alice@example.com",
		ServiceProviders: []ssotest.ServiceProvider{{
			EntityID: "https://app.example.test/saml/metadata",
			ACSURLs:  []string{"https://app.example.test/saml/acs/acme"},
		}},
		Clients: []ssotest.Client{{
			ID: "app", Secret: "dev-secret",
			RedirectURIs: []string{"https://app.example.test/oidc/callback/globex"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Mount it: mux.Handle("/dev-idp/", http.StripPrefix("/dev-idp", idp))
	fmt.Println(idp.SAMLEntityID())
	fmt.Println(idp.SAMLSSOURL())
	fmt.Println(idp.Issuer())
	// Output:
	// https://idp.example.test/dev-idp/saml/metadata
	// https://idp.example.test/dev-idp/saml/sso
	// https://idp.example.test/dev-idp/oidc
}

// A relying party's callback receives the code, state and RFC 9207 iss.
func ExampleBrowser_Login_oidc() {
	s, err := ssotest.StartServer(ssotest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		fmt.Fprintf(w, "state=%s iss-ok=%v code-present=%v", q.Get("state"), q.Get("iss") == s.Issuer(), q.Get("code") != "")
	}))
	defer rp.Close()
	if err := s.RegisterClient(ssotest.Client{ID: "app", Secret: "x", RedirectURIs: []string{rp.URL + "/callback"}}); err != nil {
		log.Fatal(err)
	}
	authorize := s.Issuer() + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {rp.URL + "/callback"},
		"scope": {"openid email"}, "state": {"xyz"}, "nonce": {"n"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}.Encode()

	b := ssotest.NewBrowser()
	b.User = "bob@example.com" // picked on the IdP's login page
	resp, err := b.Login(context.Background(), authorize)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: state=xyz iss-ok=true code-present=true
}

// An IdP-initiated SAML login posted to the SP's ACS.
func ExampleBrowser_Login_saml() {
	s, err := ssotest.StartServer(ssotest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	sp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := base64.StdEncoding.DecodeString(r.PostFormValue("SAMLResponse"))
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil {
			http.Error(w, "bad response", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s signed in, relay %s", doc.FindElement("//NameID").Text(), r.PostFormValue("RelayState"))
	}))
	defer sp.Close()
	if err := s.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: sp.URL, ACSURLs: []string{sp.URL + "/acs"}}); err != nil {
		log.Fatal(err)
	}
	resp, err := ssotest.NewBrowser().Login(context.Background(), s.IdPInitiatedURL(sp.URL, "alice@example.com", "/dashboard"))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: alice@example.com signed in, relay /dashboard
}

// Broken responses show that an SP rejects them.
func ExampleIdP_NewSAMLResponse() {
	base, _ := url.Parse("https://idp.example.test")
	idp, err := ssotest.NewIdP(ssotest.Config{BaseURL: base,
		ServiceProviders: []ssotest.ServiceProvider{{EntityID: "https://sp.example.test", ACSURLs: []string{"https://sp.example.test/acs"}}}})
	if err != nil {
		log.Fatal(err)
	}
	res, err := idp.NewSAMLResponse(ssotest.SAMLResponseRequest{
		ServiceProvider: "https://sp.example.test",
		User:            "bob@example.com",
		InResponseTo:    "_request-id",
		Faults:          ssotest.SAMLWrongAudience | ssotest.SAMLSHA1,
	})
	if err != nil {
		log.Fatal(err)
	}
	doc := etree.NewDocument()
	_ = doc.ReadFromBytes(res.XML)
	fmt.Println(doc.FindElement("//Audience").Text())
	fmt.Println(doc.FindElement("//SignatureMethod").SelectAttrValue("Algorithm", ""))
	// Output:
	// https://wrong-audience.invalid/sp
	// http://www.w3.org/2000/09/xmldsig#rsa-sha1
}

func ExampleSCIMClient() {
	scim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		ops, _ := json.Marshal(body["Operations"])
		fmt.Println(r.Method, r.URL.Path, r.URL.Query().Get("filter"), strings.TrimSpace(string(ops)))
		w.Header().Set("Content-Type", "application/scim+json")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		fmt.Fprint(w, `{"id":"u1","totalResults":0}`)
	}))
	defer scim.Close()

	c := ssotest.NewSCIMClient(scim.URL+"/scim/v2", "token", ssotest.Entra)
	ctx := context.Background()
	res, _ := c.CreateUser(ctx, ssotest.SCIMUser{UserName: "jo@example.com", GivenName: "Jo", FamilyName: "Li"})
	fmt.Println(res.StatusCode, res.ID())
	_, _ = c.DeactivateUser(ctx, res.ID())
	// Output:
	// GET /scim/v2/Users userName eq "jo@example.com" null
	// POST /scim/v2/Users  null
	// 201 u1
	// PATCH /scim/v2/Users/u1  [{"op":"Replace","path":"active","value":"False"}]
}
