package portal_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

type nopCompleter struct{}

func (nopCompleter) Complete(http.ResponseWriter, *http.Request, *sso.Login) error { return nil }
func (nopCompleter) Fail(*http.Request, *sso.LoginFailure)                         {}

// realSAML makes the fixture configure SAML connections with the real
// service provider (not the stand-in), and returns it once built.
func realSAML(t *testing.T, out **saml.SP) func(*portal.Config) {
	return func(cfg *portal.Config) {
		st := cfg.Admin.Store.(*memstore.Store)
		base, _ := url.Parse("https://app.example/sso/saml")
		sp, err := saml.New(saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: nopCompleter{},
			OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Admin.Configurers[saml.Protocol] = sp
		*out = sp
	}
}

// certPEM is a self-signed certificate valid from nb to na.
func certPEM(t *testing.T, nb, na time.Time) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"}, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// samlConn stores a SAML connection of org configured by hand by the real
// service provider.
func samlConn(t *testing.T, f *fixture, sp *saml.SP, org *sso.Organization, cert string, status sso.ConnectionStatus) *sso.Connection {
	t.Helper()
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: org.ID, Protocol: saml.Protocol, DisplayName: "Okta", Status: status}
	if _, err := sp.Configure(ctx, c, &saml.ConnectionInput{IdPEntityID: "http://idp.example/exk1",
		SSOURL: "https://idp.example/sso", Certificates: []string{cert}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func storedSAML(t *testing.T, f *fixture, id string) *saml.ConnectionConfig {
	t.Helper()
	c, err := f.st.GetConnection(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return saml.ConfigOf(c)
}

func TestAdvancedSAMLOwnEntityIDKeepsIdPSide(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	now := f.clock.Now()
	c := samlConn(t, f, sp, f.orgA, certPEM(t, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)), sso.ConnectionDraft)
	b, _ := f.open(f.orgA, portal.SectionSSO)

	r := b.get("/connections/" + c.ID + "/advanced")
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "https://app.example/sso/saml/metadata/"+c.ID) {
		t.Fatalf("advanced page %d does not show the entity ID in effect: %s", r.Status, r.text())
	}
	r = b.post("/connections/"+c.ID+"/advanced", b.form("sp_entity_id", "urn:legacy:acme", "acs_url", "",
		"enforce_certificate_dates", "false", "require_signed_metadata", "false", "allow_rsa15_key_transport", "false",
		"mfa_comparison", "exact"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	cfg := storedSAML(t, f, c.ID)
	if cfg.SPEntityID != "urn:legacy:acme" || cfg.IdPEntityID != "http://idp.example/exk1" || len(cfg.Certificates) != 1 {
		t.Fatalf("stored: sp %q idp %q certs %d", cfg.SPEntityID, cfg.IdPEntityID, len(cfg.Certificates))
	}
	if len(cfg.MFAAuthnContexts) != 0 {
		t.Fatalf("unchanged MFA contexts were made explicit: %v", cfg.MFAAuthnContexts)
	}
	r = b.get("/connections/" + c.ID + "/advanced")
	if !strings.Contains(r.text(), "Our entity ID (audience) urn:legacy:acme") {
		t.Fatalf("entity ID in effect not shown: %s", r.text())
	}
}

func TestAdvancedSAMLFieldErrorNamesField(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	now := f.clock.Now()
	c := samlConn(t, f, sp, f.orgA, certPEM(t, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)), sso.ConnectionDraft)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.post("/connections/"+c.ID+"/advanced", b.form("acs_url", "https://elsewhere.example/acs"))
	if r.Status != http.StatusBadRequest {
		t.Fatalf("foreign ACS URL: %d", r.Status)
	}
	if !strings.Contains(r.Body, `name="acs_url" type="url" value="https://elsewhere.example/acs" autocomplete="off" aria-describedby="a-1-help" aria-invalid="true"`) {
		t.Fatalf("the ACS URL field is not marked invalid with the value kept: %s", r.Body)
	}
	if n := strings.Count(r.Body, `aria-invalid="true"`); n != 1 {
		t.Fatalf("%d fields marked invalid, want only the ACS URL", n)
	}
	if !strings.Contains(r.text(), "“Our Assertion Consumer Service URL for this connection” could not be used") {
		t.Fatalf("no explanation: %s", r.text())
	}
	if storedSAML(t, f, c.ID).ACSURL != "" {
		t.Fatal("a refused ACS URL was stored")
	}
	r = b.post("/connections/"+c.ID+"/advanced", b.form("allow_rsa15_key_transport", "maybe"))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `name="allow_rsa15_key_transport" aria-describedby="a-8-help" aria-invalid="true"`) {
		t.Fatalf("bad switch value: %d %s", r.Status, r.Body)
	}
}

func TestAdvancedSAMLWeakeningNeedsConfirmation(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	now := f.clock.Now()
	c := samlConn(t, f, sp, f.orgA, certPEM(t, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)), sso.ConnectionActive)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	form := b.form("allow_rsa15_key_transport", "true")
	r := b.post("/connections/"+c.ID+"/advanced", form)
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "RSA 1.5 key transport, which is open to known attacks") ||
		!strings.Contains(r.text(), "turns it off") || !strings.Contains(r.text(), "Lower security and save") {
		t.Fatalf("no confirmation naming the risk: %d %s", r.Status, r.text())
	}
	if storedSAML(t, f, c.ID).AllowRSA15KeyTransport {
		t.Fatal("weakened before confirmation")
	}
	form.Set("confirmed", "yes")
	if r = b.post("/connections/"+c.ID+"/advanced", form); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d %s", r.Status, r.text())
	}
	got, _ := f.st.GetConnection(ctx, c.ID)
	if !saml.ConfigOf(got).AllowRSA15KeyTransport || got.Status != sso.ConnectionDraft {
		t.Fatalf("after confirmation: rsa15 %v status %s", saml.ConfigOf(got).AllowRSA15KeyTransport, got.Status)
	}
	evs := f.events(f.orgA, portal.EventSecurityWeakened)
	if len(evs) != 1 || evs[0].Details["weakened"] != "allow_rsa15_key_transport" {
		t.Fatalf("audit: %+v", evs)
	}
	r = b.get("/connections/" + c.ID + "/advanced")
	if !strings.Contains(r.text(), "padding-oracle") {
		t.Fatalf("the API's warning is not shown: %s", r.text())
	}
}

func TestAdvancedExpiredCertificateWarningOnConnectionPage(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	now := f.clock.Now()
	c := samlConn(t, f, sp, f.orgA, certPEM(t, now.AddDate(-2, 0, 0), now.AddDate(0, 0, -3)), sso.ConnectionDraft)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.get("/connections/" + c.ID)
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "Warnings") || !strings.Contains(strings.ToLower(r.text()), "expired") {
		t.Fatalf("connection page shows no certificate warning: %s", r.text())
	}
	if !strings.Contains(r.Body, "/connections/"+c.ID+"/advanced") {
		t.Fatal("no link to the advanced settings")
	}
}

func TestAdvancedOtherOrganizationRefused(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	now := f.clock.Now()
	c := samlConn(t, f, sp, f.orgA, certPEM(t, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)), sso.ConnectionDraft)
	b, _ := f.open(f.orgB, portal.SectionSSO)
	if r := b.get("/connections/" + c.ID + "/advanced"); r.Status != http.StatusNotFound {
		t.Fatalf("other org's page: %d", r.Status)
	}
	r := b.post("/connections/"+c.ID+"/advanced", b.form("sp_entity_id", "urn:attacker", "confirmed", "yes"))
	if r.Status != http.StatusNotFound || storedSAML(t, f, c.ID).SPEntityID != "" {
		t.Fatalf("other org's save: %d, stored %q", r.Status, storedSAML(t, f, c.ID).SPEntityID)
	}
	dom, _ := f.open(f.orgA, portal.SectionDomains)
	if r := dom.get("/connections/" + c.ID + "/advanced"); r.Status != http.StatusForbidden {
		t.Fatalf("a link without the SSO section: %d", r.Status)
	}
}

// recordingConfigurer keeps the configuration inputs the admin API
// receives. The OIDC side stays the fixture's stand-in: the real relying
// party needs a live provider for discovery, and what is tested here is
// what the portal sends.
type recordingConfigurer struct {
	sso.ConnectionConfigurer
	mu   sync.Mutex
	last map[string]any
}

func (r *recordingConfigurer) ConfigureConnection(c2 context.Context, c *sso.Connection, raw json.RawMessage) (*sso.IdPDetails, error) {
	r.mu.Lock()
	r.last = map[string]any{}
	_ = json.Unmarshal(raw, &r.last)
	r.mu.Unlock()
	return r.ConnectionConfigurer.ConfigureConnection(c2, c, raw)
}

func TestAdvancedOIDCSendsEverySettingInUse(t *testing.T) {
	rec := &recordingConfigurer{}
	f := newFixture(t, func(cfg *portal.Config) {
		rec.ConnectionConfigurer = cfg.Admin.Configurers[oidc.Protocol]
		cfg.Admin.Configurers[oidc.Protocol] = rec
	})
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: f.orgA.ID, Protocol: oidc.Protocol, DisplayName: "Auth0", Status: sso.ConnectionDraft,
		Config: &oidc.ConnectionConfig{Issuer: "https://tenant.auth0.example/", ClientID: "cid", ClientSecretSealed: "v1.k.sealed"}}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.get("/connections/" + c.ID + "/advanced")
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "https://app.example/oidc/callback/"+c.ID) {
		t.Fatalf("page: %d %s", r.Status, r.text())
	}
	r = b.post("/connections/"+c.ID+"/advanced", b.form("redirect_uri", "https://app.example/legacy/callback",
		"group_overage", "graph", "mfa_acr_values", " urn:mfa  urn:otp ", "post_logout_redirect_uri", "", "graph_url", "", "hosted_domains", ""))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	got := rec.last
	if got["issuer"] != "https://tenant.auth0.example/" || got["client_id"] != "cid" || got["redirect_uri"] != "https://app.example/legacy/callback" ||
		got["group_overage"] != "graph" || len(got["mfa_acr_values"].([]any)) != 2 {
		t.Fatalf("sent %v", got)
	}
	if _, ok := got["client_secret"]; ok {
		t.Fatal("a client secret was sent: the stored one must be kept")
	}
	r = b.post("/connections/"+c.ID+"/advanced", b.form("group_overage", "ldap"))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `aria-invalid="true"`) {
		t.Fatalf("unknown choice: %d", r.Status)
	}
}

// TestAdvancedSAMLMetadataURLKept saves an advanced setting of a connection
// set up from a metadata URL: the metadata is downloaded again and the URL
// stays. The metadata is served by a loopback file server standing in for
// the IdP's metadata endpoint (the real SP fetches it).
func TestAdvancedSAMLMetadataURLKept(t *testing.T) {
	md := idpMetadata(t, "https://idp.example.com/md")
	var hits atomic.Int32
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = io.WriteString(w, md)
	}))
	defer idp.Close()
	var sp *saml.SP
	f := newFixture(t, func(cfg *portal.Config) {
		st := cfg.Admin.Store.(*memstore.Store)
		base, _ := url.Parse("https://app.example/sso/saml")
		s, err := saml.New(saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: nopCompleter{},
			AllowInsecureURLs: true, AllowPrivateAddresses: true,
			OnLogout: func(context.Context, *saml.LogoutRequest) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Admin.Configurers[saml.Protocol] = s
		sp = s
	})
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: f.orgA.ID, Protocol: saml.Protocol, DisplayName: "Okta", Status: sso.ConnectionDraft}
	if _, err := sp.Configure(ctx, c, &saml.ConnectionInput{MetadataURL: idp.URL + "/metadata"}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.post("/connections/"+c.ID+"/advanced", b.form("mfa_comparison", "minimum"))
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "may answer with a context we do not count as multi-factor") {
		t.Fatalf("no confirmation for minimum: %d %s", r.Status, r.text())
	}
	r = b.post("/connections/"+c.ID+"/advanced", b.form("mfa_comparison", "minimum", "confirmed", "yes"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	cfg := storedSAML(t, f, c.ID)
	if cfg.MFAComparison != "minimum" || cfg.MetadataURL != idp.URL+"/metadata" || cfg.IdPEntityID != "https://idp.example.com/md" || hits.Load() != 2 {
		t.Fatalf("stored comparison %q metadata URL %q entity %q, fetched %d times", cfg.MFAComparison, cfg.MetadataURL, cfg.IdPEntityID, hits.Load())
	}
}

// TestIdPSaveKeepsOIDCAdvancedSettings saves an OIDC connection's identity
// provider side again (a new client secret) on the connection page: the
// advanced settings in use travel with it, since the admin API configures
// a connection as a whole and would clear them, among them the Google
// Workspace domains that keep other Workspaces out. A changed issuer no
// longer Google's drops the domains instead of failing on a field the page
// does not show.
func TestIdPSaveKeepsOIDCAdvancedSettings(t *testing.T) {
	rec := &recordingConfigurer{}
	f := newFixture(t, func(cfg *portal.Config) {
		rec.ConnectionConfigurer = cfg.Admin.Configurers[oidc.Protocol]
		cfg.Admin.Configurers[oidc.Protocol] = rec
	})
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: f.orgA.ID, Protocol: oidc.Protocol, DisplayName: "Google", Status: sso.ConnectionDraft,
		Config: &oidc.ConnectionConfig{Issuer: "https://accounts.google.com", ClientID: "cid", ClientSecretSealed: "v1.k.sealed",
			HostedDomains: []string{"acme.example"}, MFAACRValues: []string{"urn:mfa"}, RedirectURI: "https://app.example/legacy/callback"}}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	page := "/connections/" + c.ID
	r := b.post(page+"/idp", b.form("guide", "oidc", "issuer", "https://accounts.google.com", "client_id", "cid", "client_secret", "new-secret"))
	if r.Status != http.StatusOK {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	got := rec.last
	if got["client_secret"] != "new-secret" || fmt.Sprint(got["hosted_domains"]) != "[acme.example]" ||
		fmt.Sprint(got["mfa_acr_values"]) != "[urn:mfa]" || got["redirect_uri"] != "https://app.example/legacy/callback" {
		t.Fatalf("sent %v; want the new secret with the advanced settings in use", got)
	}
	r = b.post(page+"/idp", b.form("guide", "oidc", "issuer", "https://login.example", "client_id", "cid", "client_secret", "s"))
	if r.Status != http.StatusOK {
		t.Fatalf("save with another issuer: %d %s", r.Status, r.text())
	}
	if _, ok := rec.last["hosted_domains"]; ok || fmt.Sprint(rec.last["mfa_acr_values"]) != "[urn:mfa]" {
		t.Fatalf("sent %v; want no hosted_domains for an issuer other than Google's, the rest kept", rec.last)
	}
}
