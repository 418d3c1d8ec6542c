package stack_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/stack"
)

// TestSAMLExtraACSPaths: the SAML handler also answers POSTs under the
// extra ACS paths (where connections keep an old ACS URL), and nothing
// else there.
func TestSAMLExtraACSPaths(t *testing.T) {
	cfg := memStores()
	cfg.BaseURL, _ = url.Parse("https://app.example.com")
	cfg.SealKeyID, cfg.SealKeys = "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL = "/login"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.SAMLExtraACSPaths = []string{"/auth/saml2/"}
	s, err := stack.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Mount(mux)
	post := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "https://app.example.com"+path, strings.NewReader("SAMLResponse=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		mux.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	// The SAML handler's own page: no connection claims this ACS URL.
	code, body := post("/auth/saml2/acme/consume")
	if code < 400 || strings.Contains(body, "404 page not found") {
		t.Fatalf("extra ACS path: %d %q, want the SAML handler's refusal", code, body)
	}
	if code, _ := post("/elsewhere/acme"); code != http.StatusNotFound {
		t.Fatalf("unmounted path: %d, want 404", code)
	}

	bad := memStores()
	bad.BaseURL, bad.SealKeyID, bad.SealKeys, bad.LocalLoginURL = cfg.BaseURL, "k1", cfg.SealKeys, "/login"
	bad.SAMLExtraACSPaths = []string{"auth/saml2"}
	if _, err := stack.New(context.Background(), bad); !errors.Is(err, sso.ErrInvalidConfig) || !strings.Contains(err.Error(), "SAMLExtraACSPaths") {
		t.Fatalf("bad path: %v", err)
	}
}
