package health_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// restartableIdP serves a development IdP on a fixed loopback address that
// can be stopped and started again, like a real IdP going down and back.
type restartableIdP struct {
	t    *testing.T
	addr string
	idp  *ssotest.IdP
	srv  *http.Server
	cert *x509.Certificate
}

func startRestartableIdP(t *testing.T, certLife time.Duration) *restartableIdP {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "health test IdP"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(certLife), KeyUsage: x509.KeyUsageDigitalSignature, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	base, _ := url.Parse("http://" + l.Addr().String())
	idp, err := ssotest.NewIdP(ssotest.Config{BaseURL: base, SAMLKey: key, SAMLCert: cert})
	if err != nil {
		t.Fatal(err)
	}
	r := &restartableIdP{t: t, addr: l.Addr().String(), idp: idp, cert: cert}
	r.serve(l)
	t.Cleanup(r.stop)
	return r
}

func (r *restartableIdP) serve(l net.Listener) {
	r.srv = &http.Server{Handler: r.idp, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l)
}

func (r *restartableIdP) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

func (r *restartableIdP) restart() {
	r.t.Helper()
	var l net.Listener
	var err error
	// The port was just released; binding it again normally works at once.
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("rebind %s: %v", r.addr, err)
	}
	r.serve(l)
}

type nopCompleter struct{}

func (nopCompleter) Complete(http.ResponseWriter, *http.Request, *sso.Login) error { return nil }
func (nopCompleter) Fail(*http.Request, *sso.LoginFailure)                         {}

type healthFixture struct {
	store    *memstore.Store
	idp      *restartableIdP
	sp       *saml.SP
	rp       *oidc.RP
	auditor  *audit.Trail
	samlConn *sso.Connection
	oidcConn *sso.Connection
	now      atomic.Pointer[time.Time]
}

func (f *healthFixture) clock() time.Time { return *f.now.Load() }
func (f *healthFixture) advance(d time.Duration) {
	t := f.clock().Add(d)
	f.now.Store(&t)
}

func newHealthFixture(t *testing.T, certLife time.Duration) *healthFixture {
	t.Helper()
	ctx := context.Background()
	f := &healthFixture{store: memstore.New(), idp: startRestartableIdP(t, certLife)}
	start := time.Now()
	f.now.Store(&start)
	base := "http://" + f.idp.addr
	var err error
	f.sp, err = saml.New(saml.Config{
		BaseURL: mustURL(t, "https://sp.example/sso/saml"), Connections: f.store, Store: memsaml.New(f.store), Events: f.store, Completer: nopCompleter{}, Now: f.clock,
		AllowInsecureURLs: true, AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.rp, err = oidc.New(oidc.Config{
		BaseURL: mustURL(t, "https://sp.example/sso/oidc/"), Completer: nopCompleter{}, Store: memoidc.New(f.store), Connections: f.store,
		Sealer: mustKeyring(t), AllowInsecureURLs: true, AllowPrivateAddresses: true, FetchTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.auditor, err = audit.New(audit.Config{Store: f.store}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateOrg(ctx, &sso.Organization{ID: "org_h", Slug: "health", Name: "Health", CreatedAt: start, UpdatedAt: start}); err != nil {
		t.Fatal(err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.idp.cert.Raw}))
	f.samlConn = &sso.Connection{ID: "conn_hsaml", OrgID: "org_h", Protocol: saml.Protocol, Status: sso.ConnectionActive,
		Config: &saml.ConnectionConfig{IdPEntityID: base + "/saml/metadata", SSOURL: base + "/saml/sso", SSOBinding: "redirect",
			Certificates: []string{certPEM}, MetadataURL: base + "/saml/metadata"}, CreatedAt: start, UpdatedAt: start}
	f.oidcConn = &sso.Connection{ID: "conn_hoidc", OrgID: "org_h", Protocol: oidc.Protocol, Status: sso.ConnectionActive,
		Config: &oidc.ConnectionConfig{Issuer: base + "/oidc", ClientID: "client"}, CreatedAt: start, UpdatedAt: start}
	for _, c := range []*sso.Connection{f.samlConn, f.oidcConn} {
		if err := f.store.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	k, err := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *healthFixture) checker(t *testing.T, mod func(*health.Config)) *health.Checker {
	t.Helper()
	cfg := health.Config{
		Connections: f.store, Store: f.store, Auditor: f.auditor, Now: f.clock, Interval: time.Minute, Timeout: 3 * time.Second,
		Probers: map[sso.Protocol]sso.HealthProber{saml.Protocol: f.sp, oidc.Protocol: f.rp},
	}
	if mod != nil {
		mod(&cfg)
	}
	hc, err := health.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func (f *healthFixture) events(t *testing.T, typ string) []*sso.Event {
	t.Helper()
	evs, err := f.store.ListEvents(context.Background(), sso.EventQuery{OrgID: "org_h", Type: typ, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func countTargets(evs []*sso.Event) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[e.Target.ID]++
	}
	return m
}

// TestHealthCheckerIdPDownAndBack runs the checker against a real
// development IdP that is started, stopped and restarted, through the saml
// and oidc probers (their SSRF-guarded fetchers), and asserts the results
// and the once-per-transition audit events.
func TestHealthCheckerIdPDownAndBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHealthFixture(t, 365*24*time.Hour)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	hc := f.checker(t, func(c *health.Config) { c.TracerProvider = tp })

	pass := func(want int) {
		t.Helper()
		f.advance(2 * time.Minute)
		n, err := hc.CheckDue(ctx)
		if err != nil || n != want {
			t.Fatalf("CheckDue: got %d, %v, want %d checked", n, err, want)
		}
	}
	healthOf := func(c *sso.Connection) *health.Report {
		t.Helper()
		h, err := hc.Health(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	// Never checked.
	if h := healthOf(f.samlConn); h.Status != health.Unknown {
		t.Fatalf("before any check: got %s, want unknown", h.Status)
	}

	// 1. Up.
	pass(2)
	for _, c := range []*sso.Connection{f.samlConn, f.oidcConn} {
		h := healthOf(c)
		if h.Status != health.Healthy || !h.Reachable || h.Reason != "" || h.Keys < 1 || h.LastHealthyAt.IsZero() {
			t.Fatalf("%s up: got %+v", c.ID, h)
		}
	}
	if h := healthOf(f.samlConn); len(h.Certificates) != 1 || !h.Certificates[0].NotAfter.Equal(f.idp.cert.NotAfter) {
		t.Fatalf("saml certificates: got %+v", h.Certificates)
	}
	// A second pass within the interval checks nothing (the claim holds).
	if n, err := hc.CheckDue(ctx); err != nil || n != 0 {
		t.Fatalf("CheckDue within the interval: got %d, %v, want 0", n, err)
	}

	// 2. Down: the first failure is below the threshold of 2.
	f.idp.stop()
	pass(2)
	for _, c := range []*sso.Connection{f.samlConn, f.oidcConn} {
		h := healthOf(c)
		if h.Status != health.Healthy || h.Reachable || h.Reason != "unavailable" || h.ConsecutiveFailures != 1 {
			t.Fatalf("%s after one failure: got %+v", c.ID, h)
		}
	}
	if evs := f.events(t, health.EventConnectionUnhealthy); len(evs) != 0 {
		t.Fatalf("unhealthy events after one failure: %d, want 0", len(evs))
	}
	pass(2)
	pass(2)
	for _, c := range []*sso.Connection{f.samlConn, f.oidcConn} {
		h := healthOf(c)
		if h.Status != health.Unhealthy || h.ConsecutiveFailures != 3 || h.UnhealthySince.IsZero() {
			t.Fatalf("%s down: got %+v", c.ID, h)
		}
		// The last known certificates stay visible while the IdP is down.
		if c == f.samlConn && len(h.Certificates) != 1 {
			t.Fatalf("saml certificates lost while down: %+v", h)
		}
	}
	evs := f.events(t, health.EventConnectionUnhealthy)
	if got := countTargets(evs); got[f.samlConn.ID] != 1 || got[f.oidcConn.ID] != 1 || len(evs) != 2 {
		t.Fatalf("unhealthy events: got %v, want one per connection", got)
	}
	if evs[0].Outcome != sso.OutcomeFailure || evs[0].Reason != "unavailable" || evs[0].Actor.Type != sso.ActorSystem {
		t.Fatalf("unhealthy event: %+v", evs[0])
	}

	// 3. Back.
	f.idp.restart()
	pass(2)
	for _, c := range []*sso.Connection{f.samlConn, f.oidcConn} {
		h := healthOf(c)
		if h.Status != health.Healthy || !h.Reachable || h.ConsecutiveFailures != 0 || !h.UnhealthySince.IsZero() {
			t.Fatalf("%s back: got %+v", c.ID, h)
		}
	}
	if got := countTargets(f.events(t, health.EventConnectionRecovered)); got[f.samlConn.ID] != 1 || got[f.oidcConn.ID] != 1 {
		t.Fatalf("recovered events: got %v, want one per connection", got)
	}
	pass(2)
	if n := len(f.events(t, health.EventConnectionRecovered)); n != 2 {
		t.Fatalf("recovered events after another healthy pass: %d, want 2", n)
	}
	if n := len(f.events(t, health.EventConnectionUnhealthy)); n != 2 {
		t.Fatalf("unhealthy events: %d, want 2", n)
	}
	if _, err := f.auditor.Verify(ctx, "org_h"); err != nil {
		t.Fatalf("audit chain: %v", err)
	}

	// Spans: one per check, with tenant attributes and outcome, no URLs.
	spans := rec.Ended()
	if len(spans) != 12 {
		t.Fatalf("spans: got %d, want 12", len(spans))
	}
	failures := 0
	for _, s := range spans {
		attrs := map[string]string{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.Emit()
		}
		if s.Name() != "sso.health.check" || attrs["ssokit.org"] != "org_h" || attrs["ssokit.connection"] == "" || attrs["ssokit.outcome"] == "" {
			t.Fatalf("span %s: %v", s.Name(), attrs)
		}
		if attrs["ssokit.outcome"] == "failure" {
			failures++
			if attrs["ssokit.reason"] != "unavailable" {
				t.Fatalf("failure span reason: %v", attrs)
			}
		}
	}
	if failures != 6 {
		t.Fatalf("failed-check spans: %d, want 6", failures)
	}
}

// TestHealthCheckerCertificateExpiry asserts one EventCertificateExpiring
// per threshold (30, 7 and 1 days) and certificate, however many checks run.
func TestHealthCheckerCertificateExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHealthFixture(t, 40*24*time.Hour)
	hc := f.checker(t, func(c *health.Config) {
		c.Probers = map[sso.Protocol]sso.HealthProber{saml.Protocol: f.sp}
	})
	check := func() *health.Report {
		t.Helper()
		h, err := hc.Check(ctx, f.samlConn)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	expiring := func() []*sso.Event { return f.events(t, sso.EventCertificateExpiring) }
	check()
	if n := len(expiring()); n != 0 {
		t.Fatalf("40 days left: %d events, want 0", n)
	}
	f.advance(11 * 24 * time.Hour) // 29 days left
	// The saml package's own refresh announces the 30-day threshold first;
	// the checker does not announce it again.
	f.sp.RefreshAll(ctx)
	if n := len(expiring()); n != 1 {
		t.Fatalf("saml refresh announced %d expiries, want 1", n)
	}
	check()
	check()
	evs := expiring()
	if len(evs) != 1 || evs[0].Details["threshold_days"] != "30" || evs[0].Target.ID != f.samlConn.ID || evs[0].Details["fingerprint"] == "" {
		t.Fatalf("29 days left: got %d events %+v, want one 30-day event", len(evs), evs)
	}
	f.advance(23 * 24 * time.Hour) // 6 days left
	check()
	check()
	evs = expiring()
	if len(evs) != 2 || evs[1].Details["threshold_days"] != "7" {
		t.Fatalf("6 days left: got %d events, want a 7-day event after the 30-day one", len(evs))
	}
	// While the IdP is down, the known certificate still counts down and
	// nothing is announced twice.
	f.idp.stop()
	f.advance(24 * time.Hour)
	if h := check(); h.Reachable || len(h.Certificates) != 1 {
		t.Fatalf("down: %+v", h)
	}
	if n := len(expiring()); n != 2 {
		t.Fatalf("events while down: %d, want 2", n)
	}
	f.advance(4*24*time.Hour + 12*time.Hour) // half a day left
	check()
	check()
	evs = expiring()
	if len(evs) != 3 || evs[2].Details["threshold_days"] != "1" {
		t.Fatalf("half a day left: got %d events, want a 1-day event after the 7-day one", len(evs))
	}
}

// TestHealthCheckerReplicas runs several checkers on one store at once:
// each connection is checked exactly once per interval in total.
func TestHealthCheckerReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newHealthFixture(t, 365*24*time.Hour)
	var total atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		hc := f.checker(t, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := hc.CheckDue(ctx)
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(n))
		}()
	}
	wg.Wait()
	if n := total.Load(); n != 2 {
		t.Fatalf("checks across replicas: %d, want 2", n)
	}
}

// TestHealthCheckerRun stops with its context.
func TestHealthCheckerRun(t *testing.T) {
	t.Parallel()
	f := newHealthFixture(t, 365*24*time.Hour)
	hc := f.checker(t, nil)
	stop := testkit.Start(t, hc.Run)
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := hc.Health(context.Background(), f.oidcConn)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status == health.Healthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run did not check the connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
}

func TestNewHealthCheckerConfig(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	pr := map[sso.Protocol]sso.HealthProber{saml.Protocol: nil}
	for name, cfg := range map[string]health.Config{
		"NoConnections": {Store: st},
		"NoStore":       {Connections: st},
		"NoProbers":     {Connections: st, Store: st},
		"NilProber":     {Connections: st, Store: st, Probers: pr},
		"ShortInterval": {Connections: st, Store: st, Probers: map[sso.Protocol]sso.HealthProber{saml.Protocol: nopProber{}}, Interval: time.Second},
	} {
		if _, err := health.New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
}

type nopProber struct{}

func (nopProber) ProbeConnection(context.Context, *sso.Connection) (*sso.HealthProbe, error) {
	return &sso.HealthProbe{}, nil
}
