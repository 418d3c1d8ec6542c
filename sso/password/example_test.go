package password_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mempassword"
)

// ExampleNew wires the password tier on memstore, signs a user up,
// verifies the address from the emailed link and signs in. The session is
// a password session without MFA, so the organization's MFA policy asks
// for a second factor next.
func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	sessions, _ := session.New(session.Config{Store: st, Events: st, Orgs: st, Memberships: st})
	trail, _ := audit.New(audit.Config{Store: st})
	enforcer, _ := policy.New(policy.Config{Store: st, Auditor: trail})
	outbox := &mail.DevMailer{}
	verify, _ := url.Parse("https://app.acme.example/verify")
	reset, _ := url.Parse("https://app.acme.example/reset")
	pw, err := password.New(password.Config{
		Store: mempassword.New(st), Users: st, Orgs: st, Members: st,
		Sessions: sessions, Revoker: sessions, Enforcer: enforcer, Auditor: trail, Mailer: outbox,
		VerifyURL: verify, ResetURL: reset, AppName: "Acme",
		Params: password.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}, // tests only: use the defaults
	})
	if err != nil {
		panic(err)
	}

	fmt.Println(pw.SignUp(ctx, "jane@example.com", "correct horse battery staple", "Jane"))
	msg, _ := outbox.Last("jane@example.com")
	fmt.Println(msg.Subject)
	token := msg.Text[strings.Index(msg.Text, "token=")+len("token=") : strings.Index(msg.Text, "\n\nIf")]
	u, _ := pw.VerifyEmail(ctx, token)
	fmt.Println("verified:", u.EmailVerified)

	// The host places the new user in an organization.
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"})
	_ = st.CreateMembership(ctx, &sso.Membership{OrgID: "org_acme", UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive})

	w := httptest.NewRecorder()
	g, err := pw.Login(w, httptest.NewRequest("POST", "https://app.acme.example/login", nil),
		password.LoginRequest{Email: "Jane@Example.com", Password: "correct horse battery staple"})
	fmt.Println(g.Method, g.OrgID, "mfa:", g.MFA, err)
	// Output:
	// <nil>
	// Confirm your email address for Acme
	// verified: true
	// password org_acme mfa: false <nil>
}

// ExamplePolicy_Check shows the NIST SP 800-63B checks and their reasons.
func ExamplePolicy_Check() {
	p := password.Policy{ContextWords: []string{"acme"}}
	for _, pw := range []string{"short", "password123", "aaaaaaaaaaaa", "acme-rocks-2026", "Grüße aus Köln"} {
		fmt.Printf("%q: %q\n", pw, sso.ReasonOf(p.Check(pw, "jane@example.com")))
	}
	// Output:
	// "short": "password_too_short"
	// "password123": "password_breached"
	// "aaaaaaaaaaaa": "password_weak"
	// "acme-rocks-2026": "password_context"
	// "Grüße aus Köln": ""
}
