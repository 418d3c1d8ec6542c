package stack_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memmfa"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
	"github.com/ssokit/ssokit/store/memstore/memscim"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

var (
	_ stack.Store = (*memstore.Store)(nil)
	_ stack.Store = (*sqlstore.Store)(nil)
)

// memStores returns a Config holding a fresh memstore and the protocol
// stores on it.
func memStores() stack.Config {
	ms := memstore.New()
	return stack.Config{Store: ms, SAMLStore: memsaml.New(ms), OIDCStore: memoidc.New(ms),
		SCIMStore: memscim.New(ms), MFAStore: memmfa.New(ms)}
}

// sqlStores returns a Config holding a migrated SQLite store and the
// protocol stores on it.
func sqlStores(t *testing.T) stack.Config {
	st, err := sqlstore.New(testdb.SQLite(t), sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return stack.Config{Store: st, SAMLStore: sqlsaml.New(st), OIDCStore: sqloidc.New(st),
		SCIMStore: sqlscim.New(st), MFAStore: sqlmfa.New(st)}
}

// clientIP is the test's trusted-proxy rule: every component must use it.
const clientIP = "203.0.113.7"

type org struct {
	slug, domain, email string
	protocol            sso.Protocol
}

var orgs = []org{
	{"acme", "acme.test", "alice@acme.test", saml.Protocol},
	{"globex", "globex.test", "bob@globex.test", oidc.Protocol},
}

// start builds a Stack on the stores of stores behind an httptest server
// with a host route /app/ and returns it with its base URL, after
// registering one SAML and one OIDC connection at an in-process development
// IdP.
func start(t *testing.T, stores stack.Config) (*stack.Stack, string) {
	t.Helper()
	ctx := context.Background()
	st := stores.Store
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	base, _ := url.Parse(srv.URL)

	s, err := stack.New(ctx, stack.Config{
		Store:           st,
		SAMLStore:       stores.SAMLStore,
		OIDCStore:       stores.OIDCStore,
		SCIMStore:       stores.SCIMStore,
		MFAStore:        stores.MFAStore,
		BaseURL:         base,
		SealKeyID:       "k1",
		SealKeys:        map[string][]byte{"k1": make([]byte, 32)},
		LocalLoginURL:   "/password-login",
		DefaultReturnTo: "/app/",
		Authorize: func(r *http.Request) (string, sso.Actor, error) {
			p, ok := sso.PrincipalFrom(r.Context())
			if !ok {
				return "", sso.Actor{}, sso.ErrForbidden
			}
			return p.OrgID, sso.Actor{Type: sso.ActorAdmin, ID: p.UserID}, nil
		},
		SweepInterval: stores.SweepInterval,
		MFA:           &stack.MFAConfig{Issuer: "stack test"},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		ClientIP:      func(*http.Request) string { return clientIP },
		Dev:           stack.Dev{AllowInsecureCookie: true, AllowInsecureURLs: true, AllowPrivateAddresses: true},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	s.Mount(mux)
	mux.Handle("/app/", s.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s of %s via %s", p.UserID, p.OrgID, p.Method)
	})))
	h = s.Middleware(mux)

	idp := ssotest.NewServerWith(t, ssotest.Config{Users: []ssotest.User{
		{Email: "alice@acme.test", GivenName: "Alice", FamilyName: "Anders", Subject: "alice"},
		{Email: "bob@globex.test", GivenName: "Bob", FamilyName: "Brown", Subject: "bob"},
	}})
	now := time.Now().UTC()
	for _, o := range orgs {
		or := &sso.Organization{ID: "org_" + o.slug, Slug: o.slug, Name: o.slug, CreatedAt: now, UpdatedAt: now,
			Settings: sso.OrgSettings{AllowJIT: true, DefaultRole: "member",
				Features: sso.Features{"saml", "oidc", "scim"}}}
		if err := st.CreateOrg(ctx, or); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateDomain(ctx, &sso.Domain{OrgID: or.ID, Name: o.domain, Token: opaque.NewToken(16),
			State: sso.DomainVerified, VerifiedAt: now, LastCheckedAt: now, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		conn := &sso.Connection{ID: "conn_" + o.slug, OrgID: or.ID, Protocol: o.protocol, Status: sso.ConnectionActive,
			DisplayName: o.slug, LastTestOK: now, CreatedAt: now, UpdatedAt: now}
		var err error
		if o.protocol == saml.Protocol {
			_, err = s.SAML.Configure(ctx, conn, &saml.ConnectionInput{MetadataURL: idp.URL() + "/saml/metadata"})
		} else {
			_, err = s.OIDC.Configure(ctx, conn, &oidc.ConnectionInput{Issuer: idp.Issuer(), ClientID: o.slug + "-client",
				ClientSecret: "secret-" + o.slug, AuthMethod: "client_secret_basic"})
		}
		if err != nil {
			t.Fatalf("configure %s: %v", o.protocol, err)
		}
		if err := st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		if o.protocol == saml.Protocol {
			d := s.SAML.SPDetails(conn)
			err = idp.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: d.EntityID, ACSURLs: []string{d.ACSURL}})
		} else {
			err = idp.RegisterClient(ssotest.Client{ID: o.slug + "-client", Secret: "secret-" + o.slug,
				RedirectURIs: []string{s.OIDC.SPDetails(conn).RedirectURI}})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return s, srv.URL
}

// login runs the email-first login through discovery and the IdP and
// returns the browser holding the session cookie and the final page.
func login(t *testing.T, base, email string) (*ssotest.Browser, string) {
	t.Helper()
	b := ssotest.NewBrowser()
	res, err := b.LoginByEmail(context.Background(), base+"/sso/login", email, "/app/")
	if err != nil {
		t.Fatalf("login %s: %v (visited %v)", email, err, b.Visited)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: status %d at %s: %s (visited %v)", email, res.StatusCode, res.Request.URL, body, b.Visited)
	}
	return b, string(body)
}

func stores(t *testing.T) map[string]func(t *testing.T) stack.Config {
	return map[string]func(t *testing.T) stack.Config{
		"memstore": func(*testing.T) stack.Config { return memStores() },
		"sqlite":   sqlStores,
	}
}

func TestLoginThroughHandler(t *testing.T) {
	t.Parallel()
	for name, newStores := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			stores := newStores(t)
			st := stores.Store
			_, base := start(t, stores)
			for _, o := range orgs {
				t.Run(string(o.protocol), func(t *testing.T) {
					b, page := login(t, base, o.email)
					if want := "of org_" + o.slug + " via " + string(o.protocol); !strings.Contains(page, want) {
						t.Fatalf("got page %q, want it to contain %q", page, want)
					}
					// The session works on a fresh request through Middleware and Require.
					res, err := b.Client.Get(base + "/app/again")
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						t.Fatalf("got status %d with the session, want 200", res.StatusCode)
					}
					// The admin API sees the same session (and the MFA policy, met).
					res, err = b.Client.Get(base + "/admin/sso/connections")
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						t.Fatalf("admin API: got status %d, want 200", res.StatusCode)
					}
					// A cross-site request with the session cookie (CSRF) is refused.
					req, _ := http.NewRequest("POST", base+"/admin/sso/scim-tokens", strings.NewReader(`{"description":"x"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Sec-Fetch-Site", "cross-site")
					res, err = b.Client.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					res.Body.Close()
					if res.StatusCode != http.StatusForbidden {
						t.Fatalf("cross-site admin POST: got status %d, want 403", res.StatusCode)
					}
					// The trusted-proxy rule reached login completion and audit.
					evs, err := st.ListEvents(context.Background(), sso.EventQuery{OrgID: "org_" + o.slug})
					if err != nil {
						t.Fatal(err)
					}
					var n int
					for _, e := range evs {
						if e.IP != "" && e.IP != clientIP {
							t.Errorf("event %s: got IP %q, want %q", e.Type, e.IP, clientIP)
						}
						if e.IP == clientIP {
							n++
						}
					}
					if n == 0 {
						t.Errorf("no audit event of %d carries the configured client IP", len(evs))
					}
				})
			}
			// Without a session the host route refuses.
			res, err := http.Get(base + "/app/")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("without a session: got status %d, want 401", res.StatusCode)
			}
		})
	}
}

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	s, _ := start(t, memStores())
	stop := testkit.Start(t, s.Run)
	time.Sleep(50 * time.Millisecond)
	stop()
}

func TestNewReportsEveryMissingField(t *testing.T) {
	t.Parallel()
	_, err := stack.New(context.Background(), stack.Config{MFA: &stack.MFAConfig{}})
	if !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("got %v, want sso.ErrInvalidConfig", err)
	}
	for _, want := range []string{"Store", "BaseURL", "LocalLoginURL", "SealKeys", "MFA.Issuer",
		"SAMLStore", "OIDCStore", "SCIMStore", "MFAStore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// oneStore is a host's store that implements the core, session and every
// protocol store on one type.
type oneStore struct {
	*memstore.Store
	*samlStore
	*oidcStore
	*scimStore
	*mfaStore
}

type (
	samlStore = memsaml.Store
	oidcStore = memoidc.Store
	scimStore = memscim.Store
	mfaStore  = memmfa.Store
)

// TestProtocolStores checks that a protocol store left nil defaults to
// Store when Store implements it too, and is reported by field name when it
// does not.
func TestProtocolStores(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://app.example.com")
	config := func(st stack.Store) stack.Config {
		return stack.Config{Store: st, BaseURL: base, SealKeyID: "k1", SealKeys: map[string][]byte{"k1": make([]byte, 32)},
			LocalLoginURL: "/password-login", MFA: &stack.MFAConfig{Issuer: "stack test"},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	}
	t.Run("Store implements them", func(t *testing.T) {
		ms := memstore.New()
		st := oneStore{ms, memsaml.New(ms), memoidc.New(ms), memscim.New(ms), memmfa.New(ms)}
		s, err := stack.New(context.Background(), config(st))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if s.SAML == nil || s.OIDC == nil || s.SCIM == nil || s.MFA == nil {
			t.Errorf("got SAML %v, OIDC %v, SCIM %v, MFA %v, want every component", s.SAML, s.OIDC, s.SCIM, s.MFA)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := stack.New(context.Background(), config(memstore.New()))
		if !errors.Is(err, sso.ErrInvalidConfig) {
			t.Fatalf("got %v, want sso.ErrInvalidConfig", err)
		}
		for _, want := range []string{"SAMLStore is required", "memsaml.New", "OIDCStore is required",
			"SCIMStore is required", "MFAStore is required", "sqlmfa.New"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
	t.Run("MFA off", func(t *testing.T) {
		cfg := memStores()
		cfg.BaseURL, cfg.SealKeyID, cfg.SealKeys, cfg.LocalLoginURL = base, "k1", map[string][]byte{"k1": make([]byte, 32)}, "/login"
		cfg.MFAStore = nil
		if _, err := stack.New(context.Background(), cfg); err != nil {
			t.Errorf("New without MFA and MFAStore: %v", err)
		}
	})
}

func TestRoutesFollowBaseURLPath(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://app.example.com/auth/")
	cfg := memStores()
	cfg.BaseURL, cfg.SealKeyID, cfg.SealKeys = base, "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := stack.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/auth/scim/v2/ServiceProviderConfig", http.StatusOK},
		{"/scim/v2/ServiceProviderConfig", http.StatusNotFound},
		{"/auth/mfa/status", http.StatusNotFound},            // MFA off: not mounted
		{"/auth/admin/sso/connections", http.StatusNotFound}, // no Authorize: not mounted
	} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com"+tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("GET %s: got status %d, want %d", tc.path, rec.Code, tc.want)
		}
	}
	if s.MFA != nil || s.Admin != nil {
		t.Errorf("got MFA %v, Admin %v, want both nil when not configured", s.MFA, s.Admin)
	}
}

func TestSigningKeysMountTokenRoutes(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://app.example.com")
	cfg := memStores()
	cfg.BaseURL, cfg.SealKeyID, cfg.SealKeys = base, "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		keys []session.SigningKey
		want int
	}{
		{"off", nil, http.StatusNotFound},
		{"on", []session.SigningKey{{ID: "k1", PrivateKey: key}}, http.StatusOK},
	} {
		cfg.SigningKeys = tc.keys
		s, err := stack.New(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: New: %v", tc.name, err)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "https://app.example.com/.well-known/jwks.json", nil))
		if rec.Code != tc.want {
			t.Errorf("%s: GET jwks: got status %d, want %d", tc.name, rec.Code, tc.want)
		}
	}
}

// TestBareBaseURLKeepsCookiePathsAbsolute: with a BaseURL that has no path
// ("https://app.example.com"), the SAML request cookie is scoped to the
// ACS path. A relative path would make the browser scope it to whatever
// page started the login (the admin API for a test login), so the ACS
// would never see it and every such login would fail as started by
// another browser.
func TestBareBaseURLKeepsCookiePathsAbsolute(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://app.example.com")
	cfg := memStores()
	cfg.BaseURL, cfg.SealKeyID, cfg.SealKeys = base, "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := stack.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_bare", OrgID: "org_1", Protocol: saml.Protocol, Status: sso.ConnectionActive,
		Config: &saml.ConnectionConfig{IdPEntityID: "https://idp.example", SSOURL: "https://idp.example/sso", SSOBinding: "redirect"}}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "https://app.example.com/api/admin/connections/conn_bare/test", nil)
	if err := s.SAML.StartLogin(rec, r, conn, sso.StartOptions{Test: true}); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Path != "/sso/saml/acs/conn_bare" {
		t.Fatalf("request cookies %v, want one with Path /sso/saml/acs/conn_bare", cookies)
	}
	if acs := s.SAML.SPDetails(conn).ACSURL; acs != "https://app.example.com/sso/saml/acs/conn_bare" {
		t.Fatalf("ACS URL %q", acs)
	}
}
