package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// TestSAMLTestSignInByPostBinding: a test sign-in of a connection whose
// IdP takes the AuthnRequest only by HTTP-POST answers the service
// provider's auto-submitting form under that form's own
// Content-Security-Policy alone. The portal's policy (no inline script)
// sent beside it would also be enforced by the browser, stop the form's
// submit and leave the admin on a blank page; the portal's frame refusal
// stays.
func TestSAMLTestSignInByPostBinding(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, func(cfg *portal.Config) {
		st := cfg.Admin.Store.(*memstore.Store)
		base, _ := url.Parse("https://app.example/sso/saml")
		s, err := saml.New(saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: nopCompleter{},
			OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Admin.Configurers[saml.Protocol] = s
		cfg.Admin.Starters[saml.Protocol] = s
		sp = s
	})
	md := strings.Replace(idpMetadata(t, "https://idp.example.com/md"),
		"bindings:HTTP-Redirect", "bindings:HTTP-POST", 1)
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: f.orgA.ID, Protocol: saml.Protocol, DisplayName: "Post IdP", Status: sso.ConnectionDraft}
	if _, err := sp.Configure(ctx, c, &saml.ConnectionInput{MetadataXML: md}); err != nil {
		t.Fatal(err)
	}
	if cfg := saml.ConfigOf(c); cfg == nil || cfg.SSOBinding != "post" {
		t.Fatalf("metadata with only an HTTP-POST endpoint configured %+v", cfg)
	}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.post("/connections/"+c.ID+"/test", b.form())
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="SAMLRequest"`) || !strings.Contains(r.Body, "submit()") {
		t.Fatalf("test sign-in: %d %s", r.Status, r.Body)
	}
	csp := r.Header.Values("Content-Security-Policy")
	if len(csp) != 1 || !strings.Contains(csp[0], "script-src 'unsafe-inline'") || !strings.Contains(csp[0], "form-action https://idp.example.com") {
		t.Fatalf("Content-Security-Policy %q: the browser enforces every policy sent, so the form's submit must be allowed by all", csp)
	}
	if got := r.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q, want DENY", got)
	}
}
