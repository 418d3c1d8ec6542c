package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso/stack"
)

// TestProtocolEndpointsLimitedPerClient floods the SAML ACS from one
// address: past the burst it gets a 429 with Retry-After before any
// signature work, the OIDC callback shares that address's budget, and
// another address is not affected.
func TestProtocolEndpointsLimitedPerClient(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://app.example.com/")
	cfg := memStores()
	cfg.BaseURL, cfg.SealKeyID, cfg.SealKeys = base, "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.CallbackRateLimit, cfg.CallbackBurst = 0.001, 3
	cfg.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Client") }
	s, err := stack.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	post := func(client, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "https://app.example.com"+path, strings.NewReader("SAMLResponse=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Client", client)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec
	}
	for i := 0; i < 3; i++ {
		if rec := post("198.51.100.7", "/sso/saml/acs/conn_missing"); rec.Code == http.StatusTooManyRequests {
			t.Fatalf("request %d within the burst was limited", i+1)
		}
	}
	rec := post("198.51.100.7", "/sso/saml/acs/conn_missing")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("request past the burst: status %d, Retry-After %q; want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := rec.Body.String(); !strings.Contains(body, "Wait a minute, then try again") || strings.Contains(body, "goroutine") {
		t.Fatalf("the refusal page does not say what to do: %s", body)
	}
	if rec := post("198.51.100.7", "/sso/oidc/callback"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("OIDC callback from the same address: status %d, want 429 (one budget per address)", rec.Code)
	}
	if rec := post("203.0.113.9", "/sso/saml/acs/conn_missing"); rec.Code == http.StatusTooManyRequests {
		t.Errorf("another address was limited too")
	}
}
