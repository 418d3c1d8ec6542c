package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mememailcode"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
)

// TestEmailSignUpAutoJoins: with EmailCode and Invites set, the stack
// mounts email sign-in at /auth/email/ and the accept page at /invite/,
// and an email sign-up in a domain the organization verified joins it
// under its auto-join policy and gets a session with method email_code.
func TestEmailSignUpAutoJoins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := memStores()
	st := cfg.Store.(*memstore.Store)
	outbox := &mail.DevMailer{}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg.BaseURL, _ = url.Parse(srv.URL)
	cfg.SealKeyID, cfg.SealKeys = "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Dev = stack.Dev{AllowInsecureCookie: true, AllowInsecureURLs: true, AllowPrivateAddresses: true}
	cfg.EmailCode = &stack.EmailCodeConfig{Store: mememailcode.New(st), Mailer: outbox,
		AllowSignUp: func(context.Context, string) bool { return true }}
	cfg.Invites = &stack.InviteConfig{Store: meminvite.New(st), Mailer: outbox}
	s, err := stack.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = s.Handler()
	if err := st.CreateOrg(ctx, &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme",
		Settings: sso.OrgSettings{Features: sso.Features{emailcode.FeatureCode}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: "org_acme", Name: "acme.test", Token: "t", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Invites.SetPolicy(ctx, "org_acme", invite.ModeJoin, "member"); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, body string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", srv.URL)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := post("/auth/email/request", `{"email":"new@acme.test"}`); res.StatusCode != http.StatusAccepted {
		t.Fatalf("request: %d", res.StatusCode)
	}
	s.EmailCode.Wait()
	msg, ok := outbox.Last("new@acme.test")
	if !ok {
		t.Fatal("no email")
	}
	code := regexp.MustCompile(`code is (\d+)`).FindStringSubmatch(msg.Text)[1]
	if res := post("/auth/email/code", `{"code":"`+code+`"}`); res.StatusCode != http.StatusOK {
		t.Fatalf("code: %d", res.StatusCode)
	}
	u, err := mememailcode.New(st).FindVerifiedUser(ctx, "new@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.GetMembership(ctx, "org_acme", u.ID); err != nil || !m.HasRole("member") {
		t.Errorf("auto-joined membership: %+v, %v", m, err)
	}
	ss, _ := st.ListUserSessions(ctx, u.ID)
	if len(ss) != 1 || ss[0].OrgID != "org_acme" || ss[0].Method != sso.AuthEmailCode {
		t.Errorf("sessions: %+v", ss)
	}
	res, err := c.Get(srv.URL + "/invite/accept?token=nope")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "invalid or was already used") {
		t.Errorf("accept page with a bad token: %d %s", res.StatusCode, body)
	}
}
