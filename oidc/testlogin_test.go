package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// wantTestFailure asserts what an admin's failed test login reports to
// Completer.Fail: Test set, the connection, and a *sso.ValidationError
// with the check, want/got (when wantGot) and a detail ending in a fix.
func wantTestFailure(t *testing.T, h *harness, connID, reason string, wantGot bool) *sso.ValidationError {
	t.Helper()
	f := h.comp.lastFail()
	if f == nil {
		t.Fatal("Completer.Fail not called")
	}
	if !f.Test || f.Connection == nil || f.Connection.ID != connID || f.Protocol != Protocol {
		t.Fatalf("failure test=%v connection=%v protocol=%q", f.Test, f.Connection, f.Protocol)
	}
	var ve *sso.ValidationError
	if !errors.As(f.Err, &ve) || ve.Reason != reason {
		t.Fatalf("failure error %v (%T), want reason %q", f.Err, f.Err, reason)
	}
	if wantGot && (ve.Want == "" || ve.Got == "") {
		t.Fatalf("no want/got: %s", ve.Detail())
	}
	if !strings.Contains(ve.Detail(), "(fix: ") && !strings.HasPrefix(ve.Err.Error(), "fix: ") {
		t.Fatalf("detail without a fix: %s", ve.Detail())
	}
	return ve
}

// TestTestLoginFailuresReachCompleter: every way a test login fails is
// reported, with the connection and a diagnosis, never silently.
func TestTestLoginFailuresReachCompleter(t *testing.T) {
	t.Parallel()
	test := sso.StartOptions{Test: true, ForceAuthn: true}
	evil := newRSAKey(3, "k1")
	for _, tc := range []struct {
		name    string
		knob    func(op *mockOP)
		run     func(t *testing.T, h *harness, op *mockOP) // default: one test login
		reason  string
		wantGot bool
	}{
		{name: "signature", reason: ReasonSignatureInvalid, knob: func(op *mockOP) {
			op.mint = func(h, c map[string]any) string { return signJWT(h, c, evil, nil) }
		}},
		{name: "jwks-down", reason: ReasonKeysUnavailable, wantGot: true, knob: func(op *mockOP) {
			op.jwksHandler = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }
		}},
		{name: "issuer", reason: ReasonIssuerMismatch, wantGot: true, knob: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["iss"] = "https://evil.example" }
		}},
		{name: "audience", reason: ReasonAudienceMismatch, wantGot: true, knob: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["aud"] = "someone-else" }
		}},
		{name: "mfa", reason: ReasonMFANotPerformed, wantGot: true, knob: func(op *mockOP) {
			op.claims = func(c map[string]any) { c["amr"] = []string{"pwd"}; delete(c, "acr") }
		}, run: func(t *testing.T, h *harness, op *mockOP) {
			b := newBrowser(t)
			b.get(h.authorize(b, h.startOpts(b, "conn_a", sso.StartOptions{Test: true, RequireMFA: true})).String())
		}},
		{name: "token-exchange", reason: ReasonTokenExchange, wantGot: true, knob: func(op *mockOP) { op.secret = "rotated-at-the-idp" }},
		{name: "idp-error-redirect", reason: ReasonIdPError, wantGot: true, run: func(t *testing.T, h *harness, op *mockOP) {
			b := newBrowser(t)
			au := h.startOpts(b, "conn_a", test)
			cb := h.rp.RedirectURI("conn_a") + "?" + url.Values{"error": {"access_denied"}, "error_description": {"user is not assigned to the app"},
				"state": {au.Query().Get("state")}, "iss": {op.issuer}}.Encode()
			b.get(cb)
			if f := h.comp.lastFail(); f != nil {
				var ve *sso.ValidationError
				if errors.As(f.Err, &ve) && !strings.Contains(ve.Got, "user is not assigned") {
					t.Fatalf("got %q lacks the IdP's description", ve.Got)
				}
			}
		}},
		{name: "browser-mismatch", reason: ReasonBrowserMismatch, run: func(t *testing.T, h *harness, op *mockOP) {
			b := newBrowser(t)
			cb := h.authorize(b, h.startOpts(b, "conn_a", test))
			newBrowser(t).get(cb.String())
		}},
		{name: "discovery-down-at-start", reason: ReasonDiscoveryFailed, wantGot: true, knob: func(op *mockOP) { op.discoveryStatus = 503 },
			run: func(t *testing.T, h *harness, op *mockOP) {
				req := httptest.NewRequest(http.MethodGet, "/start", nil)
				err := h.rp.StartLogin(httptest.NewRecorder(), req, mustConn(h, "conn_a"), test)
				if !errors.Is(err, sso.ErrUnavailable) {
					t.Fatalf("StartLogin: %v, want an unavailable upstream fault", err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, op := setupOne(t, nil)
			if tc.knob != nil {
				op.set(tc.knob)
			}
			if tc.run != nil {
				tc.run(t, h, op)
			} else {
				b := newBrowser(t)
				b.get(h.authorize(b, h.startOpts(b, "conn_a", test)).String())
			}
			if n, _ := h.comp.counts(); n != 0 {
				t.Fatalf("%d logins completed", n)
			}
			wantTestFailure(t, h, "conn_a", tc.reason, tc.wantGot)
		})
	}
}

// TestInteropTestLoginDiagnostics: against a real oidc-provider, an
// admin's test login that fails at the token endpoint (the secret was
// rotated at the IdP) or on the keys (JWKS down during a rotation)
// reports the connection and a diagnosis with want/got and a fix.
func TestInteropTestLoginDiagnostics(t *testing.T) {
	dir := opHarnessDir(t)
	clk := newClock()
	h := newHarness(t, clk, nil)
	h.rp.cfg.Now = func() time.Time { return time.Now().Add(clk.Now().Sub(clk.t0())) }
	h.flows.now = h.rp.cfg.Now
	op := startRealOP(t, dir, []map[string]any{{"client_id": "rp-diag", "client_secret": "diag-secret-0123456789",
		"redirect_uris": []string{h.rp.RedirectURI("conn_diag")}, "grant_types": []string{"authorization_code"}, "response_types": []string{"code"}}})
	c := &sso.Connection{ID: "conn_diag", OrgID: "org_diag", Protocol: Protocol, Status: sso.ConnectionDraft}
	if _, err := h.rp.Configure(context.Background(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "rp-diag", ClientSecret: "wrong-secret"}); err != nil {
		t.Fatal(err)
	}
	if err := h.conns.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	testLogin := func(t *testing.T) {
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		b := newBrowser(t)
		b.get(realAuthorizeFrom(t, h, b, "conn_diag", h.startOpts(b, "conn_diag", sso.StartOptions{Test: true, ForceAuthn: true}).String(), nil))
		if n, _ := h.comp.counts(); n != 0 {
			t.Fatalf("%d logins completed", n)
		}
	}
	t.Run("wrong-secret", func(t *testing.T) {
		testLogin(t)
		ve := wantTestFailure(t, h, "conn_diag", ReasonTokenExchange, true)
		if !strings.HasPrefix(ve.Got, "error invalid_client") {
			t.Fatalf("got %q", ve.Got)
		}
	})
	t.Run("wrong-secret-admin-sent-back", func(t *testing.T) {
		// With a return address (the portal's), the admin lands on the
		// result, never on the end-user error page.
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		b := newBrowser(t)
		const back = "/admin/portal/sso/tested"
		resp := b.get(realAuthorizeFrom(t, h, b, "conn_diag", h.startOpts(b, "conn_diag", sso.StartOptions{Test: true, ForceAuthn: true, ReturnTo: back}).String(), nil))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != back {
			t.Fatalf("got %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), back)
		}
		wantTestFailure(t, h, "conn_diag", ReasonTokenExchange, true)
	})
	if _, err := h.rp.Configure(context.Background(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "rp-diag", ClientSecret: "diag-secret-0123456789"}); err != nil {
		t.Fatal(err)
	}
	if err := h.conns.UpdateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	t.Run("jwks-down", func(t *testing.T) {
		op.post(t, "/__switch?jwksdown=1")
		defer op.post(t, "/__switch?jwksdown=0")
		testLogin(t)
		ve := wantTestFailure(t, h, "conn_diag", ReasonKeysUnavailable, true)
		if ve.Got != "HTTP 503 Service Unavailable" {
			t.Fatalf("got %q", ve.Got)
		}
	})
	t.Run("succeeds-after", func(t *testing.T) {
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		b := newBrowser(t)
		l := h.wantOK(b.get(realAuthorizeFrom(t, h, b, "conn_diag", h.startOpts(b, "conn_diag", sso.StartOptions{Test: true, ForceAuthn: true}).String(), nil)))
		if !l.Test {
			t.Fatal("test login not marked")
		}
	})
}
