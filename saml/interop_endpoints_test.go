package saml_test

import (
	"context"
	"html"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// TestInteropSimpleSAMLphpLegacyEndpoints migrates a connection without
// touching the IdP: SimpleSAMLphp keeps the SP registration a previous SP
// left there (a URN entity ID and an ACS path of its own), and ssokit
// serves it through the connection's own SP entity ID and ACS URL.
func TestInteropSimpleSAMLphpLegacyEndpoints(t *testing.T) {
	ssp := startSimpleSAMLphp(t)
	var extra string
	h := newHarness(t, func(c *saml.Config) {
		c.AllowInsecureURLs = true
		c.AllowPrivateAddresses = true
		c.Now = nil
		extra = "https://" + c.BaseURL.Host + "/auth/saml2/"
		c.ExtraACSURLs = []string{extra}
	})
	const legacyEntityID = "urn:legacy-vendor:acme:saml"
	legacyACS := extra + "acme/consume"
	// What the old SP registered at the IdP, written by hand: ssokit's own
	// metadata is never given to this IdP.
	writeFile(t, filepath.Join(ssp.dir, "sp", "legacy.xml"), `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="`+legacyEntityID+`">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="`+legacyACS+`" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
`)
	c := &sso.Connection{ID: "ssp_legacy", OrgID: "org_legacy", Protocol: saml.Protocol, Status: sso.ConnectionActive, DisplayName: "Migrated"}
	eid, acs := legacyEntityID, legacyACS
	if _, err := h.sp.Configure(context.Background(), c, &saml.ConnectionInput{MetadataURL: ssp.base + "/saml2/idp/metadata.php",
		SPEntityID: &eid, ACSURL: &acs}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	saml.ConfigOf(c).AllowIdPInitiated = true
	if err := h.store.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}

	t.Run("SPInitiated", func(t *testing.T) {
		h.rec.reset()
		l := h.expectAccepted(t, spLogin(t, h, h.browser(), c, "/migrated"))
		if l.Connection.ID != c.ID || l.Profile.Email != "alice@example.com" || l.ReturnTo != "/migrated" || l.Profile.Issuer != ssp.entityID {
			t.Fatalf("login %+v profile %+v", l, l.Profile)
		}
	})
	t.Run("IdPInitiated", func(t *testing.T) {
		h.rec.reset()
		b := h.browser()
		resp, err := b.Get(ssp.base + "/saml2/idp/SSOService.php?spentityid=" + url.QueryEscape(legacyEntityID) + "&RelayState=%2Fhome")
		if err != nil {
			t.Fatal(err)
		}
		l := h.expectAccepted(t, idpLogin(t, b, resp))
		if l.Connection.ID != c.ID || l.ReturnTo != "/home" {
			t.Fatalf("login %+v", l)
		}
	})
	t.Run("OtherConnectionRefusesIt", func(t *testing.T) {
		// A second connection to the same IdP, with ssokit's default
		// endpoints: the IdP's answer to the legacy SP, posted to this
		// connection's ACS, fails the audience/destination checks.
		other := ssp.configure(h, "ssp_default", func(s *saml.ConnectionConfig) { s.AllowIdPInitiated = true })
		h.rec.reset()
		b := h.browser()
		resp, err := b.Get(ssp.base + "/saml2/idp/SSOService.php?spentityid=" + url.QueryEscape(legacyEntityID))
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		m := reAuthState.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no login form: %s", tail(body, 300))
		}
		// Log in, then redirect the IdP's form to the other connection.
		resp2, err := b.PostForm(resp.Request.URL.String(), url.Values{"username": {"alice"}, "password": {"wonderland"}, "AuthState": {html.UnescapeString(m[1])}})
		if err != nil {
			t.Fatal(err)
		}
		form := readBody(t, resp2)
		form = reAction.ReplaceAllString(form, `<form method="post" action="`+h.sp.ACSURL(other.ID)+`"`)
		h.expectRejected(t, postSAMLForm(t, b, form), saml.ReasonDestinationMismatch)
	})
}
