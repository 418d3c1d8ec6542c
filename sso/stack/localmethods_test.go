package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mememailcode"
)

// TestDiscoveryNamesTurnedOnMethods: with EmailCode on (and no other
// local method), discovery's redirect to the local login page names the
// methods the stack turned on that the email's organization allows:
// email_code for an organization whose plan has codes but not links, both
// for an address of no organization.
func TestDiscoveryNamesTurnedOnMethods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := memStores()
	st := cfg.Store.(*memstore.Store)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg.BaseURL, _ = url.Parse(srv.URL)
	cfg.SealKeyID, cfg.SealKeys = "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Dev = stack.Dev{AllowInsecureCookie: true, AllowInsecureURLs: true, AllowPrivateAddresses: true}
	cfg.EmailCode = &stack.EmailCodeConfig{Store: mememailcode.New(st), Mailer: &mail.DevMailer{}}
	s, err := stack.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = s.Handler()
	if err := st.CreateOrg(ctx, &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme",
		Settings: sso.OrgSettings{Features: sso.Features{emailcode.FeatureCode}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: "org_acme", Name: "acme.test", Token: "t", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	methods := func(email string) string {
		t.Helper()
		res, err := c.PostForm(srv.URL+"/sso/login", url.Values{"email": {email}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		u, err := url.Parse(res.Header.Get("Location"))
		if err != nil || !strings.HasPrefix(u.Path, "/password-login") {
			t.Fatalf("%s: got %d %s, want the local login page", email, res.StatusCode, res.Header.Get("Location"))
		}
		return u.Query().Get("methods")
	}
	if got := methods("jane@acme.test"); got != "email_code" {
		t.Errorf("methods for Acme = %q, want email_code", got)
	}
	if got := methods("jane@elsewhere.test"); got != "email_code,magic_link" {
		t.Errorf("methods for no organization = %q, want email_code,magic_link", got)
	}
}
