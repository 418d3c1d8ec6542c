package oidc

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// mountAt routes path on the harness server to the RP, as a host does
// for a connection's own redirect URI.
func (h *harness) mountAt(path string) string {
	h.srv.Config.Handler.(*http.ServeMux).Handle(path, h.rp)
	return h.srv.URL + path
}

// TestConnectionRedirectURI: a connection may keep the redirect URI
// registered at the IdP for another vendor; it is sent in the
// authorization and token requests, and its path reaches the connection.
func TestConnectionRedirectURI(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, nil)
	legacy := h.mountAt("/auth/legacy-vendor/callback")
	c := h.addConn(op, "conn_l", "org_l", func(c *sso.Connection, in *ConnectionInput) { in.RedirectURI = legacy })
	op.set(func(op *mockOP) { op.redirectURIs = map[string]bool{legacy: true} }) // only the legacy URI is registered
	if got := h.rp.SPDetails(c).RedirectURI; got != legacy {
		t.Fatalf("SPDetails redirect URI %q", got)
	}
	b := newBrowser(t)
	authURL := h.start(b, "conn_l", "")
	if authURL.Query().Get("redirect_uri") != legacy {
		t.Fatalf("authorization redirect_uri %q", authURL.Query().Get("redirect_uri"))
	}
	cb := h.authorize(b, authURL)
	if !strings.HasPrefix(cb.String(), legacy+"?") {
		t.Fatalf("callback %s", cb)
	}
	l := h.wantOK(b.get(cb.String()))
	if l.Connection.ID != "conn_l" {
		t.Fatalf("login for %s", l.Connection.ID)
	}
	if v := h.rp.ConfigView(mustConn(h, "conn_l")).(*ConfigView); v.RedirectURI != legacy || len(v.Warnings) != 1 {
		t.Fatalf("view %+v (an http redirect URI must be flagged)", v)
	}

	t.Run("default-path-refused-for-custom-flow", func(t *testing.T) {
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		b := newBrowser(t)
		cb := h.authorize(b, h.start(b, "conn_l", ""))
		h.wantReject(b.get(h.rp.RedirectURI("conn_l")+"?"+cb.RawQuery), ReasonConnectionMismatch)
	})
	t.Run("other-path-refused", func(t *testing.T) {
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		other := h.mountAt("/auth/other/callback")
		b := newBrowser(t)
		cb := h.authorize(b, h.start(b, "conn_l", ""))
		h.wantReject(b.get(other+"?"+cb.RawQuery), ReasonConnectionMismatch)
	})
	t.Run("default-flow-refused-at-custom-path", func(t *testing.T) {
		h.comp = &recCompleter{}
		h.rp.cfg.Completer = h.comp
		h.addConn(op, "conn_d", "org_l", nil)
		b := newBrowser(t)
		cb := h.authorize(b, h.start(b, "conn_d", ""))
		h.wantReject(b.get(legacy+"?"+cb.RawQuery), ReasonConnectionMismatch)
	})
	t.Run("random-path-without-state-404", func(t *testing.T) {
		if resp := newBrowser(t).get(h.mountAt("/auth/nothing")); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// TestConnectionRedirectURIValidation: the setting names the field and
// the fix for each refusal.
func TestConnectionRedirectURIValidation(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, nil)
	h.addConn(op, "conn_1", "org_1", func(c *sso.Connection, in *ConnectionInput) { in.RedirectURI = "https://app.example.com/auth/cb" })
	for _, bad := range []string{
		"http://app.example.com/auth/cb2",    // http off loopback
		"https://app.example.com",            // no path
		"https://app.example.com/cb?x=1",     // query
		"https://app.example.com/cb#frag",    // fragment
		"ftp://app.example.com/cb",           // scheme
		h.rp.LoginURL("conn_2"),              // the RP's own routes
		"https://app.example.com/auth/cb",    // taken by conn_1
		"https://u:p@app.example.com/auth/x", // userinfo
	} {
		c := &sso.Connection{ID: "conn_2", OrgID: "org_1"}
		_, err := h.rp.Configure(context.Background(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "x", ClientSecret: "y", RedirectURI: bad})
		if ve := wantReason(t, err, "invalid_redirect_uri"); !strings.Contains(ve.Detail(), "fix: ") {
			t.Fatalf("%q: %s", bad, ve.Detail())
		}
	}
	c := &sso.Connection{ID: "conn_2", OrgID: "org_2"}
	if _, err := h.rp.Configure(context.Background(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "x", ClientSecret: "y",
		RedirectURI: h.rp.RedirectURI("conn_2")}); err != nil || ConfigOf(c).RedirectURI != "" {
		t.Fatalf("default URI given explicitly: %v, stored %q", err, ConfigOf(c).RedirectURI)
	}
}

// TestInteropConnectionRedirectURI: a real oidc-provider client
// registered only with a legacy redirect URI logs in through it.
func TestInteropConnectionRedirectURI(t *testing.T) {
	dir := opHarnessDir(t)
	clk := newClock()
	h := newHarness(t, clk, nil)
	h.rp.cfg.Now = func() time.Time { return time.Now().Add(clk.Now().Sub(clk.t0())) }
	h.flows.now = h.rp.cfg.Now
	legacy := h.mountAt("/legacy/oidc/cb")
	op := startRealOP(t, dir, []map[string]any{{"client_id": "rp-legacy", "client_secret": "legacy-secret-0123456789",
		"redirect_uris": []string{legacy}, "grant_types": []string{"authorization_code"}, "response_types": []string{"code"}}})
	c := &sso.Connection{ID: "conn_leg", OrgID: "org_leg", Protocol: Protocol, Status: sso.ConnectionActive}
	if _, err := h.rp.Configure(context.Background(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "rp-legacy",
		ClientSecret: "legacy-secret-0123456789", RedirectURI: legacy}); err != nil {
		t.Fatal(err)
	}
	if err := h.conns.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	cb := realAuthorizeTo(t, h, b, "conn_leg", legacy)
	l := h.wantOK(b.get(cb))
	if l.Connection.ID != "conn_leg" || l.Profile.Subject != "alice-sub" {
		t.Fatalf("login %+v", l.Profile)
	}
}
