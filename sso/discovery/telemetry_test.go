package discovery_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/discovery"
)

func TestDiscoverySpansAndRateLimitMetric(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	rec := telemetrytest.New(t)
	_, de := e.Discovery(t, func(cfg *discovery.Config) {
		cfg.TracerProvider, cfg.MeterProvider = rec.TP, rec.MP
		cfg.RateLimit, cfg.Burst = 0.001, 2
	})
	if res := de.PostForm(t, "alice@acme.com", "/"); res.StatusCode != http.StatusFound {
		t.Fatalf("routed: %d", res.StatusCode)
	}
	if res := de.PostForm(t, "mallory@unknown.example", "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("fallback: %d", res.StatusCode)
	}
	if res := de.PostForm(t, "alice@acme.com", "/"); res.StatusCode != http.StatusTooManyRequests {
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

// TestDiscoveryWithoutProvider: a host that configures nothing gets the
// global no-op providers and unchanged behaviour.
func TestDiscoveryWithoutProvider(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	d, _ := e.Discovery(t, nil)
	r := httptest.NewRequest("POST", "/login", strings.NewReader("email=x@unknown.example"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	d.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("got %d", w.Code)
	}
}
