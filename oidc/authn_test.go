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

// loginOpts runs a whole login at the mock OP with opts.
func (h *harness) loginOpts(b *browser, connID string, opts sso.StartOptions) *http.Response {
	h.t.Helper()
	return b.get(h.authorize(b, h.startOpts(b, connID, opts)).String())
}

// TestAuthnRequirements: RequireMFA, MaxAge and ForceAuthn are sent to
// the IdP, kept with the flow, and the ID token must show them.
func TestAuthnRequirements(t *testing.T) {
	t.Parallel()
	mfa := sso.StartOptions{RequireMFA: true}
	for _, tc := range []struct {
		name   string
		opts   sso.StartOptions
		acr    []string // connection's mfa_acr_values
		claims func(c map[string]any, now time.Time)
		reason string // "" accepts
		params map[string]string
	}{
		{name: "mfa-by-amr", opts: mfa, params: map[string]string{"acr_values": DefaultMFAACRValues[0]}},
		{name: "mfa-by-configured-acr", opts: mfa, acr: []string{"urn:example:loa:2"},
			claims: func(c map[string]any, _ time.Time) { c["amr"] = []string{"pwd"} }, params: map[string]string{"acr_values": "urn:example:loa:2"}},
		{name: "mfa-missing", opts: mfa, claims: func(c map[string]any, _ time.Time) { c["amr"] = []string{"pwd"}; c["acr"] = "urn:example:loa:1" },
			reason: ReasonMFANotPerformed},
		{name: "mfa-acr-not-requested", opts: mfa, acr: []string{"urn:example:loa:3"},
			claims: func(c map[string]any, _ time.Time) {
				c["amr"] = "otp-as-string-is-one-value"
				c["acr"] = "urn:example:loa:2"
			},
			reason: ReasonMFANotPerformed},
		{name: "mfa-not-asked-not-checked", claims: func(c map[string]any, _ time.Time) { c["amr"] = []string{"pwd"}; delete(c, "acr") }},
		{name: "max-age-fresh", opts: sso.StartOptions{MaxAge: 5 * time.Minute},
			claims: func(c map[string]any, now time.Time) { c["auth_time"] = now.Add(-time.Minute).Unix() }, params: map[string]string{"max_age": "300"}},
		{name: "max-age-no-auth-time", opts: sso.StartOptions{MaxAge: 5 * time.Minute}, reason: ReasonAuthnTooOld},
		{name: "max-age-auth-time-string", opts: sso.StartOptions{MaxAge: 5 * time.Minute},
			claims: func(c map[string]any, now time.Time) { c["auth_time"] = "1700000000" }, reason: ReasonAuthnTooOld},
		{name: "max-age-stale", opts: sso.StartOptions{MaxAge: 5 * time.Minute},
			claims: func(c map[string]any, now time.Time) { c["auth_time"] = now.Add(-7 * time.Minute).Unix() }, reason: ReasonAuthnTooOld},
		{name: "force-authn-fresh", opts: sso.StartOptions{ForceAuthn: true},
			claims: func(c map[string]any, now time.Time) { c["auth_time"] = now.Unix() }, params: map[string]string{"prompt": "login"}},
		{name: "force-authn-reused-session", opts: sso.StartOptions{ForceAuthn: true},
			claims: func(c map[string]any, now time.Time) { c["auth_time"] = now.Add(-3 * time.Hour).Unix() }, reason: ReasonAuthnTooOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			op := newMockOP(t, clk)
			h := newHarness(t, clk, nil)
			h.addConn(op, "conn_a", "org_a", func(c *sso.Connection, in *ConnectionInput) { in.MFAACRValues = tc.acr })
			if tc.claims != nil {
				op.set(func(op *mockOP) { op.claims = func(c map[string]any) { tc.claims(c, clk.Now()) } })
			}
			b := newBrowser(t)
			authURL := h.startOpts(b, "conn_a", tc.opts)
			q := authURL.Query()
			for k, v := range tc.params {
				if q.Get(k) != v {
					t.Fatalf("authorization request %s = %q, want %q", k, q.Get(k), v)
				}
			}
			for _, k := range []string{"acr_values", "max_age", "prompt"} {
				if _, want := tc.params[k]; !want && tc.reason == "" && q.Has(k) {
					t.Fatalf("authorization request has %s unasked", k)
				}
			}
			f := h.flows.flows[onlyKey(t, h.flows)]
			if f.RequireMFA != tc.opts.RequireMFA || f.MaxAge != tc.opts.MaxAge || f.ForceAuthn != tc.opts.ForceAuthn ||
				(tc.opts.RequireMFA && f.ACRValues != q.Get("acr_values")) {
				t.Fatalf("flow %+v does not record %+v", f, tc.opts)
			}
			resp := b.get(h.authorize(b, authURL).String())
			if tc.reason == "" {
				h.wantOK(resp)
				return
			}
			ve := h.wantReject(resp, tc.reason)
			if ve.Want == "" || ve.Got == "" || !strings.Contains(ve.Detail(), "fix: ") {
				t.Fatalf("rejection without want/got and fix: %s", ve.Detail())
			}
		})
	}
}

func onlyKey(t *testing.T, s *memFlows) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.flows) != 1 {
		t.Fatalf("%d flows stored, want 1", len(s.flows))
	}
	for k := range s.flows {
		return k
	}
	return ""
}

// TestMFAACRValuesSetting: mfa_acr_values is validated with the field and
// the fix named, and a value that is not a known MFA context is flagged in
// the view.
func TestMFAACRValuesSetting(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, nil)
	for _, bad := range [][]string{{""}, {"a b"}, {"x", "x"}, strings.Fields(strings.Repeat("v ", 11))} {
		_, err := h.rp.Configure(context.Background(), &sso.Connection{ID: "c"}, &ConnectionInput{Issuer: op.issuer, ClientID: "x", ClientSecret: "y", MFAACRValues: bad})
		ve := wantReason(t, err, "invalid_mfa_acr_values")
		if !strings.Contains(ve.Detail(), "fix: ") {
			t.Fatalf("%q: no fix in %s", bad, ve.Detail())
		}
	}
	c := h.addConn(op, "conn_w", "org_w", func(c *sso.Connection, in *ConnectionInput) {
		in.MFAACRValues = []string{"urn:example:loa:2", "https://refeds.org/profile/mfa"}
	})
	v := h.rp.ConfigView(c).(*ConfigView)
	if len(v.MFAACRValues) != 2 || len(v.Warnings) != 1 || !strings.Contains(v.Warnings[0], "urn:example:loa:2") {
		t.Fatalf("view %+v", v)
	}
}

// TestInteropAuthnRequirements asks a real oidc-provider for MFA (with
// acr_values it is configured for), max_age and prompt=login.
func TestInteropAuthnRequirements(t *testing.T) {
	dir := opHarnessDir(t)
	clk := newClock()
	h := newHarness(t, clk, nil)
	h.rp.cfg.Now = func() time.Time { return time.Now().Add(clk.Now().Sub(clk.t0())) }
	h.flows.now = h.rp.cfg.Now
	op := startRealOP(t, dir, []map[string]any{{"client_id": "rp-mfa", "client_secret": "mfa-secret-0123456789",
		"redirect_uris": []string{h.rp.RedirectURI("conn_mfa")}, "grant_types": []string{"authorization_code"}, "response_types": []string{"code"}}})
	c := &sso.Connection{ID: "conn_mfa", OrgID: "org_mfa", Protocol: Protocol, Status: sso.ConnectionActive}
	if _, err := h.rp.Configure(context.Background(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "rp-mfa", ClientSecret: "mfa-secret-0123456789",
		MFAACRValues: []string{"urn:ssokit:mfa"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.conns.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, opts sso.StartOptions, form url.Values) *http.Response {
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		b := newBrowser(t)
		return b.get(realAuthorizeFrom(t, h, b, "conn_mfa", h.startOpts(b, "conn_mfa", opts).String(), form))
	}
	t.Run("mfa-performed", func(t *testing.T) {
		l := h.wantOK(run(t, sso.StartOptions{RequireMFA: true}, url.Values{"otp": {"123456"}}))
		if l.Profile.AuthnContext != "urn:ssokit:mfa" || !l.Profile.MFA {
			t.Fatalf("profile acr %q mfa %v", l.Profile.AuthnContext, l.Profile.MFA)
		}
	})
	t.Run("mfa-not-performed", func(t *testing.T) {
		ve := h.wantReject(run(t, sso.StartOptions{RequireMFA: true}, nil), ReasonMFANotPerformed)
		if ve.Want != "acr in [urn:ssokit:mfa] or a second factor in amr" || !strings.Contains(ve.Got, `acr "urn:ssokit:pwd"`) {
			t.Fatalf("want/got %q / %q", ve.Want, ve.Got)
		}
	})
	t.Run("step-up-bound-to-its-session", func(t *testing.T) {
		// A step-up at the IdP: MFA, max_age and prompt=login, bound to
		// the session stepping up; the login hands the binding back with
		// the IdP's proof for login completion to check.
		su := &sso.StepUp{SessionID: "ses_1", UserID: "usr_1", OrgID: "org_mfa", ConnectionID: "conn_mfa", MaxAge: time.Minute,
			At: h.rp.cfg.Now().UTC().Truncate(time.Second)}
		opts := sso.StartOptions{RequireMFA: true, MaxAge: time.Minute, ForceAuthn: true, StepUp: su}
		l := h.wantOK(run(t, opts, url.Values{"otp": {"123456"}}))
		if l.StepUp == nil || *l.StepUp != *su || !l.Profile.MFA || l.Profile.AuthTime.IsZero() {
			t.Fatalf("step-up %+v, mfa %v, auth_time %v; want the binding back with a fresh MFA", l.StepUp, l.Profile.MFA, l.Profile.AuthTime)
		}
		// Without the second factor the IdP's answer is refused.
		h.wantReject(run(t, opts, nil), ReasonMFANotPerformed)
		// A step-up naming another connection never starts.
		other := *su
		other.ConnectionID = "conn_other"
		if err := h.rp.StartLogin(httptest.NewRecorder(), httptest.NewRequest("GET", "/login/conn_mfa", nil), c,
			sso.StartOptions{RequireMFA: true, StepUp: &other}); !errors.Is(err, sso.ErrStepUpMismatch) {
			t.Fatalf("mismatched step-up start: %v", err)
		}
	})
	t.Run("max-age-and-force-authn-fresh", func(t *testing.T) {
		l := h.wantOK(run(t, sso.StartOptions{MaxAge: time.Minute, ForceAuthn: true}, nil))
		if l.Profile.AuthTime.IsZero() {
			t.Fatal("oidc-provider returned no auth_time for max_age/prompt=login")
		}
	})
	t.Run("max-age-exceeded", func(t *testing.T) {
		// The RP's clock runs 3 minutes ahead: the fresh sign-in looks 3
		// minutes old against a 1 minute max_age.
		clk.Advance(3 * time.Minute)
		defer clk.Advance(-3 * time.Minute)
		ve := h.wantReject(run(t, sso.StartOptions{MaxAge: time.Minute}, nil), ReasonAuthnTooOld)
		if ve.Want != "auth_time within 1m0s" || !strings.HasPrefix(ve.Got, "authenticated 3m") {
			t.Fatalf("want/got %q / %q", ve.Want, ve.Got)
		}
	})
}
