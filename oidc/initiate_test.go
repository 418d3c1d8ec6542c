package oidc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestThirdPartyInitiatedLogin starts logins as an IdP's app tile does
// (OpenID Connect Core 1.0 section 4): iss names the issuer, login_hint
// reaches the authorization request, and target_link_uri is where the
// person lands only when it stays on this application; another site's is
// dropped (no open redirect), and an iss of another issuer starts nothing.
func TestThirdPartyInitiatedLogin(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		target, want string
	}{
		"same-origin-url":      {"{base}/reports/q3?tab=sales", "/reports/q3?tab=sales"},
		"path":                 {"/reports", "/reports"},
		"other-site":           {"https://evil.example/phish", ""},
		"protocol-relative":    {"//evil.example/phish", ""},
		"same-host-other-port": {"http://127.0.0.1:1/reports", ""},
		"userinfo":             {"http://user@{host}/reports", ""},
		"none":                 {"", ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, op := setupOne(t, nil)
			base, _ := url.Parse(h.srv.URL)
			target := tc.target
			for k, v := range map[string]string{"{base}": h.srv.URL, "{host}": base.Host} {
				target = strings.ReplaceAll(target, k, v)
			}
			q := url.Values{"iss": {op.issuer}, "login_hint": {"alice@example.com"}}
			if target != "" {
				q.Set("target_link_uri", target)
			}
			br := newBrowser(t)
			auth := h.start(br, "conn_a", "?"+q.Encode())
			if auth.Query().Get("login_hint") != "alice@example.com" {
				t.Fatalf("authorization request without the login_hint: %s", auth)
			}
			l := h.wantOK(br.get(h.authorize(br, auth).String()))
			if l.ReturnTo != tc.want {
				t.Fatalf("ReturnTo = %q; want %q", l.ReturnTo, tc.want)
			}
		})
	}
	t.Run("iss-of-another-issuer", func(t *testing.T) {
		t.Parallel()
		h, _ := setupOne(t, nil)
		resp := newBrowser(t).get(h.srv.URL + "/sso/oidc/login/conn_a?iss=" + url.QueryEscape("https://idp.evil.example"))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d, Location %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
		}
		wantReason(t, h.err(), ReasonIssuerParamMismatch)
	})
}
