package login_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

// stepUpEnv is an organization that trusts its IdP's MFA, two of its
// connections, another organization's connection, a real session manager
// and alice's session made by connection A.
type stepUpEnv struct {
	*ssoenv.Env
	org, other        *sso.Organization
	connA, connB      *sso.Connection
	connOther         *sso.Connection
	sessions          *session.Manager
	comp              *login.Completer
	alice             *session.Session
	aliceID, aliceSub string
}

func newStepUpEnv(t *testing.T, mut func(*login.Config)) *stepUpEnv {
	t.Helper()
	e := ssoenv.New(t)
	s := &stepUpEnv{Env: e, aliceSub: "sub-alice"}
	s.org = e.Org("acme", func(o *sso.OrgSettings) {
		o.AllowJIT, o.MFA.TrustIdPMFA, o.MFA.StepUpAtIdP = true, true, true
	})
	s.other = e.Org("globex", func(o *sso.OrgSettings) { o.AllowJIT, o.MFA.TrustIdPMFA = true, true })
	e.Verified(s.org.ID, "acme.com")
	e.Verified(s.other.ID, "globex.com")
	s.connA = e.Conn(s.org.ID, saml.Protocol, sso.ConnectionActive, "https://idp-a.example")
	s.connB = e.Conn(s.org.ID, saml.Protocol, sso.ConnectionActive, "https://idp-b.example")
	s.connOther = e.Conn(s.other.ID, saml.Protocol, sso.ConnectionActive, "https://idp-other.example")
	var err error
	if s.sessions, err = session.New(session.Config{Store: e.St, Events: e.St, Orgs: e.St, Memberships: e.St, Now: e.Clock}); err != nil {
		t.Fatal(err)
	}
	cfg := login.Config{Store: e.St, Sessions: s.sessions, Auditor: e.Aud, Now: e.Clock, DefaultReturnTo: "/app"}
	if mut != nil {
		mut(&cfg)
	}
	if s.comp, err = login.New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Login(s.comp, &sso.Login{Connection: s.connA, Profile: ssoenv.Profile(s.connA, s.aliceSub, "alice@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	s.alice = s.onlySession(t)
	s.aliceID = s.alice.UserID
	return s
}

// onlySession returns alice's one session.
func (s *stepUpEnv) onlySession(t *testing.T) *session.Session {
	t.Helper()
	u, err := s.St.FindMemberByEmail(ssoenv.Ctx, s.org.ID, "alice@acme.com")
	if err != nil {
		t.Fatal(err)
	}
	ss, err := s.St.ListUserSessions(ssoenv.Ctx, u.UserID)
	if err != nil || len(ss) != 1 {
		t.Fatalf("alice's sessions: %d, %v; want 1", len(ss), err)
	}
	return ss[0]
}

// stepUp is the step-up of alice's session at connection A, started now.
func (s *stepUpEnv) stepUp() *sso.StepUp {
	return &sso.StepUp{SessionID: s.alice.ID, UserID: s.aliceID, OrgID: s.org.ID, ConnectionID: s.connA.ID,
		MaxAge: 5 * time.Minute, At: s.Clock()}
}

// mfaProfile is connection c's answer for subject: a multi-factor login
// made authAge ago.
func (s *stepUpEnv) mfaProfile(c *sso.Connection, subject, email string, authAge time.Duration) *sso.Profile {
	p := ssoenv.Profile(c, subject, email, true)
	p.AuthnContext = "https://refeds.org/profile/mfa"
	p.AuthTime = s.Clock().Add(-authAge)
	return p
}

func TestStepUpAtIdPElevatesAndReplacesTheSession(t *testing.T) {
	t.Parallel()
	s := newStepUpEnv(t, nil)
	su := s.stepUp()
	s.Advance(30 * time.Second)
	w, err := s.Login(s.comp, &sso.Login{Connection: s.connA, Profile: s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 10*time.Second),
		StepUp: su, ReturnTo: "/billing"})
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/billing" {
		t.Fatalf("step-up answered %d %s; want 303 to /billing", w.Code, w.Header().Get("Location"))
	}
	got := s.onlySession(t)
	if got.ID == s.alice.ID || !got.MFA || !got.MFAAt.Equal(s.Clock().Add(-10*time.Second)) || got.ConnectionID != s.connA.ID {
		t.Fatalf("after the step-up: session %s MFA %v at %v; want a new session with the IdP's MFA time", got.ID, got.MFA, got.MFAAt)
	}

	// Attack: the same answer replayed (its protocol state would refuse it
	// first; completion refuses it too, the session it named is gone).
	_, err = s.Login(s.comp, &sso.Login{Connection: s.connA, Profile: s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 10*time.Second), StepUp: su})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "step_up_session_gone")
	if again := s.onlySession(t); again.ID != got.ID {
		t.Fatal("a replayed step-up issued a session")
	}
}

func TestStepUpAtIdPAttacks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		login  func(s *stepUpEnv) *sso.Login
		reason string
	}{
		{"answer without the requested context", func(s *stepUpEnv) *sso.Login {
			p := s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 0)
			p.AuthnContext = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
			return &sso.Login{Connection: s.connA, Profile: p, StepUp: s.stepUp()}
		}, login.ReasonStepUpNoMFA},
		{"stale auth_time", func(s *stepUpEnv) *sso.Login {
			return &sso.Login{Connection: s.connA, Profile: s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 10*time.Minute), StepUp: s.stepUp()}
		}, login.ReasonStepUpStale},
		{"authentication before the step-up started", func(s *stepUpEnv) *sso.Login {
			su := s.stepUp()
			su.At = su.At.Add(3 * time.Minute)
			return &sso.Login{Connection: s.connA, Profile: s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 0), StepUp: su}
		}, login.ReasonStepUpStale},
		{"no auth time at all", func(s *stepUpEnv) *sso.Login {
			p := s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 0)
			p.AuthTime = time.Time{}
			return &sso.Login{Connection: s.connA, Profile: p, StepUp: s.stepUp()}
		}, login.ReasonStepUpStale},
		{"answer from another connection of the organization", func(s *stepUpEnv) *sso.Login {
			return &sso.Login{Connection: s.connB, Profile: s.mfaProfile(s.connB, "sub-alice-at-b", "alice@acme.com", 0), StepUp: s.stepUp()}
		}, login.ReasonStepUpMismatch},
		{"answer from another organization", func(s *stepUpEnv) *sso.Login {
			su := s.stepUp()
			su.OrgID, su.ConnectionID = s.other.ID, s.connOther.ID
			return &sso.Login{Connection: s.connOther, Profile: s.mfaProfile(s.connOther, "sub-x", "x@globex.com", 0), StepUp: su}
		}, login.ReasonStepUpMismatch},
		{"answer for another user", func(s *stepUpEnv) *sso.Login {
			return &sso.Login{Connection: s.connA, Profile: s.mfaProfile(s.connA, "sub-bob", "bob@acme.com", 0), StepUp: s.stepUp()}
		}, login.ReasonStepUpMismatch},
		{"test login as a step-up", func(s *stepUpEnv) *sso.Login {
			return &sso.Login{Connection: s.connA, Profile: s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 0), StepUp: s.stepUp(), Test: true}
		}, login.ReasonStepUpMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStepUpEnv(t, nil)
			w, err := s.Login(s.comp, tc.login(s))
			if tc.name == "test login as a step-up" {
				// A test login never issues a session; it records the
				// refusal as the test's diagnostic instead.
				if err == nil && w.Code != http.StatusSeeOther {
					t.Fatalf("test login answered %d", w.Code)
				}
			} else {
				ssoenv.WantReason(t, err, sso.ErrAccessDenied, tc.reason)
			}
			if got := s.onlySession(t); got.ID != s.alice.ID || got.MFA {
				t.Fatalf("after a refused step-up alice has session %s (MFA %v); want her old one, without MFA", got.ID, got.MFA)
			}
		})
	}
}

func TestStepUpAtIdPNeedsTrust(t *testing.T) {
	t.Parallel()
	s := newStepUpEnv(t, nil)
	s.org.Settings.MFA.TrustIdPMFA = false
	if err := s.St.UpdateOrg(ssoenv.Ctx, s.org); err != nil {
		t.Fatal(err)
	}
	_, err := s.Login(s.comp, &sso.Login{Connection: s.connA, Profile: s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 0), StepUp: s.stepUp()})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, login.ReasonStepUpNotTrusted)
}

// With StepUpRefusedURL, a refusal sends the browser to the host's page,
// which says why and may offer the local factor.
func TestStepUpAtIdPRefusedRedirects(t *testing.T) {
	t.Parallel()
	s := newStepUpEnv(t, func(c *login.Config) { c.StepUpRefusedURL = "/account/step-up-refused" })
	p := s.mfaProfile(s.connA, s.aliceSub, "alice@acme.com", 0)
	p.AuthnContext = ""
	w, err := s.Login(s.comp, &sso.Login{Connection: s.connA, Profile: p, StepUp: s.stepUp(), ReturnTo: "/billing"})
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusSeeOther || loc.Path != "/account/step-up-refused" || loc.Query().Get("reason") != login.ReasonStepUpNoMFA ||
		loc.Query().Get("return_to") != "/billing" {
		t.Fatalf("refusal answered %d %s", w.Code, w.Header().Get("Location"))
	}
	if ev := s.LastEvent(s.org.ID, sso.EventLoginFailed); ev == nil || ev.Reason != login.ReasonStepUpNoMFA {
		t.Fatalf("refusal audited as %+v", ev)
	}
}

// A nil login is refused as bad input, never a panic.
func TestCompleteNilLogin(t *testing.T) {
	t.Parallel()
	s := newStepUpEnv(t, nil)
	w := httptest.NewRecorder()
	if err := s.comp.Complete(w, httptest.NewRequest("POST", "/acs", nil), nil); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("nil login: %v, want ErrInvalidInput", err)
	}
}

// A protocol package's refusal of a step-up's answer (no MFA asserted,
// checked before completion) reaches the same page through RefuseStepUp;
// an unsafe return path is dropped, and anything that is not a step-up
// refusal is left to the protocol's error page.
func TestRefuseStepUpFromProtocol(t *testing.T) {
	t.Parallel()
	s := newStepUpEnv(t, func(c *login.Config) { c.StepUpRefusedURL = "/account/step-up-refused?from=idp" })
	refusal := &sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonMFANotPerformed, Err: errors.New("no MFA")}
	for _, tc := range []struct {
		name, returnTo, wantReturn string
	}{
		{"relative", "/billing?x=1", "/billing?x=1"},
		{"protocol-relative", "//evil.example/x", ""},
		{"absolute", "https://evil.example/", ""},
		{"backslash", "/\\evil.example", ""},
	} {
		w := httptest.NewRecorder()
		if !s.comp.RefuseStepUp(w, httptest.NewRequest(http.MethodPost, "/sso/saml/acs/x", nil), s.stepUp(), tc.returnTo, refusal) {
			t.Fatalf("%s: refusal not answered", tc.name)
		}
		loc, _ := url.Parse(w.Header().Get("Location"))
		q := loc.Query()
		if w.Code != http.StatusSeeOther || loc.Path != "/account/step-up-refused" || q.Get("from") != "idp" ||
			q.Get("reason") != saml.ReasonMFANotPerformed || q.Get("return_to") != tc.wantReturn || loc.Host != "" {
			t.Fatalf("%s: answered %d %s", tc.name, w.Code, w.Header().Get("Location"))
		}
	}
	for name, call := range map[string]func(http.ResponseWriter) bool{
		"no-step-up": func(w http.ResponseWriter) bool {
			return s.comp.RefuseStepUp(w, httptest.NewRequest(http.MethodPost, "/", nil), nil, "/b", refusal)
		},
		"zero-step-up": func(w http.ResponseWriter) bool {
			return s.comp.RefuseStepUp(w, httptest.NewRequest(http.MethodPost, "/", nil), &sso.StepUp{}, "/b", refusal)
		},
		"store-fault": func(w http.ResponseWriter) bool {
			return s.comp.RefuseStepUp(w, httptest.NewRequest(http.MethodPost, "/", nil), s.stepUp(), "/b", sso.ErrUnavailable)
		},
	} {
		w := httptest.NewRecorder()
		if call(w) || w.Header().Get("Location") != "" {
			t.Fatalf("%s: answered %d %q, want it left to the protocol", name, w.Code, w.Header().Get("Location"))
		}
	}
	plain := newStepUpEnv(t, nil)
	w := httptest.NewRecorder()
	if plain.comp.RefuseStepUp(w, httptest.NewRequest(http.MethodPost, "/", nil), plain.stepUp(), "/b", refusal) {
		t.Fatal("without StepUpRefusedURL the refusal was answered")
	}
}
