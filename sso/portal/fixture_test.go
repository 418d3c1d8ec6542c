package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/store/memstore"
)

var ctx = context.Background()

// fakeConfigurer parses a stand-in for SAML metadata and OIDC input, and
// fails like an IdP does for the hosts named down.example (unreachable)
// and garbage.example (an unusable document).
type fakeConfigurer struct {
	proto sso.Protocol
	now   func() time.Time
}

func (f *fakeConfigurer) ConfigureConnection(_ context.Context, c *sso.Connection, raw json.RawMessage) (*sso.IdPDetails, error) {
	if f.proto == oidc.Protocol {
		var in oidc.ConnectionInput
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
		}
		if !strings.HasPrefix(in.Issuer, "https://") || in.ClientID == "" {
			return nil, fmt.Errorf("%w: oidc: issuer must be https and client_id is required", sso.ErrInvalidInput)
		}
		c.Config = &oidc.ConnectionConfig{Issuer: in.Issuer, ClientID: in.ClientID, ClientSecretSealed: "v1.k.sealed",
			HostedDomains: in.HostedDomains, MFAACRValues: in.MFAACRValues, RedirectURI: in.RedirectURI,
			PostLogoutRedirectURI: in.PostLogoutRedirectURI, GroupOverage: in.GroupOverage, GraphURL: in.GraphURL}
		return &sso.IdPDetails{Issuer: in.Issuer}, nil
	}
	var in saml.ConnectionInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
	}
	switch {
	case strings.Contains(in.MetadataURL, "down.example"):
		return nil, fmt.Errorf("saml: fetch metadata: upstream answered 503: %w", sso.ErrUnavailable)
	case strings.Contains(in.MetadataURL, "garbage.example"):
		return nil, errors.New("saml: metadata: XML syntax error on line 1")
	case strings.Contains(in.MetadataXML, "<EntityDescriptor"):
		cfg := &saml.ConnectionConfig{IdPEntityID: "http://www.okta.com/exk1", SSOURL: "https://acme.okta.example/sso",
			SSOBinding: "redirect", Certificates: []string{"PEM"}, MetadataXML: in.MetadataXML}
		if in.AllowRSA15KeyTransport != nil {
			cfg.AllowRSA15KeyTransport = *in.AllowRSA15KeyTransport
		}
		c.Config = cfg
	default:
		return nil, fmt.Errorf("%w: saml: metadata is not SAML metadata", sso.ErrInvalidInput)
	}
	now := f.now()
	return &sso.IdPDetails{EntityID: "http://www.okta.com/exk1", Endpoints: map[string]string{"sso": "https://acme.okta.example/sso"},
		Certificates: []sso.CertificateInfo{
			{Subject: "CN=okta-current", NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(0, 0, 10), Fingerprint: "AB:CD:EF"},
			{Subject: "CN=okta-next", NotBefore: now, NotAfter: now.AddDate(2, 0, 0), Fingerprint: "12:34:56"},
		}}, nil
}

// Weakened implements admin.SecurityWeakener with the SAML package's own
// rules (saml.SP.Weakened uses no state of the SP), so the admin API audits
// weakenings made through the portal.
func (f *fakeConfigurer) Weakened(before, after sso.ProtocolConfig) []string {
	if f.proto != saml.Protocol {
		return nil
	}
	var sp *saml.SP
	return sp.Weakened(before, after)
}

func (f *fakeConfigurer) ConfigView(c *sso.Connection) any {
	if cfg := saml.ConfigOf(c); cfg != nil {
		return &saml.ConfigView{IdPEntityID: cfg.IdPEntityID, SSOURL: cfg.SSOURL, Certificates: len(cfg.Certificates)}
	}
	if cfg := oidc.ConfigOf(c); cfg != nil {
		return &oidc.ConfigView{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecretSet: true,
			HostedDomains: cfg.HostedDomains, MFAACRValues: cfg.MFAACRValues, RedirectURI: cfg.RedirectURI,
			PostLogoutRedirectURI: cfg.PostLogoutRedirectURI, GroupOverage: cfg.GroupOverage, GraphURL: cfg.GraphURL}
	}
	return nil
}

func (f *fakeConfigurer) SPDetails(c *sso.Connection) *sso.SPDetails {
	if f.proto == saml.Protocol {
		return &sso.SPDetails{EntityID: "https://app.example/saml/" + c.ID, ACSURL: "https://app.example/saml/acs/" + c.ID,
			MetadataURL: "https://app.example/saml/" + c.ID}
	}
	return &sso.SPDetails{RedirectURI: "https://app.example/oidc/callback/" + c.ID, LoginURL: "https://app.example/oidc/login/" + c.ID}
}

type fakeStarter struct{}

func (fakeStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	http.Redirect(w, r, "https://idp.example/login?conn="+c.ID+"&return="+url.QueryEscape(opts.ReturnTo), http.StatusFound)
	return nil
}

type txt map[string][]string

func (t txt) LookupTXT(_ context.Context, name string) ([]string, error) {
	if name == "_ssokit.dnsdown.example" || strings.HasSuffix(name, ".dnsdown.example") {
		return nil, &net.DNSError{Err: "server misbehaving", IsTemporary: true}
	}
	if v, ok := t[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{IsNotFound: true, Err: "no such host"}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixtureStore is a store of the core records and of sessions: memstore
// and sqlstore.
type fixtureStore interface {
	sso.Store
	session.Store
	session.TokenStore
	session.RevocationStore
}

type fixture struct {
	t     *testing.T
	st    fixtureStore
	ps    *portal.MemoryStore
	p     *portal.Portal
	srv   *httptest.Server
	clock *clock
	dns   txt
	orgA  *sso.Organization
	orgB  *sso.Organization
	host  func(r *http.Request) (string, sso.Actor, error)
}

func newFixture(t *testing.T, mutate ...func(*portal.Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, memstore.New(), mutate...)
}

// newFixtureOn is newFixture on the store st.
func newFixtureOn(t *testing.T, st fixtureStore, mutate ...func(*portal.Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, st: st, ps: portal.NewMemoryStore(), dns: txt{},
		clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	for _, slug := range []string{"alpha", "beta"} {
		o := &sso.Organization{ID: opaque.NewID("org_"), Slug: slug, Name: slug}
		o.Settings.Features = sso.Features{"saml", "oidc", "scim", "enforce_sso"}
		if err := f.st.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
		if slug == "alpha" {
			f.orgA = o
		} else {
			f.orgB = o
		}
	}
	aud, err := audit.New(audit.Config{Store: f.st, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	doms, err := domains.New(domains.Config{Store: f.st, Auditor: aud, Resolver: f.dns, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	en, err := policy.New(policy.Config{Store: f.st, Auditor: aud, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := portal.Config{
		Admin: admin.Config{Store: f.st,
			Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: &fakeConfigurer{saml.Protocol, f.clock.Now}, oidc.Protocol: &fakeConfigurer{oidc.Protocol, f.clock.Now}},
			Starters:    map[sso.Protocol]sso.Starter{saml.Protocol: fakeStarter{}, oidc.Protocol: fakeStarter{}},
			Domains:     doms, Enforcer: en, Auditor: aud},
		Store:       f.ps,
		BaseURL:     "https://app.example/portal",
		SCIMBaseURL: func(orgID string) string { return "https://app.example/scim/v2/" + orgID },
		Brand:       portal.Brand{AppName: "Acme App", Accent: "#0b5cad"},
		Now:         f.clock.Now,
		Logger:      slog.New(slog.DiscardHandler),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	p, err := portal.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
	mux := http.NewServeMux()
	mux.Handle("/portal/", http.StripPrefix("/portal", p))
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// browser is one user agent with its own cookie jar.
type browser struct {
	f      *fixture
	client *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	c := f.srv.Client()
	cl := &http.Client{Transport: c.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{f: f, client: cl}
}

// response is a fetched page.
type response struct {
	Status int
	Header http.Header
	Body   string
	Doc    *html.Node
}

func (b *browser) do(req *http.Request) *response {
	b.f.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	out := &response{Status: res.StatusCode, Header: res.Header, Body: string(body)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		doc, err := html.Parse(strings.NewReader(out.Body))
		if err != nil {
			b.f.t.Fatalf("%s: HTML does not parse: %v", req.URL.Path, err)
		}
		out.Doc = doc
	}
	return out
}

func (b *browser) get(path string) *response {
	req, _ := http.NewRequest(http.MethodGet, b.f.srv.URL+"/portal"+path, nil)
	return b.do(req)
}

// post submits a form; csrf "" means the session's own token.
func (b *browser) post(path string, form url.Values) *response {
	req, _ := http.NewRequest(http.MethodPost, b.f.srv.URL+"/portal"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// csrf reads the session's synchronizer token from a page.
func (b *browser) csrf() string {
	b.f.t.Helper()
	r := b.get("/")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(r.Body)
	if m == nil {
		b.f.t.Fatalf("no csrf token on the overview page (%d)", r.Status)
	}
	return m[1]
}

// form returns values with the session's csrf token added.
func (b *browser) form(kv ...string) url.Values {
	v := url.Values{"csrf": {b.csrf()}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// link issues a setup link for org and sections.
func (f *fixture) link(org *sso.Organization, secs ...portal.Section) (string, *portal.SetupLink) {
	f.t.Helper()
	u, l, err := f.p.CreateLink(ctx, portal.LinkRequest{OrgID: org.ID, Sections: secs,
		CreatedBy: sso.Actor{Type: sso.ActorOperator, ID: "staff-1"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return u, l
}

// token extracts the secret from a setup link URL.
func token(u string) string { return u[strings.LastIndex(u, "/")+1:] }

// open starts a session in a new browser through a setup link.
func (f *fixture) open(org *sso.Organization, secs ...portal.Section) (*browser, *portal.SetupLink) {
	f.t.Helper()
	u, l := f.link(org, secs...)
	b := f.browser()
	r := b.post("/start", url.Values{"token": {token(u)}})
	if r.Status != http.StatusSeeOther {
		f.t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	return b, l
}

// text returns the visible text of a page, whitespace collapsed.
func (r *response) text() string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "title") {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if r.Doc != nil {
		walk(r.Doc)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func (f *fixture) events(org *sso.Organization, typ string) []*sso.Event {
	f.t.Helper()
	evs, err := f.st.ListEvents(ctx, sso.EventQuery{OrgID: org.ID, Type: typ, Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	return evs
}
