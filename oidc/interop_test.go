package oidc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/ssokit/sso"
)

// countingTransport counts requests per path on their way to the IdP.
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// opHarnessDir returns the directory of the oidc-provider harness, or skips.
func opHarnessDir(t *testing.T) string {
	v := os.Getenv("SSOKIT_TEST_OIDC_PROVIDER")
	if v == "" {
		t.Skip("SSOKIT_TEST_OIDC_PROVIDER not set: run .ci/install-oidc.sh and set it to 1 or to the harness dir (oidc/testdata/op) to run the oidc-provider 9.13.3 interop tests")
	}
	dir := v
	if v == "1" {
		dir = filepath.Join("testdata", "op")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Skipf("oidc-provider not installed in %s (run .ci/install-oidc.sh): %v", dir, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	return dir
}

func writeJWKS(t *testing.T, path, rsaKID string, rsaIdx int) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := []jose.JSONWebKey{
		{Key: rsaKey(rsaIdx), KeyID: rsaKID, Algorithm: "RS256", Use: "sig"},
		{Key: ec, KeyID: "ec-" + rsaKID, Algorithm: "ES256", Use: "sig"},
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type realOP struct {
	issuer string
	out    *bytes.Buffer
}

func (op *realOP) post(t *testing.T, path string) {
	resp, err := http.Post(op.issuer+path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d", path, resp.StatusCode)
	}
}

func startRealOP(t *testing.T, dir string, clients []map[string]any) *realOP {
	tmp := t.TempDir()
	writeJWKS(t, filepath.Join(tmp, "jwks.json"), "rs-1", 0)
	writeJWKS(t, filepath.Join(tmp, "jwks-next.json"), "rs-2", 1)
	cl, _ := json.Marshal(clients)
	port := freePort(t)
	out := &bytes.Buffer{}
	cmd := exec.Command("node", "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprint("OP_PORT=", port), "OP_JWKS="+filepath.Join(tmp, "jwks.json"),
		"OP_JWKS_NEXT="+filepath.Join(tmp, "jwks-next.json"), "OP_CLIENTS="+string(cl))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("oidc-provider output:\n%s", out)
		}
	})
	op := &realOP{issuer: fmt.Sprintf("http://127.0.0.1:%d", port), out: out}
	waitForOP(t, op.issuer, out)
	return op
}

// waitForOP waits up to 20 s for the provider's discovery document.
func waitForOP(t *testing.T, issuer string, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("oidc-provider did not start: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var formAction = regexp.MustCompile(`action="([^"]+)"`)

// realLogin drives a browser through the RP and the real OP's login form.
func realLogin(t *testing.T, h *harness, op *realOP, connID string) *http.Response {
	t.Helper()
	b, cb := realAuthorize(t, h, connID)
	return b.get(cb)
}

// realAuthorize runs the browser up to the redirect back to the RP and
// returns the callback URL.
func realAuthorize(t *testing.T, h *harness, connID string) (*browser, string) {
	t.Helper()
	b := newBrowser(t)
	return b, realAuthorizeFrom(t, h, b, connID, h.start(b, connID, "").String(), nil)
}

// realAuthorizeFrom follows the authorization URL next through the real
// OP's login form, posting alice's credentials and the extra form values,
// and returns the callback URL.
func realAuthorizeFrom(t *testing.T, h *harness, b *browser, connID, next string, extra url.Values) string {
	t.Helper()
	return realAuthorizeVia(t, h, b, h.rp.RedirectURI(connID), next, extra)
}

// realAuthorizeTo is realAuthorizeFrom for a connection whose redirect URI
// is redirectURI.
func realAuthorizeTo(t *testing.T, h *harness, b *browser, connID, redirectURI string) string {
	t.Helper()
	return realAuthorizeVia(t, h, b, redirectURI, h.start(b, connID, "").String(), nil)
}

func realAuthorizeVia(t *testing.T, h *harness, b *browser, redirectURI, next string, extra url.Values) string {
	t.Helper()
	for i := 0; i < 12; i++ {
		if strings.HasPrefix(next, redirectURI) {
			u, _ := url.Parse(next)
			if u.Query().Get("iss") == "" {
				t.Fatalf("callback without the RFC 9207 iss parameter: %s", next)
			}
			return next
		}
		resp, err := b.c.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			next = loc.String()
		case resp.StatusCode == 200 && formAction.Match(body):
			action, _ := resp.Request.URL.Parse(string(formAction.FindSubmatch(body)[1]))
			form := url.Values{"username": {"alice"}, "password": {"wonderland"}}
			for k, v := range extra {
				form[k] = v
			}
			resp, err := b.c.PostForm(action.String(), form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil || resp.StatusCode/100 != 3 {
				t.Fatalf("login form post: %d", resp.StatusCode)
			}
			next = loc.String()
		default:
			t.Fatalf("unexpected %d at %s: %.300s", resp.StatusCode, next, body)
		}
	}
	t.Fatal("too many redirects")
	return ""
}

func TestInteropOIDCProvider(t *testing.T) {
	dir := opHarnessDir(t)
	clk := newClock()
	ct := &countingTransport{}
	h := newHarness(t, clk, func(c *Config) { c.HTTPClient = &http.Client{Transport: ct} })
	// The OP runs on the real clock; keep ours in step.
	h.rp.cfg.Now = func() time.Time { return time.Now().Add(clk.Now().Sub(clk.t0())) }
	h.flows.now = h.rp.cfg.Now
	clients := []map[string]any{
		{"client_id": "rp-basic", "client_secret": "basic-secret-0123456789", "token_endpoint_auth_method": "client_secret_basic",
			"redirect_uris": []string{h.rp.RedirectURI("conn_basic")}, "grant_types": []string{"authorization_code"}, "response_types": []string{"code"}},
		{"client_id": "rp-post", "client_secret": "post-secret-0123456789", "token_endpoint_auth_method": "client_secret_post",
			"redirect_uris": []string{h.rp.RedirectURI("conn_post")}, "grant_types": []string{"authorization_code"}, "response_types": []string{"code"}},
		{"client_id": "rp-public", "token_endpoint_auth_method": "none",
			"redirect_uris": []string{h.rp.RedirectURI("conn_public")}, "grant_types": []string{"authorization_code"}, "response_types": []string{"code"}},
	}
	op := startRealOP(t, dir, clients)
	add := func(id, client, secret, method string) {
		c := &sso.Connection{ID: id, OrgID: "org_" + id, Protocol: Protocol, Status: sso.ConnectionActive}
		in := &ConnectionInput{Issuer: op.issuer, ClientID: client, ClientSecret: secret, AuthMethod: method,
			Scopes: []string{"openid", "email", "profile", "groups"}}
		if _, err := h.rp.Configure(context.Background(), c, in); err != nil {
			t.Fatalf("ConfigureConnection(%s): %v", id, err)
		}
		if err := h.conns.CreateConnection(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	add("conn_basic", "rp-basic", "basic-secret-0123456789", "client_secret_basic")
	add("conn_post", "rp-post", "post-secret-0123456789", "client_secret_post")
	add("conn_public", "rp-public", "", "none")

	check := func(t *testing.T, l *sso.Login, connID string) {
		p := l.Profile
		if p.Issuer != op.issuer || p.Subject != "alice-sub" || p.ConnectionID != connID || p.Email != "alice@example.com" ||
			!p.EmailVerified || p.DisplayName != "Alice Liddell" || len(p.Groups) != 2 {
			t.Fatalf("profile = %+v", p)
		}
	}
	var logins atomic.Int32
	login := func(t *testing.T, connID string) *sso.Login {
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		l := h.wantOK(realLogin(t, h, op, connID))
		logins.Add(1)
		return l
	}
	t.Run("client_secret_basic", func(t *testing.T) { check(t, login(t, "conn_basic"), "conn_basic") })
	t.Run("client_secret_post", func(t *testing.T) { check(t, login(t, "conn_post"), "conn_post") })
	t.Run("public-client-pkce", func(t *testing.T) { check(t, login(t, "conn_public"), "conn_public") })
	t.Run("id-token-without-profile-claims-userinfo", func(t *testing.T) {
		op.post(t, "/__switch?conform=1")
		before := ct.count("/me")
		check(t, login(t, "conn_basic"), "conn_basic")
		if ct.count("/me") != before+1 {
			t.Fatalf("userinfo calls %d -> %d, want one more", before, ct.count("/me"))
		}
		op.post(t, "/__switch?conform=0")
	})
	t.Run("key-rotation-between-logins", func(t *testing.T) {
		check(t, login(t, "conn_basic"), "conn_basic")
		before := ct.count("/jwks")
		op.post(t, "/__switch?rotate=1")
		clk.Advance(31 * time.Second)
		check(t, login(t, "conn_basic"), "conn_basic")
		if got := ct.count("/jwks"); got != before+1 {
			t.Fatalf("JWKS fetches %d -> %d, want exactly one refetch", before, got)
		}
	})
	t.Run("key-rotation-right-after-fetch", func(t *testing.T) {
		check(t, login(t, "conn_basic"), "conn_basic")
		before := ct.count("/jwks")
		op.post(t, "/__switch?rotate=0") // back to rs-1, well within the refetch interval
		check(t, login(t, "conn_basic"), "conn_basic")
		check(t, login(t, "conn_basic"), "conn_basic")
		if got := ct.count("/jwks"); got != before+1 {
			t.Fatalf("JWKS fetches %d -> %d, want exactly one refetch for the new kid", before, got)
		}
	})
	t.Run("rotation-while-jwks-down-is-keys-unavailable", func(t *testing.T) {
		op.post(t, "/__switch?rotate=1&jwksdown=1")
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		ve := h.wantRejectStatus(realLogin(t, h, op, "conn_basic"), http.StatusServiceUnavailable, ReasonKeysUnavailable)
		if !errors.Is(ve, ErrKeysUnavailable) || !errors.Is(ve, sso.ErrUnavailable) {
			t.Fatalf("error %v, want ErrKeysUnavailable wrapping sso.ErrUnavailable", ve)
		}
		op.post(t, "/__switch?jwksdown=0")
		check(t, login(t, "conn_basic"), "conn_basic")
	})
	t.Run("replayed-callback-rejected", func(t *testing.T) {
		b, cb := realAuthorize(t, h, "conn_post")
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		h.wantOK(b.get(cb))
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		h.wantReject(b.get(cb), ReasonStateInvalid)
	})
	t.Run("wrong-client-secret-rejected-by-op", func(t *testing.T) {
		c := mustConn(h, "conn_basic")
		sealed, _ := h.sealer.Seal([]byte("not-the-secret"), []byte(c.ID))
		ConfigOf(c).ClientSecretSealed = sealed
		_ = h.conns.UpdateConnection(context.Background(), c)
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		ve := h.wantReject(realLogin(t, h, op, "conn_basic"), ReasonTokenExchange)
		var ie *IdPError
		if !errors.As(ve, &ie) || ie.Code != "invalid_client" {
			t.Fatalf("IdP error = %v", ie)
		}
	})
	if logins.Load() != 10 {
		t.Fatalf("%d successful real logins, want 10", logins.Load())
	}
}
