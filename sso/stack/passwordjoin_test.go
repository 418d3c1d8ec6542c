package stack_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
	"github.com/ssokit/ssokit/store/memstore/mempassword"
)

// TestPasswordSignUpAutoJoins: with Password and Invites, a password
// sign-up in a domain the organization verified joins it under its
// auto-join policy once the address is verified, and the password login
// that follows gets a session in it; before verification it has joined
// nothing.
func TestPasswordSignUpAutoJoins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	outbox := &mail.DevMailer{}
	s, st, srv := signInStack(t, "unused@acme.test", true, func(c *stack.Config) {
		ms := c.Store.(*memstore.Store)
		c.Invites = &stack.InviteConfig{Store: meminvite.New(ms), Mailer: outbox}
		verify, _ := url.Parse(c.BaseURL.String() + "/verify")
		reset, _ := url.Parse(c.BaseURL.String() + "/reset")
		c.Password = &stack.PasswordConfig{Store: mempassword.New(ms), Mailer: outbox, VerifyURL: verify, ResetURL: reset}
	})
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: "org_acme", Name: "acme.test", Token: "t", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invites.SetPolicy(ctx, "org_acme", invite.ModeJoin, "member"); err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple 42"
	if err := s.Password.SignUp(ctx, "pat@acme.test", pw, "Pat"); err != nil {
		t.Fatal(err)
	}
	msg, ok := outbox.Last("pat@acme.test")
	if !ok {
		t.Fatal("no verification email")
	}
	u, err := meminvite.New(st).FindVerifiedUser(ctx, "pat@acme.test")
	if err == nil {
		t.Fatalf("verified before the link was used: %+v", u)
	}
	token := regexp.MustCompile(`token=([A-Za-z0-9_-]+)`).FindStringSubmatch(msg.Text)
	if token == nil {
		t.Fatalf("no token in %q", msg.Text)
	}
	if u, err = s.Password.VerifyEmail(ctx, token[1]); err != nil {
		t.Fatal(err)
	}
	if m, err := st.GetMembership(ctx, "org_acme", u.ID); err != nil || !m.HasRole("member") {
		t.Fatalf("membership after verification: %+v, %v", m, err)
	}
	jar, _ := cookiejar.New(nil)
	req, _ := http.NewRequest("POST", srv.URL+"/auth/password/login", strings.NewReader(`{"email":"pat@acme.test","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", srv.URL)
	res, err := (&http.Client{Jar: jar}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ss, _ := st.ListUserSessions(ctx, u.ID)
	if res.StatusCode != http.StatusOK || len(ss) != 1 || ss[0].OrgID != "org_acme" || ss[0].Method != sso.AuthPassword {
		t.Errorf("login: %d, sessions %+v", res.StatusCode, ss)
	}
}
