package ssoenv

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/discovery"
)

// DiscoveryEnv is a discovery handler served over HTTP with a FakeStarter
// for both protocols.
type DiscoveryEnv struct {
	*Env
	Starter *FakeStarter
	Srv     *httptest.Server
	Client  *http.Client
}

// Discovery serves a discovery handler for e under /sso/ on a test server;
// mut edits its Config first.
func (e *Env) Discovery(t *testing.T, mut func(*discovery.Config)) (*discovery.Handler, *DiscoveryEnv) {
	t.Helper()
	fs := &FakeStarter{}
	base, _ := url.Parse("https://app.example/sso/")
	cfg := discovery.Config{Store: e.St, Starters: map[sso.Protocol]sso.Starter{saml.Protocol: fs, oidc.Protocol: fs},
		BaseURL: base, LocalLoginURL: "/password-login", DefaultReturnTo: "/home", RateLimit: 1000, Burst: 1000,
		Logger: slog.New(slog.DiscardHandler)}
	if mut != nil {
		mut(&cfg)
	}
	d, err := discovery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sso/", http.StripPrefix("/sso", d))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return d, &DiscoveryEnv{Env: e, Starter: fs, Srv: srv, Client: client}
}

// PostForm submits the email form.
func (de *DiscoveryEnv) PostForm(t *testing.T, email, returnTo string) *http.Response {
	t.Helper()
	res, err := de.Client.PostForm(de.Srv.URL+"/sso/login", url.Values{"email": {email}, "return_to": {returnTo}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// PostJSON posts body to the login endpoint and decodes the answer.
func (de *DiscoveryEnv) PostJSON(t *testing.T, body string) (*http.Response, map[string]any) {
	t.Helper()
	res, err := de.Client.Post(de.Srv.URL+"/sso/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return res, m
}

// Get fetches path without following redirects.
func (de *DiscoveryEnv) Get(t *testing.T, path string) *http.Response {
	t.Helper()
	res, err := de.Client.Get(de.Srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}
