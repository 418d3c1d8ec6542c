package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso/ssotest"
)

// lockedBuffer is an io.Writer safe for the concurrent handlers of a server.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// wireCapture records, at the demo's edge, the secrets that cross the wire
// and must never reach a log: SAML responses posted to the ACS and the
// development IdP's token responses (ID and access tokens).
type wireCapture struct {
	mu            sync.Mutex
	samlResponses []string
	acsURLs       []string
	tokenBodies   []string
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (t *teeWriter) Write(p []byte) (int, error) {
	t.buf.Write(p)
	return t.ResponseWriter.Write(p)
}

func (c *wireCapture) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sso/saml/"):
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if form, err := url.ParseQuery(string(body)); err == nil && form.Get("SAMLResponse") != "" {
				c.mu.Lock()
				c.samlResponses = append(c.samlResponses, form.Get("SAMLResponse"))
				c.acsURLs = append(c.acsURLs, r.URL.Path)
				c.mu.Unlock()
			}
		case r.URL.Path == "/idp/oidc/token":
			tw := &teeWriter{ResponseWriter: w}
			h.ServeHTTP(tw, r)
			c.mu.Lock()
			c.tokenBodies = append(c.tokenBodies, tw.buf.String())
			c.mu.Unlock()
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startCapturingDemo is startDemo with every log line of the demo and of
// slog.Default going to logs, and the wire capture in front of the handler.
func startCapturingDemo(t *testing.T, logs io.Writer, capture *wireCapture) (*App, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	ctx, cancel := context.WithCancel(context.Background())
	app, err := NewApp(ctx, Options{Addr: ln.Addr().String(), BaseURL: base, DB: filepath.Join(t.TempDir(), "demo.db"),
		AdminToken: "test-admin-token-" + opaque.NewToken(8), Logger: logger})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	srv := &http.Server{Handler: capture.wrap(app.Handler()), ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
	go srv.Serve(ln)
	if err := app.Seed(ctx); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	wait := startBackground(ctx, app)
	t.Cleanup(func() {
		cancel()
		wait()
		srv.Close()
		app.Close()
		slog.SetDefault(prev)
	})
	return app, base
}

// postJSON sends a same-origin JSON POST through b.
func postJSON(t *testing.T, b *ssotest.Browser, base, path, body string) (int, map[string]any) {
	t.Helper()
	return sendJSON(t, b, "POST", base, path, body)
}

// sendJSON sends a same-origin JSON request through b and decodes the
// JSON answer.
func sendJSON(t *testing.T, b *ssotest.Browser, method, base, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Origin", base)
	res, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func postForm(t *testing.T, c *http.Client, rawURL string, form url.Values, origin string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", rawURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestLogsCarryNoSecrets runs a SAML login, an OIDC login, API tokens with
// a refresh and a refresh-token reuse, TOTP enrolment, a SCIM sync with a
// deactivation, and failed attacks (tampered signature, replayed assertion,
// wrong OIDC state, bad SCIM token, wrong TOTP code) through the demo, with
// every component's Logger and slog.Default writing to one buffer. It then
// asserts that no session token, access or refresh token, SCIM token,
// client secret, TOTP seed, SAML assertion or ID token appears in the logs.
func TestLogsCarryNoSecrets(t *testing.T) {
	logs := &lockedBuffer{}
	capture := &wireCapture{}
	app, base := startCapturingDemo(t, logs, capture)
	ctx := context.Background()
	secrets := map[string]string{"OIDC client secret": demoOIDCSecret, "admin token": app.AdminToken()}
	baseURL, _ := url.Parse(base)
	cookies := func(b *ssotest.Browser, who string) {
		for _, c := range b.Client.Jar.Cookies(baseURL) {
			if len(c.Value) >= 16 {
				secrets[who+" cookie "+c.Name] = c.Value
			}
		}
	}

	// 1. SAML login (Acme) and OIDC login (Globex).
	alice, _ := loginAs(t, base, "alice@acme.test")
	cookies(alice, "alice")
	bob, _ := loginAs(t, base, "bob@globex.test")
	cookies(bob, "bob")

	// 2. API tokens: issue, refresh, then reuse the first refresh token.
	code, pair := postJSON(t, alice, base, "/api/tokens", "")
	if code != 200 || pair["refresh_token"] == nil {
		t.Fatalf("issue tokens: %d %v", code, pair)
	}
	secrets["access token"] = pair["access_token"].(string)
	secrets["refresh token"] = pair["refresh_token"].(string)
	plain := &http.Client{}
	refresh := func(tok string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", base+"/api/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := plain.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	code, next := refresh(secrets["refresh token"])
	if code != 200 || next["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", code, next)
	}
	secrets["rotated refresh token"] = next["refresh_token"].(string)
	secrets["rotated access token"] = next["access_token"].(string)
	if code, _ := refresh(secrets["refresh token"]); code == 200 {
		t.Fatal("reused refresh token accepted")
	}

	// 3. TOTP enrolment, a wrong code and the right one.
	code, enr := postJSON(t, alice, base, "/mfa/totp/enroll", "{}")
	if code != 200 || enr["secret"] == nil {
		t.Fatalf("enroll: %d %v", code, enr)
	}
	seed := enr["secret"].(string)
	secrets["TOTP seed"] = seed
	secrets["TOTP URI"] = enr["uri"].(string)
	if code, _ := postJSON(t, alice, base, "/mfa/totp/confirm", `{"code":"000000"}`); code == 200 {
		// One in a million: the wrong code was right. Nothing to assert.
		t.Log("000000 happened to be the current code")
	}
	otpCode, err := totp.GenerateCode(seed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	code, rc := postJSON(t, alice, base, "/mfa/totp/confirm", `{"code":"`+otpCode+`"}`)
	if code != 200 {
		t.Fatalf("confirm TOTP: %d %v", code, rc)
	}
	if codes, _ := rc["recovery_codes"].([]any); len(codes) > 0 {
		secrets["recovery code"] = codes[0].(string)
	}
	cookies(alice, "alice after MFA")

	// 4. SCIM: a token from the admin API, a user created, then deactivated.
	req, _ := http.NewRequest("POST", base+"/api/admin/scim-tokens", strings.NewReader(`{"description":"log test"}`))
	req.Header.Set("Authorization", "Bearer "+app.AdminToken())
	req.Header.Set("X-Ssokit-Org", "acme")
	req.Header.Set("Content-Type", "application/json")
	res, err := plain.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if res.StatusCode != 201 && res.StatusCode != 200 || tok["token"] == nil {
		t.Fatalf("create SCIM token: %d %v", res.StatusCode, tok)
	}
	secrets["SCIM token"] = tok["token"].(string)
	sc := ssotest.NewSCIMClient(base+"/scim/v2", secrets["SCIM token"], ssotest.Okta)
	cr, err := sc.CreateUser(ctx, ssotest.SCIMUser{UserName: "carol@acme.test", GivenName: "Carol", FamilyName: "Logs"})
	if err != nil || cr.ID() == "" {
		t.Fatalf("SCIM create: %v %+v", err, cr)
	}
	if dr, err := sc.DeactivateUser(ctx, cr.ID()); err != nil || dr.StatusCode >= 300 {
		t.Fatalf("SCIM deactivate: %v %+v", err, dr)
	}
	bad := ssotest.NewSCIMClient(base+"/scim/v2", "scim_forged_"+opaque.NewToken(16), ssotest.Okta)
	secrets["forged SCIM token"] = bad.Token
	if r, err := bad.FindUser(ctx, "carol@acme.test"); err != nil || r.StatusCode != 401 {
		t.Fatalf("forged SCIM token: %v %+v", err, r)
	}

	// 5. Attacks on the SAML ACS: replay and a tampered (badly signed)
	// assertion.
	capture.mu.Lock()
	samlResp, acs := capture.samlResponses[0], capture.acsURLs[0]
	tokenBodies := append([]string(nil), capture.tokenBodies...)
	capture.mu.Unlock()
	secrets["SAMLResponse"] = samlResp
	xmlBytes, err := base64.StdEncoding.DecodeString(samlResp)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`SignatureValue>([^<]{40,})<`).FindSubmatch(xmlBytes); m != nil {
		secrets["assertion signature"] = strings.TrimSpace(string(m[1]))
	}
	if i := bytes.Index(xmlBytes, []byte("Assertion ")); i > 0 {
		secrets["assertion XML"] = string(xmlBytes[i-6 : min(len(xmlBytes), i+120)])
	}
	attacker := ssotest.NewBrowser()
	if code := postForm(t, attacker.Client, base+acs, url.Values{"SAMLResponse": {samlResp}}, ""); code < 400 {
		t.Fatalf("replayed SAML response: status %d", code)
	}
	tampered := bytes.Replace(xmlBytes, []byte("alice@acme.test"), []byte("mallory@acme.test"), -1)
	forged := base64.StdEncoding.EncodeToString(tampered)
	secrets["tampered SAMLResponse"] = forged
	if code := postForm(t, attacker.Client, base+acs, url.Values{"SAMLResponse": {forged}}, ""); code < 400 {
		t.Fatalf("tampered SAML response: status %d", code)
	}

	// 6. Attack on the OIDC callback: a wrong state.
	globex, err := app.store.GetOrgBySlug(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	conns, err := app.store.ListConnections(ctx, globex.ID)
	if err != nil || len(conns) == 0 {
		t.Fatalf("globex connections: %v", err)
	}
	stolenCode := "stolen-code-" + opaque.NewToken(12)
	secrets["authorization code"] = stolenCode
	res, err = attacker.Client.Get(base + "/sso/oidc/callback/" + conns[0].ID + "?code=" + stolenCode + "&state=forged-state-value")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 {
		t.Fatalf("wrong state: status %d", res.StatusCode)
	}

	// The ID and access tokens the IdP issued to the RP.
	for _, body := range tokenBodies {
		var tr map[string]any
		if json.Unmarshal([]byte(body), &tr) != nil {
			continue
		}
		if s, _ := tr["id_token"].(string); s != "" {
			secrets["ID token"] = s
			if parts := strings.Split(s, "."); len(parts) == 3 {
				secrets["ID token payload"] = parts[1]
				secrets["ID token signature"] = parts[2]
			}
		}
		if s, _ := tr["access_token"].(string); s != "" {
			secrets["IdP access token"] = s
		}
	}
	for _, want := range []string{"ID token", "SAMLResponse", "SCIM token", "TOTP seed", "refresh token"} {
		if secrets[want] == "" {
			t.Fatalf("the flow did not produce a %s to look for", want)
		}
	}

	// Give background work and deferred logging a moment, then inspect.
	time.Sleep(50 * time.Millisecond)
	out := logs.String()
	lines := strings.Count(out, "\n")
	if lines < 4 {
		t.Fatalf("only %d log lines captured; the capture is not wired:\n%s", lines, out)
	}
	// The replayed response is caught by its single-use request ID (or, for
	// an unsolicited one, the assertion replay cache).
	if !strings.Contains(out, "in_response_to_mismatch") && !strings.Contains(out, "replayed") {
		t.Errorf("logs do not mention the replay rejection:\n%s", out)
	}
	for _, want := range []string{"signature_invalid", "state_invalid"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs do not mention the %q rejection; the attacks were not logged at the edge:\n%s", want, out)
		}
	}
	for name, s := range secrets {
		if len(s) < 8 {
			continue
		}
		if strings.Contains(out, s) {
			t.Errorf("the logs contain the %s", name)
		}
		// Also a fragment: a logged prefix or an escaped copy leaks too.
		if len(s) >= 40 {
			frag := s[len(s)/2-10 : len(s)/2+10]
			if strings.Contains(out, frag) {
				t.Errorf("the logs contain a fragment of the %s", name)
			}
		}
		if esc, _ := json.Marshal(s); strings.Contains(out, strings.Trim(string(esc), `"`)) {
			t.Errorf("the logs contain the JSON-escaped %s", name)
		}
	}
	if t.Failed() {
		t.Logf("captured logs:\n%s", out)
	}
}
