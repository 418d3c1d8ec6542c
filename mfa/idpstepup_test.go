package mfa_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// recStarter stands in for the saml package's starter: it records the
// options and redirects to a fake IdP.
type recStarter struct {
	mu    sync.Mutex
	calls []sso.StartOptions
}

func (s *recStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	s.mu.Lock()
	s.calls = append(s.calls, opts)
	s.mu.Unlock()
	http.Redirect(w, r, "https://idp.example/sso?conn="+c.ID, http.StatusFound)
	return nil
}

// idpStepUpEnv is an env whose organization asks for step-ups at the IdP
// and whose principal's session was made by a SAML connection.
func idpStepUpEnv(t *testing.T, stepUpAtIdP bool) (*env, *recStarter, *sso.Connection) {
	t.Helper()
	st := &recStarter{}
	e := newEnv(t)
	e.m = mustManager(t, e, st)
	conn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: e.org.ID, Protocol: "saml", Status: sso.ConnectionActive, CreatedAt: t0}
	if err := conns(t, e).CreateConnection(e.ctx(), conn); err != nil {
		t.Fatal(err)
	}
	e.org.Settings.MFA.TrustIdPMFA, e.org.Settings.MFA.StepUpAtIdP = true, stepUpAtIdP
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	e.p.Method, e.p.ConnectionID = "saml", conn.ID
	return e, st, conn
}

// conns is e's store of connections (the memory store).
func conns(t *testing.T, e *env) sso.ConnectionStore {
	t.Helper()
	cs, ok := e.st.coreStore.(sso.ConnectionStore)
	if !ok {
		t.Fatal("the env's store keeps no connections")
	}
	return cs
}

// mustManager rebuilds e's Manager with Connections set to e's store.
func mustManager(t *testing.T, e *env, st *recStarter) *mfa.Manager {
	t.Helper()
	m, err := mfa.New(mfa.Config{Store: e.st, Sealer: e.keys, Users: e.st, Orgs: e.st, Members: e.st, Events: e.st, Elevator: e.elev,
		Issuer: "Acme Cloud", Now: e.clock.Now, VerifyURL: "/mfa/verify", EnrollmentURL: "/settings/mfa",
		Starters: map[sso.Protocol]sso.Starter{"saml": st}, Connections: conns(t, e), IdPStepUpURL: "/mfa/step-up/idp"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStepUpSendsSSOSessionsToTheirIdP(t *testing.T) {
	t.Parallel()
	e, _, _ := idpStepUpEnv(t, true)
	w := serve(e.m.StepUp(5*time.Minute)(okHandler), e.p, "GET", "/billing", "text/html")
	if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || loc != "/mfa/step-up/idp?max_age=300&return_to=%2Fbilling" {
		t.Fatalf("step-up answered %d %q; want the IdP step-up", w.Code, loc)
	}
	// An API call still gets the JSON refusal.
	if w := serve(e.m.StepUp(5*time.Minute)(okHandler), e.p, "POST", "/billing", ""); w.Code != http.StatusForbidden {
		t.Fatalf("API step-up answered %d", w.Code)
	}
}

func TestStepUpStaysLocal(t *testing.T) {
	t.Parallel()
	for name, setup := range map[string]func(e *env){
		"organization asks for the local factor": func(e *env) {
			e.org.Settings.MFA.StepUpAtIdP = false
			_ = e.st.UpdateOrg(e.ctx(), e.org)
		},
		"IdP MFA not trusted": func(e *env) {
			e.org.Settings.MFA.TrustIdPMFA = false
			_ = e.st.UpdateOrg(e.ctx(), e.org)
		},
		"local sign-in":         func(e *env) { e.p.Method = sso.AuthLocal },
		"switched organization": func(e *env) { e.p.Method = sso.AuthSwitch },
		"connection of another organization": func(e *env) {
			c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: "org_other", Protocol: "saml", Status: sso.ConnectionActive, CreatedAt: t0}
			_ = conns(t, e).CreateConnection(e.ctx(), c)
			e.p.ConnectionID = c.ID
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, st, _ := idpStepUpEnv(t, true)
			setup(e)
			w := serve(e.m.StepUp(5*time.Minute)(okHandler), e.p, "GET", "/billing", "text/html")
			if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || loc != "/mfa/verify?return_to=%2Fbilling" {
				t.Fatalf("step-up answered %d %q; want the local factor", w.Code, loc)
			}
			w = serve(e.m, e.p, "GET", "/step-up/idp?return_to=/billing", "")
			if w.Code != http.StatusConflict || errorCode(t, w) != mfa.CodeStepUpAtIdPUnavailable || len(st.calls) != 0 {
				t.Fatalf("GET /step-up/idp answered %d, %d starts; want 409 and none", w.Code, len(st.calls))
			}
		})
	}
}

func TestServeIdPStepUpStartsABoundLogin(t *testing.T) {
	t.Parallel()
	e, st, conn := idpStepUpEnv(t, true)
	w := serve(e.m, e.p, "GET", "/step-up/idp?return_to=/billing&max_age=120", "")
	if w.Code != http.StatusFound || len(st.calls) != 1 {
		t.Fatalf("answered %d with %d starts", w.Code, len(st.calls))
	}
	o := st.calls[0]
	want := sso.StepUp{SessionID: e.p.SessionID, UserID: e.p.UserID, OrgID: e.org.ID, ConnectionID: conn.ID, MaxAge: 2 * time.Minute, At: e.clock.Now()}
	if !o.RequireMFA || !o.ForceAuthn || o.MaxAge != 2*time.Minute || o.ReturnTo != "/billing" || o.StepUp == nil || *o.StepUp != want {
		t.Fatalf("start options %+v (step-up %+v); want MFA, ForceAuthn, max age 2m bound to the session", o, o.StepUp)
	}
	// An unsafe return path is dropped, max_age is bounded, a bad one named.
	serve(e.m, e.p, "GET", "/step-up/idp?return_to=https://evil.example/&max_age=999999", "")
	if o := st.calls[1]; o.ReturnTo != "" || o.MaxAge != time.Hour {
		t.Fatalf("return_to %q max age %v; want none and 1h", o.ReturnTo, o.MaxAge)
	}
	if w := serve(e.m, e.p, "GET", "/step-up/idp?max_age=soon", ""); w.Code != http.StatusBadRequest {
		t.Fatalf("bad max_age answered %d", w.Code)
	}
	if w := serve(e.m, nil, "GET", "/step-up/idp", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous answered %d", w.Code)
	}
}

// TestLocalFactorRefusedWithoutFallback: an organization that confirms
// second factors at its IdP and turned the local fallback off refuses a
// local factor from a session its SSO connection made (a member cannot
// step around the IdP with a TOTP code, a recovery code or a security
// key), before any code is checked; with the fallback on, or for a local
// sign-in, the local factor elevates the session.
func TestLocalFactorRefusedWithoutFallback(t *testing.T) {
	t.Parallel()
	e, _, _ := idpStepUpEnv(t, true)
	secret, recovery := e.enrol()
	srv := e.server(t, nil)

	before := len(e.events(mfa.EventFailed))
	for _, c := range []struct {
		path string
		body any
	}{
		{"/mfa/verify", map[string]string{"code": e.code(secret)}},
		{"/mfa/recovery", map[string]string{"code": recovery[0]}},
		{"/mfa/webauthn/login/begin", map[string]string{}},
		{"/mfa/webauthn/login/finish", map[string]any{"ceremony": "x", "credential": map[string]string{}}},
	} {
		r := call(t, srv, "POST", c.path, c.body).want(t, http.StatusConflict, mfa.CodeStepUpAtIdPRequired)
		if r.body["step_up_url"] != "/mfa/step-up/idp" {
			t.Errorf("%s: step_up_url %v, want the IdP step-up", c.path, r.body["step_up_url"])
		}
	}
	if n := e.elev.Calls(); n != 0 {
		t.Fatalf("%d elevations with the local fallback off", n)
	}
	evs := e.events(mfa.EventFailed)
	if len(evs)-before != 4 || evs[0].Reason != mfa.ReasonLocalFactorNotAllowed {
		t.Fatalf("%d new mfa.failed events (first reason %q), want 4 naming %s", len(evs)-before, evs[0].Reason, mfa.ReasonLocalFactorNotAllowed)
	}
	// The recovery code was not spent by the refused attempt.
	e.org.Settings.MFA.StepUpLocalFallback = true
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	call(t, srv, "POST", "/mfa/recovery", map[string]string{"code": recovery[0]}).want(t, http.StatusOK, "")
	if n := e.elev.Calls(); n != 1 {
		t.Fatalf("%d elevations with the fallback on, want 1", n)
	}
	// A local sign-in of the same organization keeps the local factor.
	e.org.Settings.MFA.StepUpLocalFallback = false
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	e.p.Method, e.p.ConnectionID = sso.AuthLocal, ""
	e.clock.Advance(30 * time.Second)
	call(t, srv, "POST", "/mfa/verify", map[string]string{"code": e.code(secret)}).want(t, http.StatusOK, "")
	if n := e.elev.Calls(); n != 2 {
		t.Fatalf("%d elevations after a local sign-in's TOTP, want 2", n)
	}
}

// TestLocalFactorRefusedInGoAPI: a host that calls the factor methods
// itself, not through the handlers, meets the same refusal: with the local
// fallback off, an SSO session that can step up at its IdP gets
// ErrStepUpAtIdPRequired from each, audited, before any code is checked,
// so a valid TOTP code and a recovery code are not spent and no failure
// counts toward the lockout.
func TestLocalFactorRefusedInGoAPI(t *testing.T) {
	t.Parallel()
	e, _, _ := idpStepUpEnv(t, true)
	secret, recovery := e.enrol()
	before := len(e.events(mfa.EventFailed))
	code := e.code(secret)
	_, _, beginErr := e.m.BeginWebAuthnLogin(e.ctx(), e.p)
	_, recoveryErr := e.m.UseRecoveryCode(e.ctx(), e.p, recovery[0])
	for name, err := range map[string]error{
		"VerifyTOTP":          e.m.VerifyTOTP(e.ctx(), e.p, code),
		"UseRecoveryCode":     recoveryErr,
		"BeginWebAuthnLogin":  beginErr,
		"FinishWebAuthnLogin": e.m.FinishWebAuthnLogin(e.ctx(), e.p, "x", []byte("{}")),
	} {
		if !errors.Is(err, mfa.ErrStepUpAtIdPRequired) || !errors.Is(err, sso.ErrForbidden) {
			t.Errorf("%s: %v, want ErrStepUpAtIdPRequired", name, err)
		}
	}
	evs := e.events(mfa.EventFailed)
	if len(evs)-before != 4 {
		t.Fatalf("%d new mfa.failed events, want 4", len(evs)-before)
	}
	for _, ev := range evs[:len(evs)-before] {
		if ev.Reason != mfa.ReasonLocalFactorNotAllowed {
			t.Errorf("mfa.failed reason %q, want %s", ev.Reason, mfa.ReasonLocalFactorNotAllowed)
		}
	}
	// With the fallback on, the same TOTP code and recovery code work:
	// neither was spent, and no refusal counted toward the lockout.
	e.org.Settings.MFA.StepUpLocalFallback = true
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	if err := e.m.VerifyTOTP(e.ctx(), e.p, code); err != nil {
		t.Fatalf("the refused TOTP code after the fallback was turned on: %v", err)
	}
	if _, err := e.m.UseRecoveryCode(e.ctx(), e.p, recovery[0]); err != nil {
		t.Fatalf("the refused recovery code after the fallback was turned on: %v", err)
	}
}
