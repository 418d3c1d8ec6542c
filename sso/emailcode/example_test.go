package emailcode_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mememailcode"
)

// ExampleNew wires email sign-in on memstore, asks for a code for a
// member's address and signs in with it in the same browser. The session
// names its method and has no MFA, so the organization's MFA policy asks
// for a second factor next.
func ExampleNew() {
	ctx := context.Background()
	st := memstore.New()
	_ = st.CreateUser(ctx, &sso.User{ID: "usr_jane", Email: "jane@example.com", EmailVerified: true})
	_ = st.CreateOrg(ctx, &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme",
		Settings: sso.OrgSettings{Features: sso.Features{emailcode.FeatureCode, emailcode.FeatureLink}}})
	_ = st.CreateMembership(ctx, &sso.Membership{OrgID: "org_acme", UserID: "usr_jane", Roles: []string{"member"}, Status: sso.MembershipActive})
	sessions, _ := session.New(session.Config{Store: st, Events: st, Orgs: st, Memberships: st})
	trail, _ := audit.New(audit.Config{Store: st})
	enforcer, _ := policy.New(policy.Config{Store: st, Auditor: trail})
	outbox := &mail.DevMailer{}
	base, _ := url.Parse("https://app.acme.example/auth/email")
	ec, err := emailcode.New(emailcode.Config{
		Store: mememailcode.New(st), Users: st, Orgs: st, Members: st,
		Sessions: sessions, Enforcer: enforcer, Auditor: trail, Mailer: outbox,
		BaseURL: base, AppName: "Acme",
	})
	if err != nil {
		panic(err)
	}

	w := httptest.NewRecorder()
	fmt.Println(ec.Start(w, httptest.NewRequest("POST", "https://app.acme.example/auth/email/request", nil),
		emailcode.Request{Email: "Jane@Example.com"}))
	ec.Wait()
	msg, _ := outbox.Last("jane@example.com")
	code := regexp.MustCompile(`code is (\d+)`).FindStringSubmatch(msg.Text)[1]

	// The same browser: it sends back the cookie Start set.
	r := httptest.NewRequest("POST", "https://app.acme.example/auth/email/code", nil)
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	g, returnTo, err := ec.VerifyCode(httptest.NewRecorder(), r, code)
	fmt.Println(g.Method, g.OrgID, "mfa:", g.MFA, returnTo, err)
	// Output:
	// <nil>
	// email_code org_acme mfa: false / <nil>
}
