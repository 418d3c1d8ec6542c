package saml_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// TestTelemetrySAMLLogin asserts the spans and metrics of a successful and
// a failed (tampered signature) SAML login, and of metadata fetches, with
// the SDK's in-memory exporters.
func TestTelemetrySAMLLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := telemetrytest.New(t)

	var metadataDown atomic.Bool
	var idp *ssotest.IdP
	idpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if metadataDown.Load() && strings.HasSuffix(r.URL.Path, "/saml/metadata") {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		idp.ServeHTTP(w, r)
	}))
	defer idpSrv.Close()
	idpBase, _ := url.Parse(idpSrv.URL)
	var err error
	if idp, err = ssotest.NewIdP(ssotest.Config{BaseURL: idpBase, AutoLogin: "alice@example.com",
		Users: []ssotest.User{{Email: "alice@example.com", GivenName: "Alice"}}}); err != nil {
		t.Fatal(err)
	}

	// The SP, behind a capture of the posted SAML responses.
	st := memstore.New()
	comp := &okCompleter{}
	var mu sync.Mutex
	var posted []string
	mux := http.NewServeMux()
	spSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/acs/") {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			if f, err := url.ParseQuery(string(b)); err == nil {
				mu.Lock()
				posted = append(posted, f.Get("SAMLResponse"))
				mu.Unlock()
			}
		}
		mux.ServeHTTP(w, r)
	}))
	defer spSrv.Close()
	spBase, _ := url.Parse(spSrv.URL + "/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: spBase, Connections: st, Store: memsaml.New(st), Events: st, Completer: comp,
		AllowInsecureURLs: true, AllowPrivateAddresses: true,
		TracerProvider: rec.TP, MeterProvider: rec.MP})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sso/saml/", http.StripPrefix("/sso/saml", sp))
	conn := &sso.Connection{ID: "conn_tel", OrgID: "org_tel", Protocol: saml.Protocol, Status: sso.ConnectionActive}
	if _, err := sp.Configure(ctx, conn, &saml.ConnectionInput{MetadataURL: idp.SAMLMetadataURL()}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	md, _ := sp.Metadata(conn)
	if err := idp.RegisterSPMetadata(md); err != nil {
		t.Fatal(err)
	}

	// A successful login.
	b := ssotest.NewBrowser()
	res, err := b.Login(ctx, spSrv.URL+"/sso/saml/login/"+conn.ID)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, res)
	}
	// A failed one: the captured response with the signed email changed.
	mu.Lock()
	raw, _ := base64.StdEncoding.DecodeString(posted[0])
	mu.Unlock()
	forged := base64.StdEncoding.EncodeToString(bytes.ReplaceAll(raw, []byte("alice@example.com"), []byte("mallory@example.com")))
	resp, err := http.PostForm(spSrv.URL+"/sso/saml/acs/"+conn.ID, url.Values{"SAMLResponse": {forged}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("tampered response: status %d", resp.StatusCode)
	}
	// A failed metadata fetch.
	metadataDown.Store(true)
	if _, err := sp.FetchMetadata(ctx, idp.SAMLMetadataURL()); err == nil {
		t.Fatal("fetch from a failing endpoint succeeded")
	}

	starts := rec.Named("saml.login.start")
	if len(starts) != 1 || starts[0].Attrs["ssokit.connection"] != conn.ID || starts[0].Attrs["ssokit.org"] != conn.OrgID ||
		starts[0].Attrs["ssokit.outcome"] != "success" {
		t.Fatalf("login start spans: %+v", starts)
	}
	acs := rec.Named("saml.acs")
	if len(acs) != 2 {
		t.Fatalf("ACS spans: %d, want 2", len(acs))
	}
	if a := acs[0].Attrs; a["ssokit.outcome"] != "success" || a["ssokit.protocol"] != "saml" || a["ssokit.connection"] != conn.ID || a["ssokit.org"] != conn.OrgID {
		t.Fatalf("successful ACS span: %v", a)
	}
	if a := acs[1]; a.Attrs["ssokit.outcome"] != "failure" || a.Attrs["ssokit.reason"] != "signature_invalid" || a.Status != "Error" {
		t.Fatalf("failed ACS span: %+v", a)
	}
	fetches := rec.Named("saml.metadata.fetch")
	if len(fetches) != 2 || fetches[0].Attrs["ssokit.outcome"] != "success" || fetches[1].Attrs["ssokit.outcome"] != "failure" ||
		fetches[1].Attrs["ssokit.reason"] != "unavailable" {
		t.Fatalf("metadata fetch spans: %+v", fetches)
	}

	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=saml", "ssokit.outcome=success"); n != 1 {
		t.Fatalf("successful login attempts: %v", n)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=saml", "ssokit.outcome=failure", "ssokit.reason=signature_invalid"); n != 1 {
		t.Fatalf("failed login attempts: %v", n)
	}
	if n := rec.Sum(t, "ssokit.validation.failures", "ssokit.protocol=saml", "ssokit.reason=signature_invalid"); n != 1 {
		t.Fatalf("validation failures: %v", n)
	}
	if n := rec.Sum(t, "ssokit.login.duration", "ssokit.protocol=saml"); n != 2 {
		t.Fatalf("login duration observations: %v, want 2", n)
	}
	if n := rec.Sum(t, "ssokit.fetch.failures", "ssokit.kind=saml_metadata"); n != 1 {
		t.Fatalf("fetch failures: %v", n)
	}
	// Without TenantMetrics, metrics carry no tenant IDs; nothing carries
	// an email or a piece of the assertion.
	for _, p := range rec.Metric(t, "ssokit.login.attempts") {
		if p.Attrs["ssokit.org"] != "" || p.Attrs["ssokit.connection"] != "" {
			t.Fatalf("tenant IDs in metrics without TenantMetrics: %v", p.Attrs)
		}
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, "@") || strings.Contains(v, forged[20:60]) {
			t.Fatalf("telemetry carries personal data or the assertion: %q", v)
		}
	}
}

// TestTelemetryTenantMetrics: with TenantMetrics the login counters carry
// the organization and connection IDs.
func TestTelemetryTenantMetrics(t *testing.T) {
	t.Parallel()
	rec := telemetrytest.New(t)
	st := memstore.New()
	base, _ := url.Parse("https://sp.example/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: &okCompleter{},
		TracerProvider: rec.TP, MeterProvider: rec.MP, TenantMetrics: true})
	if err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: "conn_tm", OrgID: "org_tm", Protocol: saml.Protocol, Status: sso.ConnectionActive,
		Config: &saml.ConnectionConfig{IdPEntityID: "https://idp.example", SSOURL: "https://idp.example/sso"}}
	if err := st.CreateConnection(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/acs/conn_tm", strings.NewReader("SAMLResponse=bm90LXNhbWw%3D"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	sp.ServeHTTP(w, r)
	if w.Code < 400 {
		t.Fatalf("garbage response accepted: %d", w.Code)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.org=org_tm", "ssokit.connection=conn_tm", "ssokit.outcome=failure"); n != 1 {
		t.Fatalf("tenant login attempts: %v; points %+v", n, rec.Metric(t, "ssokit.login.attempts"))
	}
}

// BenchmarkTelemetryACS runs the full ACS handler with the global no-op
// providers and with an SDK tracer and meter provider recording every span
// and metric, to measure what instrumentation costs.
func BenchmarkTelemetryACS(b *testing.B) {
	for _, mode := range []string{"noop", "sdk"} {
		b.Run(mode, func(b *testing.B) {
			cfg := saml.Config{BaseURL: &url.URL{Scheme: "https", Host: "sp.example.com", Path: "/sso/saml"}, Key: spKey(b).pair(),
				Completer: &recorder{}, Logger: discardLogger(), Now: func() time.Time { return baseTime }}
			if mode == "sdk" {
				rec := telemetrytest.New(b)
				cfg.TracerProvider, cfg.MeterProvider = rec.TP, rec.MP
			}
			st := memstore.New(memstore.WithClock(func() time.Time { return baseTime }))
			ss := memsaml.New(st)
			cfg.Connections, cfg.Store = st, ss
			sp, err := saml.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			conn := &sso.Connection{ID: "conn_b", OrgID: "org_b", Protocol: saml.Protocol, Status: sso.ConnectionActive, DisplayName: "b",
				Config: &saml.ConnectionConfig{IdPEntityID: testIdP, SSOURL: "https://idp.example.com/sso", Certificates: []string{certPEM(idpKey(b).cert)}}}
			if err := st.CreateConnection(context.Background(), conn); err != nil {
				b.Fatal(err)
			}
			e := &benchEnv{sp: sp, store: ss, conn: conn}
			resps := e.responses(b, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			start := cpuTime()
			defer func() { reportCPU(b, start) }()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				sp.ServeHTTP(w, acsRequest(conn.ID, "_req"+strconv.Itoa(i), resps[i]))
				if w.Code != http.StatusSeeOther {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
