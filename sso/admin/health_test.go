package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
)

type stubProber struct{ err error }

func (p stubProber) ProbeConnection(context.Context, *sso.Connection) (*sso.HealthProbe, error) {
	if p.err != nil {
		return nil, p.err
	}
	return &sso.HealthProbe{Fetched: true, Keys: 1, Certificates: []sso.CertificateInfo{
		{Subject: "CN=idp", NotAfter: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), Fingerprint: "aa"}}}, nil
}

func healthServer(t *testing.T, st *memstore.Store, hr admin.HealthReader) *httptest.Server {
	t.Helper()
	aud, _ := audit.New(audit.Config{Store: st})
	doms, err := domains.New(domains.Config{Store: st, Auditor: aud, Resolver: txt{}})
	if err != nil {
		t.Fatal(err)
	}
	en, _ := policy.New(policy.Config{Store: st, Auditor: aud, Revoker: realSessions(t, st)})
	h, err := admin.New(admin.Config{
		Store: st,
		Authorize: func(r *http.Request) (string, sso.Actor, error) {
			return r.Header.Get("X-Test-Org"), sso.Actor{Type: sso.ActorAdmin, ID: "admin"}, nil
		},
		Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: &fakeConfigurer{saml.Protocol}},
		Starters:    map[sso.Protocol]sso.Starter{saml.Protocol: &fakeStarter{}},
		Domains:     doms, Enforcer: en, Auditor: aud, Health: hr,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func getHealth(t *testing.T, srv *httptest.Server, org, id string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/connections/"+id+"/health", nil)
	req.Header.Set("X-Test-Org", org)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func TestConnectionHealthRoute(t *testing.T) {
	t.Parallel()
	st := memstore.New()
	for _, id := range []string{"org_a", "org_b"} {
		if err := st.CreateOrg(ctx, &sso.Organization{ID: id, Slug: id[4:], Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	conn := &sso.Connection{ID: "conn_a", OrgID: "org_a", Protocol: saml.Protocol, Status: sso.ConnectionActive, Config: &saml.ConnectionConfig{}}
	down := &sso.Connection{ID: "conn_down", OrgID: "org_a", Protocol: oidc.Protocol, Status: sso.ConnectionActive, Config: &oidc.ConnectionConfig{}}
	for _, c := range []*sso.Connection{conn, down} {
		if err := st.CreateConnection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	hc, err := health.New(health.Config{Connections: st, Store: st, FailureThreshold: 1,
		Probers: map[sso.Protocol]sso.HealthProber{saml.Protocol: stubProber{},
			oidc.Protocol: stubProber{err: errors.Join(sso.ErrUnavailable, errors.New("dial tcp 10.0.0.1: secret-internal-detail"))}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := healthServer(t, st, hc)

	code, m := getHealth(t, srv, "org_a", "conn_a")
	if code != 200 || m["status"] != "unknown" {
		t.Fatalf("never checked: %d %v", code, m)
	}
	if _, err := hc.CheckDue(ctx); err != nil {
		t.Fatal(err)
	}
	code, m = getHealth(t, srv, "org_a", "conn_a")
	if code != 200 || m["status"] != "healthy" || m["reachable"] != true || m["keys"] != float64(1) || m["connection_id"] != "conn_a" {
		t.Fatalf("healthy: %d %v", code, m)
	}
	if certs, _ := m["certificates"].([]any); len(certs) != 1 {
		t.Fatalf("certificates: %v", m["certificates"])
	}
	code, m = getHealth(t, srv, "org_a", "conn_down")
	if code != 200 || m["status"] != "unhealthy" || m["reason"] != "unavailable" {
		t.Fatalf("unhealthy: %d %v", code, m)
	}
	if b, _ := json.Marshal(m); strings.Contains(string(b), "secret-internal-detail") || strings.Contains(string(b), "10.0.0.1") {
		t.Fatalf("health response leaks the private cause: %s", b)
	}
	// Another organization's connection is not found.
	if code, _ := getHealth(t, srv, "org_b", "conn_a"); code != 404 {
		t.Fatalf("cross-tenant: got %d, want 404", code)
	}
	if code, _ := getHealth(t, srv, "org_a", "conn_missing"); code != 404 {
		t.Fatalf("missing: got %d, want 404", code)
	}
	// Without a HealthReader the route does not exist.
	if code, _ := getHealth(t, healthServer(t, st, nil), "org_a", "conn_a"); code != 404 {
		t.Fatalf("no health reader: got %d, want 404", code)
	}
}
