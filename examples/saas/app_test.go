package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso/ssotest"
)

// startDemo runs the demo on a loopback port with a fresh database (SQLite,
// or PostgreSQL when dsn is given) and returns its base URL.
func startDemo(t *testing.T, dsn string) (*App, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if dsn == "" {
		dsn = filepath.Join(t.TempDir(), "demo.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := NewApp(ctx, Options{Addr: ln.Addr().String(), BaseURL: base, DB: dsn, AdminToken: "test-admin-token",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	srv := &http.Server{Handler: app.Handler()}
	go srv.Serve(ln)
	if err := app.Seed(ctx); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	wait := startBackground(ctx, app)
	t.Cleanup(func() { cancel(); wait(); srv.Close(); app.Close() })
	return app, base
}

// startBackground runs app's background work until ctx ends. The returned
// func waits for it to stop: call it before closing the app, so that no
// sweep writes to the database (or its temporary directory) after.
func startBackground(ctx context.Context, app *App) (wait func()) {
	done := make(chan struct{})
	go func() { app.RunBackground(ctx); close(done) }()
	return func() { <-done }
}

// loginAs signs in through the email-first page and the development IdP and
// returns the browser (with its session cookie) and the final page.
func loginAs(t *testing.T, base, email string) (*ssotest.Browser, string) {
	t.Helper()
	b := ssotest.NewBrowser()
	res, err := b.LoginByEmail(context.Background(), base+"/sso/login", email, "/dashboard")
	if err != nil {
		t.Fatalf("login %s: %v (visited %v)", email, err, b.Visited)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("login %s: final status %d at %s\n%s\nvisited %v", email, res.StatusCode, res.Request.URL, body, b.Visited)
	}
	return b, string(body)
}

func TestDemoSAMLAndOIDCLogin(t *testing.T) {
	_, base := startDemo(t, "")
	for _, tc := range []struct{ email, org, method string }{
		{"alice@acme.test", "Acme Corp", "saml"},
		{"bob@globex.test", "Globex", "oidc"},
	} {
		t.Run(tc.method, func(t *testing.T) {
			_, page := loginAs(t, base, tc.email)
			for _, want := range []string{tc.email, tc.org, `id="auth-method">` + tc.method, "admin"} {
				if !strings.Contains(page, want) {
					t.Errorf("dashboard lacks %q", want)
				}
			}
		})
	}
}

func TestDemoUnknownDomainGoesToLocalLogin(t *testing.T) {
	_, base := startDemo(t, "")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, email := range []string{"someone@example.com", "x@gmail.com", "mallory@evil.test"} {
		req, _ := http.NewRequest("POST", base+"/sso/login", strings.NewReader(url.Values{"email": {email}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc := res.Header.Get("Location")
		if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
			t.Fatalf("%s: status %d", email, res.StatusCode)
		}
		if !strings.HasPrefix(loc, "/login/local?") {
			t.Errorf("%s: redirected to %q, want the local login page", email, loc)
		}
	}
}

func TestDemoCrossOriginPostRefused(t *testing.T) {
	_, base := startDemo(t, "")
	req, _ := http.NewRequest("POST", base+"/login/local", strings.NewReader("email=root@acme.test&password=ssokit-demo"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: status %d, want 403", res.StatusCode)
	}
}

func TestDemoPostgres(t *testing.T) {
	_, dsn := testdb.PostgresSchema(t)
	_, base := startDemo(t, dsn)
	_, page := loginAs(t, base, "alice@acme.test")
	if !strings.Contains(page, "alice@acme.test") {
		t.Fatal("dashboard after SAML login on PostgreSQL lacks the user")
	}
}
