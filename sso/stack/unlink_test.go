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

// TestUnlinkSocial: a signed-in user lists their linked GitHub account at
// /auth/social/linked; unlinking it while it is their only way in is
// refused with last_method, and allowed once they have a password. A
// cross-origin DELETE and one without a session are refused.
func TestUnlinkSocial(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, st, srv := signInStack(t, "m@acme.test", true, func(c *stack.Config) {
		ms := c.Store.(*memstore.Store)
		u, _ := url.Parse(c.BaseURL.String() + "/verify")
		c.Password = &stack.PasswordConfig{Store: mempassword.New(ms), Mailer: &mail.DevMailer{}, VerifyURL: u, ResetURL: u}
	})
	u := &sso.User{ID: "usr_m", Email: "m@acme.test", EmailVerified: true}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMembership(ctx, &sso.Membership{OrgID: "org_acme", UserID: "usr_m", Roles: []string{"member"}, Status: sso.MembershipActive}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	do := func(cl *http.Client, method, path, origin string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	if code, body := do(c, "GET", "/auth/social/github/start", ""); code != http.StatusNotFound {
		t.Fatalf("sign-in: %d %.200s", code, body)
	}
	if code, body := do(c, "GET", "/auth/social/linked", ""); code != http.StatusOK || !strings.Contains(body, `"provider":"github"`) || !strings.Contains(body, `"subject":"4242"`) {
		t.Fatalf("linked: %d %s", code, body)
	}
	if code, _ := do(&http.Client{}, "DELETE", "/auth/social/linked/github/4242", ""); code != http.StatusUnauthorized {
		t.Errorf("unlink without a session: %d", code)
	}
	if code, body := do(c, "DELETE", "/auth/social/linked/github/4242", ""); code != http.StatusConflict || !strings.Contains(body, "last_method") {
		t.Errorf("unlink of the only way in: %d %s", code, body)
	}
	if err := s.Password.SetPassword(ctx, u, "correct horse battery staple 42"); err != nil {
		t.Fatal(err)
	}
	if code, _ := do(c, "DELETE", "/auth/social/linked/github/4242", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("cross-origin unlink: %d", code)
	}
	if code, body := do(c, "DELETE", "/auth/social/linked/github/4242", ""); code != http.StatusNoContent {
		t.Errorf("unlink with a password: %d %s", code, body)
	}
	if code, body := do(c, "GET", "/auth/social/linked", ""); code != http.StatusOK || strings.Contains(body, "github") {
		t.Errorf("linked after unlink: %d %s", code, body)
	}
}
