package mfa_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

// serve runs h for a request carrying p (nil: no principal).
func serve(h http.Handler, p *sso.Principal, method, target, accept string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	if p != nil {
		r = r.WithContext(sso.WithPrincipal(r.Context(), p))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct{ Error string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", w.Body.String(), err)
	}
	return body.Error
}

// okHandler answers 200 and reports EnrollmentDue in a header.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if due, ok := mfa.EnrollmentDue(r.Context()); ok {
		w.Header().Set("X-Due", due.UTC().Format(time.RFC3339))
	}
	w.WriteHeader(http.StatusOK)
})

func TestRequire(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	type setup struct {
		required, trust bool
		changedAgo      time.Duration
		joinedAgo       time.Duration
		grace           time.Duration
		enrolled        bool
		admin           bool
		noPlan          bool // the plan lacks Features.EnforceMFA
		principal       func(p *sso.Principal)
	}
	for _, tc := range []struct {
		name    string
		s       setup
		status  int
		code    string
		due     time.Duration // grace deadline relative to now, when 200 in grace
		isGrace bool
	}{
		{name: "not required", s: setup{}, status: 200},
		{name: "grace from policy change", s: setup{required: true, changedAgo: day, joinedAgo: 30 * day}, status: 200, isGrace: true, due: 6 * day},
		{name: "grace from joining", s: setup{required: true, changedAgo: 10 * day, joinedAgo: 2 * day}, status: 200, isGrace: true, due: 5 * day},
		{name: "custom grace period", s: setup{required: true, changedAgo: 2 * time.Hour, joinedAgo: 30 * day, grace: 3 * time.Hour}, status: 200, isGrace: true, due: time.Hour},
		{name: "grace over", s: setup{required: true, changedAgo: 10 * day, joinedAgo: 30 * day}, status: 403, code: mfa.CodeEnrollmentRequired},
		{name: "required but plan lacks MFA enforcement", s: setup{required: true, noPlan: true, changedAgo: 10 * day, joinedAgo: 30 * day}, status: 200},
		{name: "custom grace over", s: setup{required: true, changedAgo: 4 * time.Hour, joinedAgo: 30 * day, grace: 3 * time.Hour}, status: 403, code: mfa.CodeEnrollmentRequired},
		{name: "enrolled but not verified", s: setup{required: true, changedAgo: day, joinedAgo: 30 * day, enrolled: true}, status: 403, code: mfa.CodeVerificationRequired},
		{name: "local MFA", s: setup{required: true, changedAgo: 10 * day, enrolled: true, principal: func(p *sso.Principal) {
			p.MFA, p.MFAAt = true, t0
		}}, status: 200},
		{name: "IdP MFA not trusted", s: setup{required: true, changedAgo: 10 * day, joinedAgo: 30 * day, principal: func(p *sso.Principal) {
			p.Method, p.AuthAt, p.MFA, p.MFAAt = sso.AuthMethod("saml"), t0, true, t0
		}}, status: 403, code: mfa.CodeEnrollmentRequired},
		{name: "IdP MFA trusted", s: setup{required: true, trust: true, changedAgo: 10 * day, joinedAgo: 30 * day, principal: func(p *sso.Principal) {
			p.Method, p.AuthAt, p.MFA, p.MFAAt = sso.AuthMethod("oidc"), t0, true, t0
		}}, status: 200},
		{name: "platform admin without org policy", s: setup{admin: true}, status: 403, code: mfa.CodeEnrollmentRequired},
		{name: "platform admin gets no grace", s: setup{admin: true, required: true, changedAgo: day, joinedAgo: day}, status: 403, code: mfa.CodeEnrollmentRequired},
		{name: "platform admin with MFA", s: setup{admin: true, principal: func(p *sso.Principal) { p.MFA, p.MFAAt = true, t0 }}, status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *mfa.Config) {
				c.IsPlatformAdmin = func(p *sso.Principal) bool { return tc.s.admin && p.HasRole("platform_admin") }
			})
			if tc.s.admin {
				e.p.Roles = []string{"platform_admin"}
			}
			if tc.s.enrolled {
				e.enrol()
			}
			now := e.clock.Now()
			e.org.Settings.MFA = sso.MFAPolicy{Required: tc.s.required, TrustIdPMFA: tc.s.trust, GracePeriod: tc.s.grace}
			e.org.Settings.Features = e.org.Settings.Features.With("enforce_mfa")
			if tc.s.noPlan {
				e.org.Settings.Features = e.org.Settings.Features.Without("enforce_mfa")
			}
			if tc.s.changedAgo > 0 {
				e.org.Settings.MFA.ChangedAt = now.Add(-tc.s.changedAgo)
			}
			if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
				t.Fatal(err)
			}
			if tc.s.joinedAgo > 0 {
				mem, _ := e.st.GetMembership(e.ctx(), e.org.ID, e.p.UserID)
				mem.JoinedAt = now.Add(-tc.s.joinedAgo)
				if err := e.st.UpdateMembership(e.ctx(), mem); err != nil {
					t.Fatal(err)
				}
			}
			if tc.s.principal != nil {
				tc.s.principal(e.p)
			}
			w := serve(e.m.Require(okHandler), e.p, "GET", "/dashboard", "application/json")
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (body %s)", w.Code, tc.status, w.Body)
			}
			if tc.code != "" {
				if got := errorCode(t, w); got != tc.code {
					t.Fatalf("error %q, want %q", got, tc.code)
				}
			}
			due := w.Header().Get(mfa.HeaderEnrollmentDue)
			if tc.isGrace {
				want := now.Add(tc.due).UTC().Format(time.RFC3339)
				if due != want || w.Header().Get("X-Due") != want {
					t.Fatalf("grace deadline header %q / context %q, want %q", due, w.Header().Get("X-Due"), want)
				}
			} else if due != "" {
				t.Fatalf("unexpected grace header %q", due)
			}
		})
	}
}

func TestRequireRedirectsBrowsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.org.Settings.MFA = sso.MFAPolicy{Required: true, ChangedAt: t0.Add(-30 * 24 * time.Hour)}
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	w := serve(e.m.Require(okHandler), e.p, "GET", "/reports?id=7", "text/html,application/xhtml+xml")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/settings/mfa?return_to=%2Freports%3Fid%3D7" {
		t.Fatalf("got %d Location %q", w.Code, w.Header().Get("Location"))
	}
	// Non-GET browser requests get JSON, never a redirect that drops the body.
	w = serve(e.m.Require(okHandler), e.p, "POST", "/reports", "text/html")
	if w.Code != http.StatusForbidden || errorCode(t, w) != mfa.CodeEnrollmentRequired {
		t.Fatalf("POST: got %d %s", w.Code, w.Body)
	}
	// No principal: 401.
	w = serve(e.m.Require(okHandler), nil, "GET", "/reports", "")
	if w.Code != http.StatusUnauthorized || errorCode(t, w) != mfa.CodeUnauthenticated {
		t.Fatalf("no principal: got %d %s", w.Code, w.Body)
	}
}

func TestStepUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		principal func(p *sso.Principal, now time.Time)
		trust     bool
		accept    string
		status    int
	}{
		{"recent local MFA", func(p *sso.Principal, now time.Time) { p.MFA, p.MFAAt = true, now.Add(-4*time.Minute) }, false, "", 200},
		{"stale MFA", func(p *sso.Principal, now time.Time) { p.MFA, p.MFAAt = true, now.Add(-6*time.Minute) }, false, "", 403},
		{"no MFA", func(p *sso.Principal, now time.Time) {}, false, "", 403},
		{"no MFA browser", func(p *sso.Principal, now time.Time) {}, false, "text/html", 303},
		{"recent IdP MFA untrusted", func(p *sso.Principal, now time.Time) {
			p.Method, p.AuthAt, p.MFA, p.MFAAt = sso.AuthMethod("saml"), now.Add(-time.Minute), true, now.Add(-time.Minute)
		}, false, "", 403},
		{"recent IdP MFA trusted", func(p *sso.Principal, now time.Time) {
			p.Method, p.AuthAt, p.MFA, p.MFAAt = sso.AuthMethod("saml"), now.Add(-time.Minute), true, now.Add(-time.Minute)
		}, true, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.org.Settings.MFA.TrustIdPMFA = tc.trust
			if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
				t.Fatal(err)
			}
			tc.principal(e.p, e.clock.Now())
			w := serve(e.m.StepUp(5*time.Minute)(okHandler), e.p, "GET", "/billing", tc.accept)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			switch w.Code {
			case 403:
				if got := errorCode(t, w); got != mfa.CodeStepUpRequired {
					t.Fatalf("error %q, want %q", got, mfa.CodeStepUpRequired)
				}
			case 303:
				if loc := w.Header().Get("Location"); loc != "/mfa/verify?return_to=%2Fbilling" {
					t.Fatalf("Location %q", loc)
				}
			}
		})
	}
}

// TestT_T4_SSOCannotSkipMFA: an SSO login does not bypass a required
// second factor: without an IdP-asserted MFA the organization trusts, a
// member who has a factor must still verify it, and a policy lookup
// failure never lets the request through.
func TestT_T4_SSOCannotSkipMFA(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.enrol()
	e.org.Settings.MFA = sso.MFAPolicy{Required: true, ChangedAt: t0.Add(-time.Hour)}
	if err := e.st.UpdateOrg(e.ctx(), e.org); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*sso.Principal{
		{UserID: e.p.UserID, OrgID: e.org.ID, Method: sso.AuthMethod("oidc"), AuthAt: t0},
		{UserID: e.p.UserID, OrgID: e.org.ID, Method: sso.AuthMethod("saml"), AuthAt: t0, MFA: true, MFAAt: t0}, // IdP-asserted, untrusted
	} {
		w := serve(e.m.Require(okHandler), p, "GET", "/app", "")
		if w.Code != http.StatusForbidden || errorCode(t, w) != mfa.CodeVerificationRequired {
			t.Fatalf("SSO principal %+v: got %d %s, want 403 %s", p, w.Code, w.Body, mfa.CodeVerificationRequired)
		}
	}
	// An organization that cannot be read fails closed.
	broken := &sso.Principal{UserID: e.p.UserID, OrgID: "org_missing\x00", Method: sso.AuthMethod("oidc")}
	e2 := newEnv(t, func(c *mfa.Config) { c.Orgs = failingOrgs{} })
	w := serve(e2.m.Require(okHandler), broken, "GET", "/app", "")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("policy lookup failure: got %d, want 503", w.Code)
	}
}

type failingOrgs struct{ sso.OrgStore }

func (failingOrgs) GetOrg(context.Context, string) (*sso.Organization, error) {
	return nil, sso.ErrUnavailable
}
