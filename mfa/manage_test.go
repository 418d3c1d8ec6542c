package mfa_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// joinOrg creates another organization with MFA policy pol and makes the
// env's user an active member of it.
func (e *env) joinOrg(t *testing.T, pol sso.MFAPolicy) *sso.Organization {
	t.Helper()
	org := &sso.Organization{ID: opaque.NewID("org_"), Slug: "beta" + opaque.NewID("")[:8], Name: "Beta", CreatedAt: t0,
		Settings: sso.OrgSettings{Features: sso.Features{"enforce_mfa"}, MFA: pol}}
	if err := e.st.CreateOrg(e.ctx(), org); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateMembership(e.ctx(), &sso.Membership{OrgID: org.ID, UserID: e.user.ID, Roles: []string{"member"},
		Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: t0.Add(-30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return org
}

// setPolicy stores pol as the env organization's MFA policy.
func (e *env) setPolicy(t *testing.T, pol sso.MFAPolicy) {
	t.Helper()
	e.org.Settings.MFA = pol
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
}

// become replaces the request principal in place (the fake elevator and the
// test server hold the pointer) with p for the env's user.
func (e *env) become(p sso.Principal) {
	p.UserID = e.user.ID
	if p.SessionID == "" {
		p.SessionID = opaque.NewID("ses_")
	}
	*e.p = p
}

// orgEvents returns orgID's audit events of type typ with outcome.
func (e *env) orgEvents(t *testing.T, orgID, typ, outcome string) []*sso.Event {
	t.Helper()
	evs, err := e.st.ListEvents(e.ctx(), sso.EventQuery{OrgID: orgID, Type: typ, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []*sso.Event
	for _, ev := range evs {
		if ev.Outcome == outcome {
			out = append(out, ev)
		}
	}
	return out
}

// factorRoutes are the factor-management requests an attacker would send:
// remove the user's factors, add their own, take the recovery codes.
var factorRoutes = []struct {
	path string
	body any
}{
	{"/mfa/disable", map[string]string{"factor": mfa.FactorTOTP}},
	{"/mfa/disable", map[string]string{"factor": mfa.FactorAll}},
	{"/mfa/disable", map[string]string{"factor": mfa.FactorWebAuthn, "credential_id": "AAAA"}},
	{"/mfa/totp/enroll", nil},
	{"/mfa/totp/confirm", map[string]string{"code": "123456"}},
	{"/mfa/webauthn/register/begin", nil},
	{"/mfa/webauthn/register/finish", map[string]any{"ceremony": "c", "name": "mine", "credential": json.RawMessage(`{}`)}},
	{"/mfa/recovery/regenerate", nil},
}

// wantFactorRoutesRefused sends every factorRoutes request and wants each
// refused with status and the JSON error code.
func wantFactorRoutesRefused(t *testing.T, e *env, status int, code string) {
	t.Helper()
	srv := e.server(t, nil)
	for _, r := range factorRoutes {
		res := call(t, srv, "POST", r.path, r.body)
		if res.status != status || res.body["error"] != code {
			t.Errorf("POST %s: got %d %s, want %d %q", r.path, res.status, res.raw, status, code)
		}
	}
}

// wantFactorsIntact checks that the user still has their TOTP factor, their
// recovery codes and nothing else.
func wantFactorsIntact(t *testing.T, e *env, codes int) {
	t.Helper()
	st, err := e.m.Status(e.ctx(), e.p)
	if err != nil {
		t.Fatal(err)
	}
	if !st.TOTP || st.TOTPPending || len(st.WebAuthn) != 0 || st.RecoveryCodes != codes {
		t.Fatalf("factors changed: %+v", st)
	}
}

// TestTM9_OrgSwitchFactorTakeover is the T-M.9 attack end to end at the
// handler level: whoever controls org A's IdP signs user X in there (A
// trusts the IdP's MFA), switches into org B and tries to disable X's TOTP,
// enrol their own factor and take new recovery codes. Every step is refused
// — in A because an IdP-asserted MFA never manages factors, in B because a
// switched session has no MFA of its own — until the session verifies X's
// real TOTP, after which the same requests are allowed.
func TestTM9_OrgSwitchFactorTakeover(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, _ := e.enrol() // X's own factor
	e.setPolicy(t, sso.MFAPolicy{Required: true, TrustIdPMFA: true, ChangedAt: t0.Add(-time.Hour)})
	orgB := e.joinOrg(t, sso.MFAPolicy{Required: true, TrustIdPMFA: true, ChangedAt: t0.Add(-time.Hour)})
	srv := e.server(t, nil)
	login := e.clock.Now().Add(-time.Minute)

	// 1. Signed in through A's IdP, which asserted MFA at the login.
	e.become(sso.Principal{Kind: sso.PrincipalSession, OrgID: e.org.ID, ConnectionID: "conn_a", Method: sso.AuthMethod("saml"),
		AuthAt: login, MFA: true, MFAAt: login})
	if st := call(t, srv, "GET", "/mfa/status", nil).want(t, 200, ""); st.body["policy"] != "satisfied" {
		t.Fatalf("org A trusts its IdP's MFA for its policy: %s", st.raw)
	}
	wantFactorRoutesRefused(t, e, http.StatusForbidden, mfa.CodeReverificationRequired)
	// Also when the IdP dates its authentication after the login, into the
	// future (AuthnInstant / auth_time are the IdP's to choose).
	e.p.MFAAt = e.clock.Now().Add(24 * time.Hour)
	wantFactorRoutesRefused(t, e, http.StatusForbidden, mfa.CodeReverificationRequired)

	// 2. Switched into B: no login, no MFA of this organization.
	e.become(sso.Principal{Kind: sso.PrincipalSession, OrgID: orgB.ID, Method: sso.AuthSwitch, AuthAt: login})
	if st := call(t, srv, "GET", "/mfa/status", nil).want(t, 200, ""); st.body["policy"] != "verification_required" {
		t.Fatalf("switched session in B: %s", st.raw)
	}
	wantFactorRoutesRefused(t, e, http.StatusForbidden, mfa.CodeReverificationRequired)
	// Even with A's IdP MFA carried across the switch, B (which trusts its
	// own IdP's MFA) neither counts it for its policy nor for factors.
	e.p.MFA, e.p.MFAAt = true, login
	if st := call(t, srv, "GET", "/mfa/status", nil).want(t, 200, ""); st.body["policy"] != "verification_required" {
		t.Fatalf("switched session with carried IdP MFA in B: %s", st.raw)
	}
	wantFactorRoutesRefused(t, e, http.StatusForbidden, mfa.CodeReverificationRequired)
	wantFactorsIntact(t, e, mfa.RecoveryCodeCount)
	if e.elev.Calls() != 0 {
		t.Fatalf("a refused request elevated the session %d times", e.elev.Calls())
	}
	// B's audit chain records the refusals with their code.
	refused := e.orgEvents(t, orgB.ID, mfa.EventDisabled, sso.OutcomeFailure)
	if len(refused) != 6 || refused[0].Reason != mfa.CodeReverificationRequired || refused[0].Details["method"] != string(sso.AuthSwitch) {
		t.Fatalf("B's refused disable events: %d, first %+v", len(refused), refused[0])
	}

	// 3. The user verifies their real TOTP on this session: allowed.
	e.p.MFA, e.p.MFAAt = false, time.Time{}
	call(t, srv, "POST", "/mfa/verify", map[string]string{"code": e.code(secret)}).want(t, 200, "")
	if st := call(t, srv, "GET", "/mfa/status", nil).want(t, 200, ""); st.body["policy"] != "satisfied" {
		t.Fatalf("after a local verification in B: %s", st.raw)
	}
	if n := len(strs(call(t, srv, "POST", "/mfa/recovery/regenerate", nil).want(t, 200, "").body["recovery_codes"])); n != mfa.RecoveryCodeCount {
		t.Fatalf("regenerated %d codes", n)
	}
	call(t, srv, "POST", "/mfa/webauthn/register/begin", nil).want(t, 200, "")
	call(t, srv, "POST", "/mfa/totp/enroll", nil).want(t, http.StatusConflict, mfa.ReasonAlreadyEnrolled)
	call(t, srv, "POST", "/mfa/disable", map[string]string{"factor": mfa.FactorTOTP}).want(t, 200, "")
	if ok := e.orgEvents(t, orgB.ID, mfa.EventDisabled, sso.OutcomeSuccess); len(ok) != 1 {
		t.Fatalf("B's disable events: %d, want 1", len(ok))
	}
	// The verification ages out: management is refused again.
	e.clock.Advance(mfa.DefaultRecentMFA + time.Second)
	call(t, srv, "POST", "/mfa/recovery/regenerate", nil).want(t, http.StatusForbidden, mfa.CodeReverificationRequired)
}

// TestTM9_RecoveryCodeReverifies: a recovery code is an existing factor, so
// using one on a switched session allows managing factors — and, when
// Config.RequireReenrollmentAfterRecovery removed the TOTP factor, enrolling
// a new one there, which a switched session could not otherwise.
func TestTM9_RecoveryCodeReverifies(t *testing.T) {
	t.Parallel()
	for _, reenrol := range []bool{false, true} {
		e := newEnv(t, func(c *mfa.Config) { c.RequireReenrollmentAfterRecovery = reenrol })
		_, codes := e.enrol()
		orgB := e.joinOrg(t, sso.MFAPolicy{})
		srv := e.server(t, nil)
		e.become(sso.Principal{Kind: sso.PrincipalSession, OrgID: orgB.ID, Method: sso.AuthSwitch, AuthAt: e.clock.Now().Add(-time.Hour)})
		call(t, srv, "POST", "/mfa/recovery/regenerate", nil).want(t, http.StatusForbidden, mfa.CodeReverificationRequired)
		call(t, srv, "POST", "/mfa/recovery", map[string]string{"code": codes[0]}).want(t, 200, "")
		if !reenrol {
			call(t, srv, "POST", "/mfa/recovery/regenerate", nil).want(t, 200, "")
			call(t, srv, "POST", "/mfa/disable", map[string]string{"factor": mfa.FactorAll}).want(t, 200, "")
			continue
		}
		en := call(t, srv, "POST", "/mfa/totp/enroll", nil).want(t, 200, "")
		call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": e.code(en.body["secret"].(string))}).want(t, 200, "")
		// Without that verification, the switched session gets nowhere.
		e.p.MFA, e.p.MFAAt = false, time.Time{}
		call(t, srv, "POST", "/mfa/disable", map[string]string{"factor": mfa.FactorTOTP}).want(t, http.StatusForbidden, mfa.CodeReverificationRequired)
	}
}

// TestTT6_FirstFactorNeedsRecentLogin: with no factor, enrolling the first
// one needs a login of the session's own within RecentLogin. An old login,
// a switched session (whose AuthAt is the login in the other organization)
// and an access token are refused with reauthentication_required.
func TestTT6_FirstFactorNeedsRecentLogin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		p    func(now time.Time) sso.Principal
		ok   bool
	}{
		{"fresh local login", func(now time.Time) sso.Principal {
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthLocal, AuthAt: now.Add(-time.Minute)}
		}, true},
		{"fresh SSO login", func(now time.Time) sso.Principal {
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthMethod("oidc"), AuthAt: now.Add(-time.Minute)}
		}, true},
		{"login exactly RecentLogin ago", func(now time.Time) sso.Principal {
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthLocal, AuthAt: now.Add(-mfa.DefaultRecentLogin)}
		}, true},
		{"old login", func(now time.Time) sso.Principal {
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthLocal, AuthAt: now.Add(-mfa.DefaultRecentLogin - time.Second)}
		}, false},
		{"old SSO login with IdP MFA", func(now time.Time) sso.Principal {
			at := now.Add(-time.Hour)
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthMethod("saml"), AuthAt: at, MFA: true, MFAAt: at}
		}, false},
		{"no login time", func(now time.Time) sso.Principal {
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthLocal}
		}, false},
		{"switched session", func(now time.Time) sso.Principal {
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthSwitch, AuthAt: now.Add(-time.Minute)}
		}, false},
		{"switched session with carried MFA", func(now time.Time) sso.Principal {
			at := now.Add(-time.Minute)
			return sso.Principal{Kind: sso.PrincipalSession, Method: sso.AuthSwitch, AuthAt: at, MFA: true, MFAAt: at}
		}, false},
		{"access token", func(now time.Time) sso.Principal {
			return sso.Principal{Kind: sso.PrincipalAccessToken, Method: sso.AuthLocal, AuthAt: now.Add(-time.Minute)}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			srv := e.server(t, nil)
			p := tc.p(e.clock.Now())
			p.OrgID = e.org.ID
			e.become(p)
			if !tc.ok {
				call(t, srv, "POST", "/mfa/totp/enroll", nil).want(t, http.StatusUnauthorized, mfa.CodeReauthenticationRequired)
				call(t, srv, "POST", "/mfa/webauthn/register/begin", nil).want(t, http.StatusUnauthorized, mfa.CodeReauthenticationRequired)
				_, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
				if !errors.Is(err, mfa.ErrReauthenticationRequired) || !errors.Is(err, sso.ErrForbidden) {
					t.Fatalf("StartTOTPEnrollment: got %v, want ErrReauthenticationRequired", err)
				}
				if _, err := e.st.GetTOTP(e.ctx(), e.user.ID); !errors.Is(err, sso.ErrNotFound) {
					t.Fatalf("a refused enrolment stored a factor: %v", err)
				}
				if evs := e.orgEvents(t, e.org.ID, mfa.EventEnrolled, sso.OutcomeFailure); len(evs) == 0 || evs[0].Reason != mfa.CodeReauthenticationRequired {
					t.Fatalf("refusal not audited with its code: %+v", evs)
				}
				return
			}
			en := call(t, srv, "POST", "/mfa/totp/enroll", nil).want(t, 200, "")
			conf := call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": e.code(en.body["secret"].(string))}).want(t, 200, "")
			if len(strs(conf.body["recovery_codes"])) != mfa.RecoveryCodeCount {
				t.Fatalf("confirm: %s", conf.raw)
			}
		})
	}
	// RecentLogin is configurable.
	e := newEnv(t, func(c *mfa.Config) { c.RecentLogin = 2 * time.Minute })
	e.p.AuthAt = e.clock.Now().Add(-3 * time.Minute)
	_, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
	if !errors.Is(err, mfa.ErrReauthenticationRequired) {
		t.Fatalf("login older than a RecentLogin of 2m: got %v", err)
	}
}

// TestTT6_AccessTokenCannotManageFactors: a bearer principal carries no
// interactive authentication; even with a fresh local MFA on its session it
// manages no factor.
func TestTT6_AccessTokenCannotManageFactors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enrol()
	now := e.clock.Now()
	e.become(sso.Principal{Kind: sso.PrincipalAccessToken, OrgID: e.org.ID, Method: sso.AuthLocal,
		AuthAt: now.Add(-time.Minute), MFA: true, MFAAt: now})
	wantFactorRoutesRefused(t, e, http.StatusUnauthorized, mfa.CodeReauthenticationRequired)
	if err := e.m.Disable(e.ctx(), e.p, mfa.FactorAll, ""); !errors.Is(err, mfa.ErrReauthenticationRequired) {
		t.Fatalf("Disable: got %v, want ErrReauthenticationRequired", err)
	}
	wantFactorsIntact(t, e, mfa.RecoveryCodeCount)
}

// TestTT6_ConfirmBelongsToGatedEnrolment: POST /totp/confirm is enrolment
// too. It re-applies the rules of /totp/enroll and accepts only a pending
// enrolment this login started within the window, so calling it directly —
// from a switched session, after the login aged, after another factor
// appeared, or on a stale pending enrolment — activates nothing.
func TestTT6_ConfirmBelongsToGatedEnrolment(t *testing.T) {
	t.Parallel()
	start := func(t *testing.T, e *env) string {
		t.Helper()
		en, err := e.m.StartTOTPEnrollment(e.ctx(), e.p)
		if err != nil {
			t.Fatalf("StartTOTPEnrollment: %v", err)
		}
		return en.Secret
	}
	wantPending := func(t *testing.T, e *env) {
		t.Helper()
		if f, err := e.st.GetTOTP(e.ctx(), e.user.ID); err != nil || f.Active {
			t.Fatalf("factor after a refused confirmation: %v %v", f, err)
		}
	}
	for _, tc := range []struct {
		name   string
		setup  func(t *testing.T, e *env) string // returns the pending secret
		status int
		code   string
	}{
		{"session switched after the start", func(t *testing.T, e *env) string {
			secret := start(t, e)
			e.become(sso.Principal{Kind: sso.PrincipalSession, OrgID: e.joinOrg(t, sso.MFAPolicy{}).ID, Method: sso.AuthSwitch, AuthAt: e.p.AuthAt})
			return secret
		}, http.StatusUnauthorized, mfa.CodeReauthenticationRequired},
		{"login aged after the start", func(t *testing.T, e *env) string {
			secret := start(t, e)
			e.clock.Advance(mfa.DefaultRecentLogin)
			return secret
		}, http.StatusUnauthorized, mfa.CodeReauthenticationRequired},
		{"started by an earlier login", func(t *testing.T, e *env) string {
			secret := start(t, e)
			e.clock.Advance(5 * time.Minute)
			e.become(sso.Principal{Kind: sso.PrincipalSession, OrgID: e.org.ID, Method: sso.AuthLocal, AuthAt: e.clock.Now()})
			return secret
		}, http.StatusConflict, mfa.ReasonNoPendingEnrolment},
		{"another factor enrolled meanwhile", func(t *testing.T, e *env) string {
			secret := start(t, e)
			registerKey(t, e, newSoftKey(t))
			return secret
		}, http.StatusForbidden, mfa.CodeReverificationRequired},
		{"stale pending enrolment, fresh verification", func(t *testing.T, e *env) string {
			registerKey(t, e, newSoftKey(t))
			e.p.MFA, e.p.MFAAt = true, e.clock.Now()
			secret := start(t, e)
			e.clock.Advance(mfa.DefaultRecentMFA + time.Second)
			e.p.MFAAt = e.clock.Now() // verified again, but the enrolment is old
			return secret
		}, http.StatusConflict, mfa.ReasonNoPendingEnrolment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			secret := tc.setup(t, e)
			srv := e.server(t, nil)
			call(t, srv, "POST", "/mfa/totp/confirm", map[string]string{"code": e.code(secret)}).want(t, tc.status, tc.code)
			wantPending(t, e)
			if e.elev.Calls() != 0 {
				t.Fatal("a refused confirmation elevated the session")
			}
		})
	}
}

// TestTM9_IdPMFANeverManagesFactors: through the Go API too, an MFA the IdP
// asserted — fresh, trusted by the organization, or dated after the login
// or in the future — never counts as the fresh verification that managing
// factors needs; the same session's local check does.
func TestTM9_IdPMFANeverManagesFactors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	secret, _ := e.enrol()
	e.setPolicy(t, sso.MFAPolicy{Required: true, TrustIdPMFA: true, ChangedAt: t0.Add(-time.Hour)})
	now := e.clock.Now()
	for _, p := range []sso.Principal{
		{Method: sso.AuthMethod("saml"), AuthAt: now, MFA: true, MFAAt: now},
		{Method: sso.AuthMethod("oidc"), AuthAt: now, MFA: true, MFAAt: now.Add(-time.Hour)},
		{Method: sso.AuthMethod("saml"), AuthAt: now.Add(-time.Minute), MFA: true, MFAAt: now.Add(2 * time.Minute)},
		{Method: sso.AuthMethod("saml"), AuthAt: now.Add(-time.Minute), MFA: true, MFAAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Method: sso.AuthLocal, AuthAt: now.Add(-time.Minute), MFA: true, MFAAt: now.Add(time.Hour)},
		{Method: sso.AuthSwitch, AuthAt: now.Add(-time.Minute), MFA: true, MFAAt: now.Add(-time.Minute)},
	} {
		p.Kind, p.OrgID = sso.PrincipalSession, e.org.ID
		e.become(p)
		if err := e.m.Disable(e.ctx(), e.p, mfa.FactorTOTP, ""); !errors.Is(err, mfa.ErrReverificationRequired) {
			t.Fatalf("Disable with %s MFA at %v (login %v): got %v", p.Method, p.MFAAt, p.AuthAt, err)
		}
		if _, err := e.m.RegenerateRecoveryCodes(e.ctx(), e.p); !errors.Is(err, mfa.ErrReverificationRequired) {
			t.Fatalf("RegenerateRecoveryCodes with %s MFA: got %v", p.Method, err)
		}
		if _, _, err := e.m.BeginWebAuthnRegistration(e.ctx(), e.p); !errors.Is(err, mfa.ErrReverificationRequired) {
			t.Fatalf("BeginWebAuthnRegistration with %s MFA: got %v", p.Method, err)
		}
		// ErrReverificationRequired is a kind of step-up: hosts matching
		// ErrStepUpRequired or sso.ErrForbidden still match.
		if err := e.m.Disable(e.ctx(), e.p, mfa.FactorTOTP, ""); !errors.Is(err, mfa.ErrStepUpRequired) || sso.ReasonOf(err) != "forbidden" {
			t.Fatalf("Disable: %v (reason %q) does not wrap ErrStepUpRequired", err, sso.ReasonOf(err))
		}
	}
	for _, ev := range e.events(mfa.EventDisabled) {
		if ev.Outcome != sso.OutcomeFailure || ev.Reason != mfa.CodeReverificationRequired {
			t.Fatalf("disable event %+v, want a refusal with %q", ev, mfa.CodeReverificationRequired)
		}
	}
	// A local check on the SSO session, after its login, counts.
	e.become(sso.Principal{Kind: sso.PrincipalSession, OrgID: e.org.ID, Method: sso.AuthMethod("saml"), AuthAt: now.Add(-time.Minute), MFA: true, MFAAt: now.Add(-time.Minute)})
	if err := e.m.VerifyTOTP(e.ctx(), e.p, e.code(secret)); err != nil {
		t.Fatal(err)
	}
	e.p.MFAAt = e.clock.Now()
	if err := e.m.Disable(e.ctx(), e.p, mfa.FactorTOTP, ""); err != nil {
		t.Fatalf("Disable after a local verification: %v", err)
	}
}

// TestTM9_SwitchedSessionPolicy: for Require and StepUp, a switched session
// has no IdP MFA whatever the organization trusts; only a local check after
// the switch satisfies them.
func TestTM9_SwitchedSessionPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enrol()
	orgB := e.joinOrg(t, sso.MFAPolicy{Required: true, TrustIdPMFA: true, ChangedAt: t0.Add(-time.Hour)})
	now := e.clock.Now()
	login := now.Add(-time.Minute)
	require, stepUp := e.m.Require(okHandler), e.m.StepUp(5*time.Minute)(okHandler)
	for _, tc := range []struct {
		name  string
		mfaAt time.Time
		mfa   bool
		allow bool
	}{
		{"no MFA", time.Time{}, false, false},
		{"IdP MFA carried, at the login", login, true, false},
		{"IdP MFA carried, before the login", login.Add(-time.Hour), true, false},
		{"IdP MFA carried, undated", time.Time{}, true, false},
		{"future-dated", now.Add(time.Hour), true, false},
		{"local check after the switch", now, true, true},
	} {
		p := &sso.Principal{Kind: sso.PrincipalSession, UserID: e.user.ID, OrgID: orgB.ID, Method: sso.AuthSwitch,
			AuthAt: login, MFA: tc.mfa, MFAAt: tc.mfaAt}
		d, err := e.m.Evaluate(e.ctx(), p)
		if err != nil {
			t.Fatal(err)
		}
		want := mfa.VerificationRequired
		if tc.allow {
			want = mfa.Satisfied
		}
		if d.Requirement != want {
			t.Errorf("%s: Evaluate %v, want %v", tc.name, d.Requirement, want)
		}
		w := serve(require, p, "GET", "/app", "application/json")
		if tc.allow != (w.Code == http.StatusOK) || (!tc.allow && errorCode(t, w) != mfa.CodeVerificationRequired) {
			t.Errorf("%s: Require answered %d %s", tc.name, w.Code, w.Body)
		}
		w = serve(stepUp, p, "POST", "/billing", "application/json")
		if tc.allow != (w.Code == http.StatusOK) || (!tc.allow && errorCode(t, w) != mfa.CodeStepUpRequired) {
			t.Errorf("%s: StepUp answered %d %s", tc.name, w.Code, w.Body)
		}
	}
}
