package mfa_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// server mounts the Manager under /mfa/ behind a stand-in for the session
// middleware that puts e.p (or nothing, when anonymous) in the context.
func (e *env) server(t *testing.T, anonymous *bool) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/mfa/", http.StripPrefix("/mfa", e.m))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if anonymous == nil || !*anonymous {
			cp := *e.p
			r = r.WithContext(sso.WithPrincipal(r.Context(), &cp))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type apiResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func call(t *testing.T, srv *httptest.Server, method, path string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := apiResp{status: res.StatusCode, header: res.Header, raw: raw}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
	}
	return r
}

func (r apiResp) want(t *testing.T, status int, errCode string) apiResp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.raw)
	}
	if errCode != "" && r.body["error"] != errCode {
		t.Fatalf("error %v, want %q", r.body["error"], errCode)
	}
	return r
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestHandlersTOTPRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := e.server(t, nil)

	st := call(t, srv, "GET", "/mfa/status", nil).want(t, 200, "")
	if st.body["enrolled"] != false || st.body["policy"] != "not_required" {
		t.Fatalf("status: %s", st.raw)
	}

	// POSTs must be JSON (keeps cross-site forms out).
	res, err := srv.Client().Post(srv.URL+"/mfa/totp/enroll", "application/x-www-form-urlencoded", strings.NewReader("a=b"))
	if err != nil || res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form POST: %v %v", res.StatusCode, err)
	}
	res.Body.Close()

	en := call(t, srv, "POST", "/mfa/totp/enroll", nil).want(t, 200, "")
	if cc := en.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("enrolment response Cache-Control %q, want no-store", cc)
	}
	secret := en.body["secret"].(string)
	if !strings.HasPrefix(en.body["uri"].(string), "otpauth://totp/") || !strings.HasPrefix(en.body["qr_data_url"].(string), "data:image/png;base64,") {
		t.Fatalf("enrolment body: %s", en.raw)
	}
	pngBytes, _ := base64.StdEncoding.DecodeString(en.body["qr_png"].(string))
	if _, err := png.Decode(bytes.NewReader(pngBytes)); err != nil {
		t.Fatalf("qr_png: %v", err)
	}

	call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": "12ab56"}).want(t, 400, mfa.ReasonCodeMalformed)
	call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": wrongCode(e.code(secret))}).want(t, 401, mfa.ReasonCodeInvalid)
	conf := call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": e.code(secret)}).want(t, 200, "")
	codes := strs(conf.body["recovery_codes"])
	if len(codes) != 10 || e.elev.Calls() != 1 || !strings.Contains(conf.header.Get("Set-Cookie"), "__Host-session=rotated") {
		t.Fatalf("confirm: %d codes, %d elevations, cookie %q", len(codes), e.elev.Calls(), conf.header.Get("Set-Cookie"))
	}
	call(t, srv, "POST", "/mfa/totp/enroll", nil).want(t, 409, mfa.ReasonAlreadyEnrolled)

	// Second login step.
	e.p.MFA = false
	e.clock.Advance(30 * time.Second)
	c := e.code(secret)
	call(t, srv, "POST", "/mfa/verify", map[string]string{"code": c}).want(t, 200, "")
	call(t, srv, "POST", "/mfa/verify", map[string]string{"code": c}).want(t, 401, mfa.ReasonCodeReplayed)
	if e.elev.Calls() != 2 {
		t.Fatalf("elevations: %d, want 2", e.elev.Calls())
	}

	rec := call(t, srv, "POST", "/mfa/recovery", map[string]string{"code": codes[0]}).want(t, 200, "")
	if rec.body["remaining"] != float64(9) {
		t.Fatalf("recovery: %s", rec.raw)
	}
	call(t, srv, "POST", "/mfa/recovery", map[string]string{"code": codes[0]}).want(t, 401, mfa.ReasonRecoveryInvalid)

	// Sensitive endpoints need a recent local verification.
	e.p.MFAAt = e.clock.Now().Add(-time.Hour)
	call(t, srv, "POST", "/mfa/recovery/regenerate", nil).want(t, 403, mfa.CodeReverificationRequired)
	call(t, srv, "POST", "/mfa/disable", map[string]string{"factor": "totp"}).want(t, 403, mfa.CodeReverificationRequired)
	e.p.MFAAt = e.clock.Now()
	regen := call(t, srv, "POST", "/mfa/recovery/regenerate", nil).want(t, 200, "")
	if n := len(strs(regen.body["recovery_codes"])); n != 10 {
		t.Fatalf("regenerated %d codes", n)
	}
	call(t, srv, "POST", "/mfa/disable", map[string]string{"factor": "totp"}).want(t, 200, "")
	call(t, srv, "POST", "/mfa/disable", map[string]string{"factor": "totp"}).want(t, 404, mfa.ReasonNotEnrolled)
	call(t, srv, "POST", "/mfa/disable", map[string]string{"factor": "webauthn", "credential_id": "***"}).want(t, 400, "invalid_request")

	// Bad requests.
	call(t, srv, "POST", "/mfa/verify", "not an object").want(t, 400, "invalid_request")
	call(t, srv, "GET", "/mfa/nope", nil).want(t, 404, "not_found")
	call(t, srv, "GET", "/mfa/verify", nil).want(t, 404, "not_found")
}

func TestHandlersUnauthenticated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	anon := true
	srv := e.server(t, &anon)
	for _, path := range []string{"/mfa/totp/enroll", "/mfa/verify", "/mfa/recovery", "/mfa/disable", "/mfa/webauthn/login/begin"} {
		call(t, srv, "POST", path, map[string]string{"code": "123456"}).want(t, 401, mfa.CodeUnauthenticated)
	}
	call(t, srv, "GET", "/mfa/status", nil).want(t, 401, mfa.CodeUnauthenticated)
}

func TestHandlersLockout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, _ := e.enrol()
	srv := e.server(t, nil)
	for range 4 {
		call(t, srv, "POST", "/mfa/verify", map[string]string{"code": wrongCode(e.code(secret))}).want(t, 401, mfa.ReasonCodeInvalid)
	}
	r := call(t, srv, "POST", "/mfa/recovery", map[string]string{"code": "aaaa-aaaa-aaaa-aaaa"}).want(t, 429, mfa.ReasonLockedOut)
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 59 || ra > 61 {
		t.Fatalf("Retry-After %q, want about 60", r.header.Get("Retry-After"))
	}
	call(t, srv, "POST", "/mfa/verify", map[string]string{"code": e.code(secret)}).want(t, 429, mfa.ReasonLockedOut)
	if e.elev.Calls() != 0 {
		t.Fatal("a locked-out attempt elevated the session")
	}
}

func TestHandlersWebAuthnRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := e.server(t, nil)
	k := newSoftKey(t)

	begin := call(t, srv, "POST", "/mfa/webauthn/register/begin", nil).want(t, 200, "")
	var creation protocol.CredentialCreation
	optsJSON, _ := json.Marshal(begin.body["options"])
	if err := json.Unmarshal(optsJSON, &creation); err != nil || len(creation.Response.Challenge) < 16 || creation.Response.RelyingParty.ID != "app.example" {
		t.Fatalf("creation options %s: %v", optsJSON, err)
	}
	fin := call(t, srv, "POST", "/mfa/webauthn/register/finish", map[string]any{
		"ceremony": begin.body["ceremony"], "name": "Key", "credential": json.RawMessage(k.register(t, &creation, ceremonyOpts{})),
	}).want(t, 200, "")
	if len(strs(fin.body["recovery_codes"])) != 10 {
		t.Fatalf("register finish: %s", fin.raw)
	}

	lb := call(t, srv, "POST", "/mfa/webauthn/login/begin", nil).want(t, 200, "")
	var assertion protocol.CredentialAssertion
	optsJSON, _ = json.Marshal(lb.body["options"])
	if err := json.Unmarshal(optsJSON, &assertion); err != nil || len(assertion.Response.AllowedCredentials) != 1 {
		t.Fatalf("assertion options %s: %v", optsJSON, err)
	}
	bad := call(t, srv, "POST", "/mfa/webauthn/login/finish", map[string]any{
		"ceremony": lb.body["ceremony"], "credential": json.RawMessage(k.assert(t, &assertion, ceremonyOpts{origin: "https://evil.example"})),
	}).want(t, 401, mfa.ReasonWebAuthnInvalid)
	if strings.Contains(string(bad.raw), "evil") || strings.Contains(string(bad.raw), "rigin") {
		t.Fatalf("error body leaks detail: %s", bad.raw)
	}
	lb = call(t, srv, "POST", "/mfa/webauthn/login/begin", nil).want(t, 200, "")
	optsJSON, _ = json.Marshal(lb.body["options"])
	_ = json.Unmarshal(optsJSON, &assertion)
	call(t, srv, "POST", "/mfa/webauthn/login/finish", map[string]any{
		"ceremony": lb.body["ceremony"], "credential": json.RawMessage(k.assert(t, &assertion, ceremonyOpts{})),
	}).want(t, 200, "")
	if e.elev.Calls() != 1 || !e.p.MFA {
		t.Fatalf("WebAuthn login did not elevate: %d", e.elev.Calls())
	}
}

func TestHandlersHideInternalErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.elev.err = errors.New("session store down: secret detail")
	secret, _ := e.enrol()
	srv := e.server(t, nil)
	r := call(t, srv, "POST", "/mfa/verify", map[string]string{"code": e.code(secret)}).want(t, 500, "internal")
	if strings.Contains(string(r.raw), "secret detail") {
		t.Fatalf("internal error leaked: %s", r.raw)
	}
	if !strings.Contains(e.logs.String(), "secret detail") {
		t.Fatal("internal error not logged")
	}

	// A custom ErrorHandler receives the error.
	var got error
	e2 := newEnv(t, func(c *mfa.Config) {
		c.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { got = err; w.WriteHeader(418) }
	})
	srv2 := e2.server(t, nil)
	req, _ := http.NewRequest("POST", srv2.URL+"/mfa/verify", strings.NewReader(`{"code":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := srv2.Client().Do(req)
	if err != nil || res.StatusCode != 418 || sso.ReasonOf(got) != mfa.ReasonNotEnrolled {
		t.Fatalf("custom error handler: %v %v %v", res.StatusCode, err, got)
	}
	res.Body.Close()
}

func TestHandlersStatusShowsPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org.Settings.MFA = sso.MFAPolicy{Required: true, ChangedAt: e.clock.Now().Add(-24 * time.Hour)}
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	srv := e.server(t, nil)
	st := call(t, srv, "GET", "/mfa/status", nil).want(t, 200, "")
	want := e.clock.Now().Add(6 * 24 * time.Hour).UTC().Format(time.RFC3339)
	if st.body["policy"] != "grace_period" || st.body["enrollment_due"] != want || st.body["enrolled"] != false {
		t.Fatalf("status: %s (want due %s)", st.raw, want)
	}
	e.enrol()
	st = call(t, srv, "GET", "/mfa/status", nil).want(t, 200, "")
	// Enrolled through the Go API, which does not elevate the session: the
	// user must now verify.
	if st.body["policy"] != "verification_required" || st.body["totp"] != true || st.body["recovery_codes"] != float64(10) {
		t.Fatalf("status after enrolment: %s", st.raw)
	}
}
