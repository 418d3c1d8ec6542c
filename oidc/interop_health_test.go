package oidc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
)

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
	oidc.WaitForOP(p.t, p.issuer, &p.out)
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
	dir := oidc.OPHarnessDir(t)
	tmp := t.TempDir()
	oidc.WriteOPJWKS(t, filepath.Join(tmp, "jwks.json"), "rs-1", 0)
	oidc.WriteOPJWKS(t, filepath.Join(tmp, "jwks-next.json"), "rs-2", 1)
	port := oidc.FreePort(t)
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
	keys, err := keyring.New("k1", map[string][]byte{"k1": bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	rp, err := oidc.New(oidc.Config{BaseURL: &url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: "/sso/oidc/"},
		Completer: noCompletions{}, Store: memoidc.New(st), Connections: st, Sealer: keys, Logger: logger,
		// oidc-provider runs over http on loopback in this test.
		AllowInsecureURLs: true, AllowPrivateAddresses: true})
	if err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_health", OrgID: "org_health", Protocol: oidc.Protocol, Status: sso.ConnectionActive}
	if _, err := rp.Configure(ctx, conn, &oidc.ConnectionInput{Issuer: op.issuer, ClientID: "rp-health",
		ClientSecret: "health-secret-0123456789"}); err != nil {
		t.Fatalf("ConfigureConnection: %v", err)
	}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	aud, err := audit.New(audit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	checker, err := health.New(health.Config{Connections: st, Store: st, Auditor: aud,
		Probers: map[sso.Protocol]sso.HealthProber{oidc.Protocol: rp}, FailureThreshold: 1, Timeout: 5 * time.Second,
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
	if err != nil || !hc.Reachable || hc.Status != health.Healthy || hc.Keys == 0 {
		t.Fatalf("OP up: %+v, %v", hc, err)
	}

	op.stop()
	for i := 0; i < 2; i++ {
		hc, err = checker.Check(ctx, conn)
		if err != nil || hc.Reachable || hc.Status != health.Unhealthy || hc.Reason == "" {
			t.Fatalf("OP down (check %d): %+v, %v", i+1, hc, err)
		}
	}
	if n := events(health.EventConnectionUnhealthy); n != 1 {
		t.Fatalf("%d connection.unhealthy events, want 1 (once per transition)", n)
	}

	op.start()
	hc, err = checker.Check(ctx, conn)
	if err != nil || !hc.Reachable || hc.Status != health.Healthy {
		t.Fatalf("OP restarted: %+v, %v", hc, err)
	}
	if n := events(health.EventConnectionRecovered); n != 1 {
		t.Fatalf("%d connection.recovered events, want 1", n)
	}
	stored, err := st.GetConnection(ctx, conn.ID)
	if err != nil || oidc.ConfigOf(stored).Issuer != op.issuer || oidc.ConfigOf(stored).ClientSecretSealed != oidc.ConfigOf(conn).ClientSecretSealed {
		t.Fatalf("health checks changed the stored connection: %+v, %v", oidc.ConfigOf(stored), err)
	}
}
