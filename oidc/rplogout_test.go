package oidc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// recEnder records the IdP logouts it is asked for.
type recEnder struct {
	mu  sync.Mutex
	got []sso.IdPLogout
}

func (e *recEnder) EndIdPSessions(_ context.Context, l *sso.IdPLogout) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, *l)
	return 1, nil
}

func (e *recEnder) calls() []sso.IdPLogout {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sso.IdPLogout(nil), e.got...)
}

// TestFrontChannelLogout: a front-channel logout request with the
// connection's iss and a sid ends that IdP session through
// Config.Sessions, like back-channel logout; anything else ends nothing.
// The OP is the in-test mock OP: oidc-provider, the OP the browser suite
// runs, implements no front-channel logout.
func TestFrontChannelLogout(t *testing.T) {
	t.Parallel()
	ender := &recEnder{}
	h, op := setupOne(t, func(c *Config) { c.OnLogout, c.Sessions = nil, ender })
	get := func(conn, query string) int {
		rec := httptest.NewRecorder()
		h.rp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/frontchannel-logout/"+conn+"?"+query, nil))
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q", cc)
		}
		return rec.Code
	}
	iss := url.QueryEscape(op.issuer)
	if got := get("conn_a", "iss="+iss+"&sid=sid-1"); got != http.StatusOK {
		t.Fatalf("status %d, want 200", got)
	}
	// Only the issuer's origin may frame the answer; nobody frames the
	// answer for an unknown connection.
	u, _ := url.Parse(op.issuer)
	for conn, want := range map[string]string{"conn_a": "frame-ancestors " + u.Scheme + "://" + u.Host, "conn_x": "frame-ancestors 'none'"} {
		rec := httptest.NewRecorder()
		h.rp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/frontchannel-logout/"+conn+"?iss="+iss+"&sid=sid-0", nil))
		if got := rec.Header().Get("Content-Security-Policy"); got != want {
			t.Fatalf("%s: Content-Security-Policy %q, want %q", conn, got, want)
		}
	}
	ender.mu.Lock()
	ender.got = ender.got[:1]
	ender.mu.Unlock()
	calls := ender.calls()
	if len(calls) != 1 || calls[0].OrgID != "org_a" || calls[0].ConnectionID != "conn_a" || calls[0].Subject != "" ||
		len(calls[0].SessionIndexes) != 1 || calls[0].SessionIndexes[0] != "sid-1" {
		t.Fatalf("logouts %+v", calls)
	}
	for _, tc := range []struct {
		name, conn, query string
		status            int
	}{
		{"other-issuer", "conn_a", "iss=https%3A%2F%2Fevil.example&sid=sid-1", 400},
		{"issuer-trailing-slash", "conn_a", "iss=" + iss + "%2F&sid=sid-1", 400},
		{"no-sid", "conn_a", "iss=" + iss, 400},
		{"no-iss", "conn_a", "sid=sid-1", 400},
		{"repeated-sid", "conn_a", "iss=" + iss + "&sid=a&sid=b", 400},
		{"long-sid", "conn_a", "iss=" + iss + "&sid=" + strings.Repeat("s", 300), 400},
		{"unknown-connection", "conn_x", "iss=" + iss + "&sid=sid-1", 404},
	} {
		if got := get(tc.conn, tc.query); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.status)
		}
	}
	if n := len(ender.calls()); n != 1 {
		t.Fatalf("%d logouts after the refused requests, want 1", n)
	}
	t.Run("not-configured-404", func(t *testing.T) {
		h2, _ := setupOne(t, func(c *Config) { c.OnLogout, c.Sessions = nil, nil })
		rec := httptest.NewRecorder()
		h2.rp.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/frontchannel-logout/conn_a?iss="+iss+"&sid=s", nil))
		if rec.Code != http.StatusNotFound {
			t.Fatalf("status %d", rec.Code)
		}
	})
}

// TestLogoutURLAndSettings: the end_session URL carries id_token_hint,
// client_id, the validated post_logout_redirect_uri and state.
func TestLogoutURLAndSettings(t *testing.T) {
	t.Parallel()
	clk := newClock()
	op := newMockOP(t, clk)
	h := newHarness(t, clk, nil)
	for _, bad := range []string{"http://app.example.com/out", "javascript:alert(1)", "https://app.example.com/out#x", "/out", "https://u:p@app.example.com/out"} {
		_, err := h.rp.Configure(context.Background(), &sso.Connection{ID: "c"}, &ConnectionInput{Issuer: op.issuer, ClientID: "x", ClientSecret: "y", PostLogoutRedirectURI: bad})
		if ve := wantReason(t, err, "invalid_post_logout_redirect_uri"); !strings.Contains(ve.Detail(), "fix: ") {
			t.Fatalf("%q: %s", bad, ve.Detail())
		}
	}
	c := h.addConn(op, "conn_a", "org_a", nil)
	if _, err := h.rp.LogoutURL(context.Background(), c, "", ""); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("IdP without end_session_endpoint: %v, want ErrNotFound", err)
	}
	m := h.addConn(op, "conn_m", "org_a", func(c *sso.Connection, in *ConnectionInput) {
		in.AuthURL, in.TokenURL, in.JWKSURL = op.srv.URL+"/authorize", op.srv.URL+"/token", op.srv.URL+"/jwks"
		in.EndSessionURL = op.srv.URL + "/logout?ui=compact"
		in.PostLogoutRedirectURI = "http://127.0.0.1:9/out"
	})
	raw, err := h.rp.LogoutURL(context.Background(), m, "tok.en.hint", "st-1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if u.Path != "/logout" || q.Get("ui") != "compact" || q.Get("id_token_hint") != "tok.en.hint" || q.Get("client_id") != op.clientID ||
		q.Get("post_logout_redirect_uri") != "http://127.0.0.1:9/out" || q.Get("state") != "st-1" {
		t.Fatalf("logout URL %s", raw)
	}
	if v := h.rp.ConfigView(m).(*ConfigView); v.PostLogoutRedirectURI != "http://127.0.0.1:9/out" || v.EndSessionURL == "" {
		t.Fatalf("view %+v", v)
	}
}

// idTokenCompleter records IDToken(r.Context()) of each completed login.
type idTokenCompleter struct {
	recCompleter
	tokens []string
}

func (c *idTokenCompleter) Complete(w http.ResponseWriter, r *http.Request, l *sso.Login) error {
	c.mu.Lock()
	c.tokens = append(c.tokens, IDToken(r.Context()))
	c.mu.Unlock()
	return c.recCompleter.Complete(w, r, l)
}

// TestIDTokenForCompleter: the completer sees the verified ID token.
func TestIDTokenForCompleter(t *testing.T) {
	t.Parallel()
	h, op := setupOne(t, nil)
	comp := &idTokenCompleter{}
	h.rp.cfg.Completer = comp
	b := newBrowser(t)
	if resp := h.login(b, "conn_a"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d (%v)", resp.StatusCode, h.err())
	}
	op.mu.Lock()
	want := op.lastIDToken
	op.mu.Unlock()
	if len(comp.tokens) != 1 || comp.tokens[0] != want || want == "" {
		t.Fatalf("IDToken in completion = %v, want the issued one", comp.tokens)
	}
	// The login carries it too, as the hint its session keeps for logout.
	if l := comp.lastLogin(); l == nil || l.LogoutHint != want {
		t.Fatal("Login.LogoutHint is not the issued ID token")
	}
	if IDToken(context.Background()) != "" {
		t.Fatal("IDToken outside a callback")
	}
}

var hiddenXSRF = regexp.MustCompile(`name="xsrf" value="([^"]+)"`)

// idpSessionAlive starts a login in b and reports whether the real OP
// answered it from its session (straight back to the callback) rather
// than with its login form.
func idpSessionAlive(t *testing.T, h *harness, b *browser, connID string) bool {
	t.Helper()
	next := h.start(b, connID, "").String()
	for range 12 {
		if strings.HasPrefix(next, h.rp.RedirectURI(connID)) {
			return true
		}
		resp, err := b.c.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && formAction.Match(body) {
			return false
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode/100 != 3 {
			t.Fatalf("unexpected %d at %s", resp.StatusCode, next)
		}
		next = loc.String()
	}
	t.Fatal("too many redirects")
	return false
}

// TestInteropRPInitiatedLogout: against a real oidc-provider, the logout
// URL with the login's ID token as id_token_hint ends the IdP session and
// returns the browser to the connection's post_logout_redirect_uri with
// state.
func TestInteropRPInitiatedLogout(t *testing.T) {
	dir := opHarnessDir(t)
	clk := newClock()
	h := newHarness(t, clk, nil)
	h.rp.cfg.Now = func() time.Time { return time.Now().Add(clk.Now().Sub(clk.t0())) }
	h.flows.now = h.rp.cfg.Now
	postLogout := h.srv.URL + "/signed-out"
	op := startRealOP(t, dir, []map[string]any{{"client_id": "rp-out", "client_secret": "out-secret-0123456789",
		"redirect_uris": []string{h.rp.RedirectURI("conn_out")}, "post_logout_redirect_uris": []string{postLogout},
		"grant_types": []string{"authorization_code"}, "response_types": []string{"code"}}})
	c := &sso.Connection{ID: "conn_out", OrgID: "org_out", Protocol: Protocol, Status: sso.ConnectionActive}
	if _, err := h.rp.Configure(context.Background(), c, &ConnectionInput{Issuer: op.issuer, ClientID: "rp-out", ClientSecret: "out-secret-0123456789",
		PostLogoutRedirectURI: postLogout}); err != nil {
		t.Fatal(err)
	}
	if err := h.conns.CreateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	comp := &idTokenCompleter{}
	h.rp.cfg.Completer = comp
	b, cb := realAuthorize(t, h, "conn_out")
	if resp := b.get(cb); resp.StatusCode != http.StatusSeeOther || len(comp.tokens) != 1 {
		t.Fatalf("login: %d (%v)", resp.StatusCode, h.err())
	}
	if !idpSessionAlive(t, h, b, "conn_out") {
		t.Fatal("the OP asked for credentials again before the logout")
	}
	logoutURL, err := h.rp.LogoutURL(context.Background(), c, comp.tokens[0], "st-42")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.c.Get(logoutURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := hiddenXSRF.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("end_session: %d %.300s", resp.StatusCode, page)
	}
	action := formAction.FindSubmatch(page)
	confirm, _ := resp.Request.URL.Parse(string(action[1]))
	resp, err = b.c.PostForm(confirm.String(), url.Values{"xsrf": {string(m[1])}, "logout": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 || !strings.HasPrefix(back.String(), postLogout) || back.Query().Get("state") != "st-42" {
		t.Fatalf("after logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if idpSessionAlive(t, h, b, "conn_out") {
		t.Fatal("the IdP session survived the RP-initiated logout")
	}
}

// TestIssuerOrigin: the frame-ancestors source is the issuer's origin, and
// an issuer that would inject another CSP source or directive gives none.
func TestIssuerOrigin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://login.microsoftonline.com/{tenantid}/v2.0": "https://login.microsoftonline.com",
		"https://idp.example.com:8443/realms/acme":          "https://idp.example.com:8443",
		"http://127.0.0.1:9000":                             "http://127.0.0.1:9000",
		"https://idp.example.com;script-src *":              "",
		"https://*.example.com/":                            "",
		"javascript:alert(1)":                               "",
		"urn:example:idp":                                   "",
	} {
		if got := issuerOrigin(in); got != want {
			t.Errorf("issuerOrigin(%q) = %q, want %q", in, got, want)
		}
	}
}
