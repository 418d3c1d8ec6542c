package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/sso/ssotest"
)

// localLogin signs the break-glass admin in with the demo password and
// returns the browser.
func localLogin(t *testing.T, base, email string) *ssotest.Browser {
	t.Helper()
	b := ssotest.NewBrowser()
	code := postForm(t, b.Client, base+"/login/local", url.Values{"email": {email}, "password": {demoPassword},
		"return_to": {"/account/mfa"}}, base)
	if code != http.StatusOK && code != http.StatusSeeOther {
		t.Fatalf("local login %s: %d", email, code)
	}
	return b
}

// TestTX11_AdminAPIUnderMFAPolicy: a password-only session of an
// MFA-enrolled admin can call no route of the JSON admin API (the demo's
// HTML admin pages apply the same policy); after a second factor on that
// session it can.
func TestTX11_AdminAPIUnderMFAPolicy(t *testing.T) {
	app, base := startDemo(t, "")
	ctx := context.Background()
	org, err := app.store.GetOrgBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	org.Settings.MFA.Required, org.Settings.MFA.ChangedAt = true, time.Now()
	if err := app.store.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	// The admin enrols TOTP right after a fresh login.
	first := localLogin(t, base, "root@acme.test")
	code, enr := postJSON(t, first, base, "/mfa/totp/enroll", "{}")
	if code != http.StatusOK {
		t.Fatalf("enroll: %d %v", code, enr)
	}
	otpCode, err := totp.GenerateCode(enr["secret"].(string), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	code, rc := postJSON(t, first, base, "/mfa/totp/confirm", `{"code":"`+otpCode+`"}`)
	recovery, _ := rc["recovery_codes"].([]any)
	if code != http.StatusOK || len(recovery) == 0 {
		t.Fatalf("confirm: %d %v", code, rc)
	}

	// A new password-only session.
	b := localLogin(t, base, "root@acme.test")
	for _, call := range []struct{ method, path, body string }{
		{"GET", "/api/admin/connections", ""},
		{"POST", "/api/admin/scim-tokens", `{"description":"x"}`},
		{"GET", "/api/admin/audit", ""},
		{"PUT", "/api/admin/enforcement", `{"enforced":false}`},
		{"GET", "/api/admin/sessions", ""},
	} {
		code, body := sendJSON(t, b, call.method, base, call.path, call.body)
		if code != http.StatusForbidden || body["error"] != "mfa_verification_required" {
			t.Fatalf("%s %s with a password-only session: %d %v, want 403 mfa_verification_required",
				call.method, call.path, code, body)
		}
	}
	if toks, _ := app.store.ListSCIMTokens(ctx, org.ID); len(toks) != 0 {
		t.Fatalf("a SCIM token was minted by a password-only session: %d tokens", len(toks))
	}
	if code, _ := postJSON(t, b, base, "/mfa/recovery", `{"code":"`+recovery[0].(string)+`"}`); code != http.StatusOK {
		t.Fatalf("recovery code: %d", code)
	}
	if code, body := sendJSON(t, b, "GET", base, "/api/admin/connections", ""); code != http.StatusOK {
		t.Fatalf("after a second factor: %d %v, want 200", code, body)
	}
	// The operator credential is the host's own and is not an org admin
	// session: it is not subject to the member MFA policy.
	req, _ := http.NewRequest("GET", base+"/api/admin/connections", nil)
	req.Header.Set("Authorization", "Bearer test-admin-token")
	req.Header.Set("X-Ssokit-Org", "acme")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("operator request: %d", res.StatusCode)
	}
}
