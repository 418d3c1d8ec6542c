package sso_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/sso"
)

func TestDiscoverySpansAndRateLimitMetric(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.org("acme", nil)
	e.verified(a.ID, "acme.com")
	c := e.conn(a.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://okta.example/acme")
	rec := telemetrytest.New(t)
	_, de := newDiscovery(t, e, func(cfg *sso.DiscoveryConfig) {
		cfg.TracerProvider, cfg.MeterProvider = rec.TP, rec.MP
		cfg.RateLimit, cfg.Burst = 0.001, 2
	})
	if res := de.postForm(t, "alice@acme.com", "/"); res.StatusCode != http.StatusFound {
		t.Fatalf("routed: %d", res.StatusCode)
	}
	if res := de.postForm(t, "mallory@unknown.example", "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("fallback: %d", res.StatusCode)
	}
	if res := de.postForm(t, "alice@acme.com", "/"); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("rate limited: %d", res.StatusCode)
	}
	spans := rec.Named("sso.discovery")
	if len(spans) != 3 {
		t.Fatalf("discovery spans: %d, want 3", len(spans))
	}
	if s := spans[0].Attrs; s["ssokit.discovery.result"] != "sso" || s["ssokit.org"] != a.ID || s["ssokit.connection"] != c.ID ||
		s["ssokit.protocol"] != "saml" || s["ssokit.outcome"] != "success" {
		t.Fatalf("routed span: %v", s)
	}
	if s := spans[1].Attrs; s["ssokit.discovery.result"] != "local" || s["ssokit.outcome"] != "success" || s["ssokit.org"] != "" {
		t.Fatalf("fallback span: %v", s)
	}
	if s := spans[2]; s.Attrs["ssokit.outcome"] != "failure" || s.Attrs["ssokit.reason"] != "rate_limited" || s.Status != "Error" {
		t.Fatalf("rate-limited span: %+v", s)
	}
	if n := rec.Sum(t, "ssokit.ratelimit.rejections", "ssokit.component=discovery"); n != 1 {
		t.Fatalf("rate-limit rejections: %v, want 1", n)
	}
	// No email, domain or user-supplied text in any attribute.
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, "@") || strings.Contains(v, "acme.com") || strings.Contains(v, "unknown.example") {
			t.Fatalf("telemetry carries user input: %q", v)
		}
	}
}

func TestCompletionSpans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.org("acme", func(s *sso.OrgSettings) { s.DefaultRole = "viewer" })
	e.verified(a.ID, "acme.com")
	c := e.conn(a.ID, sso.ProtocolOIDC, sso.ConnectionActive, "https://idp.example")
	c.GroupRoles = []sso.GroupRole{{Group: "admins", Role: "admin"}}
	if err := e.st.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	rec := telemetrytest.New(t)
	comp, err := sso.NewCompleter(sso.CompleterConfig{Store: e.st, Sessions: &fakeIssuer{}, Auditor: e.aud, Now: e.clock, TracerProvider: rec.TP})
	if err != nil {
		t.Fatal(err)
	}
	p := profile(c, "sub-1", "alice@acme.com", true)
	p.Groups = []string{"admins"}
	if _, err := e.login(comp, &sso.Login{Connection: c, Profile: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login(comp, &sso.Login{Connection: c, Profile: profile(c, "sub-1", "alice@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	// An email outside the verified domains is refused.
	if _, err := e.login(comp, &sso.Login{Connection: c, Profile: profile(c, "sub-2", "eve@evil.example", true)}); err == nil {
		t.Fatal("login with a foreign email accepted")
	}
	spans := rec.Named("sso.login.complete")
	if len(spans) != 3 {
		t.Fatalf("spans: %d, want 3", len(spans))
	}
	first, second, third := spans[0].Attrs, spans[1].Attrs, spans[2].Attrs
	if first["ssokit.login.outcome"] != "provisioned" || first["ssokit.outcome"] != "success" || first["ssokit.org"] != a.ID ||
		first["ssokit.connection"] != c.ID || first["ssokit.protocol"] != "oidc" {
		t.Fatalf("JIT span: %v", first)
	}
	if second["ssokit.login.outcome"] != "matched" || second["ssokit.login.roles_changed"] != "true" {
		t.Fatalf("matched span (roles shrink to the default): %v", second)
	}
	if third["ssokit.outcome"] != "failure" || third["ssokit.reason"] == "" || spans[2].Status != "Error" {
		t.Fatalf("refused span: %v", third)
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, "@") || strings.Contains(v, "sub-") {
			t.Fatalf("span carries personal data: %q", v)
		}
	}
}

func TestDomainVerificationSpans(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.org("acme", nil)
	res := &fakeResolver{}
	rec := telemetrytest.New(t)
	d := e.domains(res, func(cfg *sso.DomainsConfig) { cfg.TracerProvider = rec.TP })
	dom, err := d.Add(ctx, a.ID, "acme.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Verify(ctx, a.ID, "acme.com"); err == nil {
		t.Fatal("verified without a record")
	}
	name, value := d.Record(dom)
	res.set(name, value)
	if _, err := d.Verify(ctx, a.ID, "acme.com"); err != nil {
		t.Fatal(err)
	}
	spans := rec.Named("sso.domain.verify")
	if len(spans) != 2 {
		t.Fatalf("spans: %d, want 2", len(spans))
	}
	if s := spans[0].Attrs; s["ssokit.outcome"] != "failure" || s["ssokit.reason"] != "record_not_found" || s["ssokit.org"] != a.ID {
		t.Fatalf("failed verification span: %v", s)
	}
	if s := spans[1].Attrs; s["ssokit.outcome"] != "success" {
		t.Fatalf("verification span: %v", s)
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, dom.Token) {
			t.Fatalf("span carries the domain token: %q", v)
		}
	}
}

// TestDiscoveryWithoutProvider: a host that configures nothing gets the
// global no-op providers and unchanged behaviour.
func TestDiscoveryWithoutProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d, _ := newDiscovery(t, e, nil)
	r := httptest.NewRequest("POST", "/login", strings.NewReader("email=x@unknown.example"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	d.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("got %d", w.Code)
	}
}
