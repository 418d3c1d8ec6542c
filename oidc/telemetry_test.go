package oidc_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
)

// TestTelemetryOIDCLogin asserts the spans and metrics of an OIDC login
// (start, discovery, JWKS, code exchange, callback) and of a callback with
// a forged state, with the SDK's in-memory exporters.
func TestTelemetryOIDCLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := telemetrytest.New(t)
	idp := ssotest.NewServerWith(t, ssotest.Config{AutoLogin: "bob@example.com",
		Users: []ssotest.User{{Email: "bob@example.com", GivenName: "Bob"}}})
	st := memstore.New()
	comp := &okCompleter{}
	mux := http.NewServeMux()
	rpSrv := httptest.NewServer(mux)
	defer rpSrv.Close()
	rpBase, _ := url.Parse(rpSrv.URL + "/sso/oidc/")
	sealer, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := oidc.New(oidc.Config{BaseURL: rpBase, Completer: comp, Store: memoidc.New(st), Connections: st, Sealer: sealer,
		AllowInsecureURLs: true, AllowPrivateAddresses: true, TracerProvider: rec.TP, MeterProvider: rec.MP})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))
	const secret = "telemetry-client-secret-value"
	conn := &sso.Connection{ID: "conn_tel", OrgID: "org_tel", Protocol: oidc.Protocol, Status: sso.ConnectionActive}
	if _, err := rp.Configure(ctx, conn, &oidc.ConnectionInput{Issuer: idp.Issuer(), ClientID: "tel-client", ClientSecret: secret}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if err := idp.RegisterClient(ssotest.Client{ID: "tel-client", Secret: secret, RedirectURIs: []string{rp.RedirectURI(conn.ID)}}); err != nil {
		t.Fatal(err)
	}
	b := ssotest.NewBrowser()
	res, err := b.Login(ctx, rp.LoginURL(conn.ID))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), "logged in bob@example.com") {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	// A forged callback.
	res, err = http.Get(rp.RedirectURI(conn.ID) + "?code=stolen-code&state=forged-state")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 {
		t.Fatalf("forged state: %d", res.StatusCode)
	}

	for _, name := range []string{"oidc.login.start", "oidc.code_exchange", "oidc.discovery.fetch", "oidc.jwks.fetch"} {
		spans := rec.Named(name)
		if len(spans) == 0 || spans[0].Attrs["ssokit.outcome"] != "success" {
			t.Fatalf("%s spans: %+v", name, spans)
		}
	}
	if s := rec.Named("oidc.code_exchange")[0].Attrs; s["ssokit.connection"] != conn.ID || s["ssokit.org"] != conn.OrgID {
		t.Fatalf("code exchange span: %v", s)
	}
	cb := rec.Named("oidc.callback")
	if len(cb) != 2 {
		t.Fatalf("callback spans: %d, want 2", len(cb))
	}
	if a := cb[0].Attrs; a["ssokit.outcome"] != "success" || a["ssokit.connection"] != conn.ID || a["ssokit.org"] != conn.OrgID || a["ssokit.protocol"] != "oidc" {
		t.Fatalf("callback span: %v", a)
	}
	if a := cb[1].Attrs; a["ssokit.outcome"] != "failure" || a["ssokit.reason"] != "state_invalid" || a["ssokit.connection"] != "" {
		t.Fatalf("forged callback span: %v", a)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=oidc", "ssokit.outcome=success"); n != 1 {
		t.Fatalf("successful OIDC logins: %v", n)
	}
	if n := rec.Sum(t, "ssokit.validation.failures", "ssokit.protocol=oidc", "ssokit.reason=state_invalid"); n != 1 {
		t.Fatalf("state failures: %v", n)
	}
	if n := rec.Sum(t, "ssokit.fetch.failures"); n != 0 {
		t.Fatalf("fetch failures: %v", n)
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, secret) || strings.Contains(v, "@") || strings.Contains(v, "stolen-code") || strings.Contains(v, "forged-state") {
			t.Fatalf("telemetry carries a secret or personal data: %q", v)
		}
	}
}
