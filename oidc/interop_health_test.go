package oidc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// healthOPDir is the oidc-provider harness directory, or a skip when the
// interop suite is not enabled (SSOKIT_TEST_OIDC_PROVIDER).
func healthOPDir(t *testing.T) string {
	v := os.Getenv("SSOKIT_TEST_OIDC_PROVIDER")
	if v == "" {
		t.Skip("SSOKIT_TEST_OIDC_PROVIDER not set: run .ci/install-oidc.sh and set it to 1 or to the harness dir (oidc/testdata/op)")
	}
	dir := v
	if v == "1" {
		dir = filepath.Join("testdata", "op")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Fatalf("oidc-provider not installed in %s (run .ci/install-oidc.sh): %v", dir, err)
	}
	return dir
}

// writeOPKeys writes a one-key RS256 JWKS for the provider.
func writeOPKeys(t *testing.T, path string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{{Key: key, KeyID: "health-1", Algorithm: "RS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func loopbackPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// noCompletions is a Completer for a test that makes no logins.
type noCompletions struct{}

func (noCompletions) Complete(http.ResponseWriter, *http.Request, *sso.Login) error {
	return sso.ErrForbidden
}
func (noCompletions) Fail(*http.Request, *sso.LoginFailure) {}

// opProcess is a real oidc-provider that the test can stop and start again
// on the same port, with the same keys.
type opProcess struct {
	t       *testing.T
	dir     string
	env     []string
	issuer  string
	cmd     *exec.Cmd
	out     bytes.Buffer
	stopped bool
}

func (p *opProcess) start() {
	p.t.Helper()
	p.out.Reset()
	p.cmd = exec.Command("node", "server.mjs")
	p.cmd.Dir = p.dir
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.stopped = false
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("oidc-provider did not start: %v\n%s", err, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *opProcess) stop() {
	if p.stopped || p.cmd == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	_ = p.cmd.Wait()
	p.stopped = true
}

// TestInteropHealthCheckerAgainstOIDCProvider runs the federation health
// checker against a real oidc-provider that is started, stopped and
// restarted: healthy, then unhealthy (audited once), then recovered
// (audited), while the connection's stored configuration is untouched.
func TestInteropHealthCheckerAgainstOIDCProvider(t *testing.T) {
	dir := healthOPDir(t)
	tmp := t.TempDir()
	writeOPKeys(t, filepath.Join(tmp, "jwks.json"))
	writeOPKeys(t, filepath.Join(tmp, "jwks-next.json"))
	port := loopbackPort(t)
	clients, _ := json.Marshal([]map[string]any{{"client_id": "rp-health", "client_secret": "health-secret-0123456789",
		"token_endpoint_auth_method": "client_secret_basic", "redirect_uris": []string{"http://127.0.0.1/callback"},
		"grant_types": []string{"authorization_code"}, "response_types": []string{"code"}}})
	op := &opProcess{t: t, dir: dir, issuer: fmt.Sprintf("http://127.0.0.1:%d", port), env: []string{
		fmt.Sprint("OP_PORT=", port), "OP_JWKS=" + filepath.Join(tmp, "jwks.json"),
		"OP_JWKS_NEXT=" + filepath.Join(tmp, "jwks-next.json"), "OP_CLIENTS=" + string(clients)}}
	op.start()
	t.Cleanup(func() {
		op.stop()
		if t.Failed() {
			t.Logf("oidc-provider output:\n%s", op.out.String())
		}
	})

	ctx := context.Background()
	st := memstore.New()
	keys, err := sso.NewKeyring("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rp, err := oidc.New(oidc.Config{BaseURL: &url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: "/sso/oidc/"},
		Completer: noCompletions{}, Store: st, Connections: st, Sealer: keys, Logger: logger,
		// oidc-provider runs over http on loopback in this test.
		AllowInsecureIssuers: true, AllowPrivateAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_health", OrgID: "org_health", Protocol: sso.ProtocolOIDC, Status: sso.ConnectionActive}
	if _, err := rp.ConfigureConnection(ctx, conn, &sso.ConnectionInput{Issuer: op.issuer, ClientID: "rp-health",
		ClientSecret: "health-secret-0123456789"}); err != nil {
		t.Fatalf("ConfigureConnection: %v", err)
	}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	aud, err := sso.NewAuditor(sso.AuditorConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := sso.NewHealthChecker(sso.HealthCheckerConfig{Connections: st, Store: st, Auditor: aud,
		Probers: map[sso.Protocol]sso.HealthProber{sso.ProtocolOIDC: rp}, FailureThreshold: 1, Timeout: 5 * time.Second,
		Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	events := func(typ string) int {
		evs, err := st.ListEvents(ctx, sso.EventQuery{OrgID: conn.OrgID, Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	hc, err := checker.Check(ctx, conn)
	if err != nil || !hc.Reachable || hc.Status != sso.HealthHealthy || hc.Keys == 0 {
		t.Fatalf("OP up: %+v, %v", hc, err)
	}

	op.stop()
	for i := 0; i < 2; i++ {
		hc, err = checker.Check(ctx, conn)
		if err != nil || hc.Reachable || hc.Status != sso.HealthUnhealthy || hc.Reason == "" {
			t.Fatalf("OP down (check %d): %+v, %v", i+1, hc, err)
		}
	}
	if n := events(sso.EventConnectionUnhealthy); n != 1 {
		t.Fatalf("%d connection.unhealthy events, want 1 (once per transition)", n)
	}

	op.start()
	hc, err = checker.Check(ctx, conn)
	if err != nil || !hc.Reachable || hc.Status != sso.HealthHealthy {
		t.Fatalf("OP restarted: %+v, %v", hc, err)
	}
	if n := events(sso.EventConnectionRecovered); n != 1 {
		t.Fatalf("%d connection.recovered events, want 1", n)
	}
	stored, err := st.GetConnection(ctx, conn.ID)
	if err != nil || stored.OIDC.Issuer != op.issuer || stored.OIDC.ClientSecretSealed != conn.OIDC.ClientSecretSealed {
		t.Fatalf("health checks changed the stored connection: %+v, %v", stored.OIDC, err)
	}
}
