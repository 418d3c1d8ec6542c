package stack_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mempassword"
)

// TestGitHubLinkThroughStack: with the GitHub provider as social.GitHub
// builds it, a first GitHub sign-in with a member's address is refused
// (link_required); the member signs in with their password, links GitHub
// at POST /auth/social/github/link, and GitHub then signs them in.
func TestGitHubLinkThroughStack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const pw = "correct horse battery staple 42"
	s, st, srv := signInStack(t, "m@acme.test", true, func(c *stack.Config) {
		c.Social.Providers[0].EmailVerifiedOnce = true
		u, _ := url.Parse(c.BaseURL.String() + "/verify")
		c.Password = &stack.PasswordConfig{Store: mempassword.New(c.Store.(*memstore.Store)), Mailer: &mail.DevMailer{}, VerifyURL: u, ResetURL: u}
	})
	u := &sso.User{ID: "usr_m", Email: "m@acme.test", EmailVerified: true}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMembership(ctx, &sso.Membership{OrgID: "org_acme", UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive}); err != nil {
		t.Fatal(err)
	}
	if err := s.Password.SetPassword(ctx, u, pw); err != nil {
		t.Fatal(err)
	}
	send := func(c *http.Client, method, path, body string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Origin", srv.URL)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	newClient := func() *http.Client { jar, _ := cookiejar.New(nil); return &http.Client{Jar: jar} }

	if res, body := send(newClient(), "GET", "/auth/social/github/start", ""); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(body, `data-reason="link_required"`) {
		t.Fatalf("first GitHub sign-in: %d %.300s; want 403 link_required", res.StatusCode, body)
	}
	c := newClient()
	if res, body := send(c, "POST", "/auth/password/login", `{"email":"m@acme.test","password":"`+pw+`"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("password login: %d %s", res.StatusCode, body)
	}
	res, body := send(c, "POST", "/auth/social/github/link", "return_to=%2Fapp")
	if res.Request.URL.Path != "/app" { // the host's page: 404 here
		t.Fatalf("link: ended at %s (%d %.300s)", res.Request.URL, res.StatusCode, body)
	}
	ids, err := s.Social.Linked(ctx, u.ID)
	if err != nil || len(ids) != 1 || ids[0].Provider != "github" || ids[0].Subject != "4242" {
		t.Fatalf("linked: %+v, %v", ids, err)
	}
	send(newClient(), "GET", "/auth/social/github/start", "")
	ss, _ := st.ListUserSessions(ctx, u.ID)
	n := 0
	for _, x := range ss {
		if x.Method == sso.AuthSocial {
			n++
		}
	}
	if n != 1 {
		t.Errorf("sessions after the GitHub sign-in: %+v; want one social", ss)
	}
}
