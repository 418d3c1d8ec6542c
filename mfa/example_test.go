package mfa_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memmfa"
)

// exampleElevator stands in for session.Manager.
type exampleElevator struct{}

func (exampleElevator) ElevateMFA(w http.ResponseWriter, r *http.Request, at time.Time) error {
	return nil
}

func ExampleNew() {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	st := memstore.New()
	keys, _ := keyring.New("2030-01", map[string][]byte{"2030-01": bytes.Repeat([]byte{1}, 32)})
	_ = st.CreateUser(ctx, &sso.User{ID: "usr_1", Email: "ada@example.com"})

	m, err := mfa.New(mfa.Config{
		Store: memmfa.New(st), Sealer: keys, Users: st, Orgs: st, Members: st, Events: st, Elevator: exampleElevator{},
		Issuer: "Example Cloud",
		Now:    func() time.Time { return now },
		// A fixed random source makes this example deterministic; leave
		// Rand nil in production (crypto/rand).
		Rand: rand.NewChaCha8([32]byte{}),
	})
	if err != nil {
		panic(err)
	}
	// The session middleware normally sets the principal: here a session
	// that has just signed in, as enrolling a first factor requires.
	p := &sso.Principal{Kind: sso.PrincipalSession, UserID: "usr_1", Method: sso.AuthLocal, AuthAt: now}
	en, _ := m.StartTOTPEnrollment(ctx, p)
	fmt.Println(en.URI)

	code, _ := totp.GenerateCode(en.Secret, now) // what the user's app shows
	recovery, err := m.ConfirmTOTPEnrollment(ctx, p, code)
	fmt.Println(len(recovery), "recovery codes,", err)

	fmt.Println(sso.ReasonOf(m.VerifyTOTP(ctx, p, code)))
	// Output:
	// otpauth://totp/Example%20Cloud:ada@example.com?algorithm=SHA1&digits=6&issuer=Example%20Cloud&period=30&secret=3GDX5TTNG2FKYGTPIGPMMJ6HNMN7WH5D
	// 10 recovery codes, <nil>
	// code_replayed
}

func ExampleManager_Require() {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	st := memstore.New()
	keys, _ := keyring.New("k", map[string][]byte{"k": bytes.Repeat([]byte{1}, 32)})
	_ = st.CreateUser(ctx, &sso.User{ID: "usr_1", Email: "ada@example.com"})
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme", Settings: sso.OrgSettings{
		MFA:      sso.MFAPolicy{Required: true, ChangedAt: now.Add(-30 * 24 * time.Hour)},
		Features: sso.Features{"enforce_mfa"},
	}})
	_ = st.CreateMembership(ctx, &sso.Membership{OrgID: "org_1", UserID: "usr_1", Status: sso.MembershipActive, JoinedAt: now.Add(-60 * 24 * time.Hour)})
	m, _ := mfa.New(mfa.Config{Store: memmfa.New(st), Sealer: keys, Users: st, Orgs: st, Members: st, Events: st,
		Elevator: exampleElevator{}, Issuer: "Example Cloud", Now: func() time.Time { return now }})

	app := m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "welcome") }))
	r := httptest.NewRequest("GET", "/dashboard", nil)
	// The session middleware normally sets the principal.
	r = r.WithContext(sso.WithPrincipal(r.Context(), &sso.Principal{UserID: "usr_1", OrgID: "org_1"}))
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	// Output:
	// 403 {"error":"mfa_enrollment_required","message":"Your organization requires a second factor. Set one up to continue."}
}

func ExampleParseCode() {
	code, err := mfa.ParseCode(" 081 804 ")
	fmt.Println(code, err)
	_, err = mfa.ParseCode("08180")
	fmt.Println(sso.ReasonOf(err))
	// Output:
	// 081804 <nil>
	// code_malformed
}

// exampleStarter stands in for the saml package's login starter.
type exampleStarter struct{}

func (exampleStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	fmt.Println("asks the IdP for MFA:", opts.RequireMFA, "max age:", opts.MaxAge, "bound to:", opts.StepUp.SessionID)
	http.Redirect(w, r, "https://idp.example.com/sso", http.StatusFound)
	return nil
}

// ExampleManager_ServeIdPStepUp: an organization that trusts its IdP's MFA
// and asks for step-ups there sends an SSO session back to its IdP.
func ExampleManager_ServeIdPStepUp() {
	ctx := context.Background()
	st := memstore.New()
	keys, _ := keyring.New("k", map[string][]byte{"k": bytes.Repeat([]byte{1}, 32)})
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme",
		Settings: sso.OrgSettings{MFA: sso.MFAPolicy{TrustIdPMFA: true, StepUpAtIdP: true}}})
	_ = st.CreateConnection(ctx, &sso.Connection{ID: "conn_1", OrgID: "org_1", Protocol: "saml", Status: sso.ConnectionActive})
	m, _ := mfa.New(mfa.Config{
		Store: memmfa.New(st), Sealer: keys, Users: st, Orgs: st, Members: st, Events: st, Elevator: exampleElevator{},
		Issuer: "Example Cloud", Starters: map[sso.Protocol]sso.Starter{"saml": exampleStarter{}}, Connections: st,
		IdPStepUpURL: "/mfa/step-up/idp",
	})
	// A session made by the SAML connection conn_1 (the session
	// middleware sets the principal).
	p := &sso.Principal{Kind: sso.PrincipalSession, SessionID: "ses_1", UserID: "usr_1", OrgID: "org_1",
		ConnectionID: "conn_1", Method: "saml", AuthAt: time.Now()}
	r := httptest.NewRequest("GET", "/step-up/idp?max_age=300&return_to=/billing", nil)
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r.WithContext(sso.WithPrincipal(r.Context(), p)))
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// asks the IdP for MFA: true max age: 5m0s bound to: ses_1
	// 302 https://idp.example.com/sso
}
