package stack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
	"github.com/ssokit/ssokit/store/memstore/mempasskey"
	"github.com/ssokit/ssokit/store/memstore/memsocial"
)

// stubGitHub stands in for GitHub, which cannot run here: its OAuth 2.0
// authorization and token endpoints and GET /user, GET /user/emails, for
// one account whose primary email is email. The social
// package's own tests check the protocol against a stricter stand-in and
// the real oidc-provider; this one only lets a stack login through. Its
// provider trusts GitHub's verified email for linking and admission
// (EmailVerifiedOnce cleared, a host's opt-in), so that the stack's
// wiring of invitations can be seen; TestGitHubLinkThroughStack keeps the
// default.
func stubGitHub(t *testing.T, email string, verified bool) social.Provider {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {"c1"}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = io.WriteString(w, "access_token=gho_1&token_type=bearer")
	})
	mux.HandleFunc("GET /api/user", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":4242,"login":"mia"}`)
	})
	mux.HandleFunc("GET /api/user/emails", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode([]map[string]any{{"email": email, "primary": true, "verified": verified}})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := social.GitHub("gh-client", "gh-secret")
	p.AuthURL, p.TokenURL, p.APIURL = srv.URL+"/authorize", srv.URL+"/token", srv.URL+"/api"
	p.EmailVerifiedOnce = false
	return p
}

// signInStack starts a stack on memstore with Social (the GitHub
// stand-in, whose account has the primary address email) and Passkeys,
// and an organization acme whose plan includes both.
func signInStack(t *testing.T, email string, verified bool, mutate func(*stack.Config)) (*stack.Stack, *memstore.Store, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	cfg := memStores()
	st := cfg.Store.(*memstore.Store)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg.BaseURL, _ = url.Parse(srv.URL)
	cfg.SealKeyID, cfg.SealKeys = "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Dev = stack.Dev{AllowInsecureCookie: true, AllowInsecureURLs: true, AllowPrivateAddresses: true}
	cfg.Social = &stack.SocialConfig{Store: memsocial.New(st), Providers: []social.Provider{stubGitHub(t, email, verified)}}
	cfg.Passkeys = &stack.PasskeyConfig{Store: mempasskey.New(st), RPID: "localhost", Origins: []string{"http://localhost"}}
	cfg.Account = &stack.AccountConfig{}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := stack.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = s.Handler()
	if err := st.CreateOrg(ctx, &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme",
		Settings: sso.OrgSettings{Features: sso.Features{social.Feature, passkey.Feature}}}); err != nil {
		t.Fatal(err)
	}
	return s, st, srv
}

// TestSocialAndPasskeyMounted: the stack mounts social sign-in at
// /auth/social/, passkeys at /auth/passkey/ and the account API at
// /api/account/; a GitHub sign-in of a
// member whose verified primary email matches gets a session with method
// social, which the passkey routes then recognise.
func TestSocialAndPasskeyMounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, st, srv := signInStack(t, "m@acme.test", true, nil)
	if s.Social == nil || s.Passkeys == nil {
		t.Fatal("Social or Passkeys not wired")
	}
	u := sso.User{ID: "usr_m", Email: "m@acme.test", EmailVerified: true}
	if err := st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMembership(ctx, &sso.Membership{OrgID: "org_acme", UserID: "usr_m", Roles: []string{"member"}, Status: sso.MembershipActive}); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(srv.URL + "/auth/social/providers")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"github"`) {
		t.Fatalf("providers: %d %s", res.StatusCode, body)
	}
	if res, err = c.Get(srv.URL + "/auth/social/github/start"); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	ss, _ := st.ListUserSessions(ctx, "usr_m")
	if len(ss) != 1 || ss[0].OrgID != "org_acme" || ss[0].Method != sso.AuthSocial {
		t.Fatalf("sessions after the GitHub sign-in: %+v (%s: %d %.300s)", ss, res.Request.URL, res.StatusCode, body)
	}
	// The session cookie reaches the passkey routes: the user lists
	// their (no) passkeys; without the cookie they are refused.
	for _, signedIn := range []bool{true, false} {
		cl := c
		if !signedIn {
			cl = &http.Client{}
		}
		if res, err = cl.Get(srv.URL + "/auth/passkey/credentials"); err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if ok := res.StatusCode == http.StatusOK && strings.Contains(string(body), `"passkeys"`); ok != signedIn {
			t.Errorf("passkeys signed in=%t: %d %s", signedIn, res.StatusCode, body)
		}
	}
	// The account API, with the session, lists the user's organization;
	// without it, 401.
	for _, signedIn := range []bool{true, false} {
		cl := c
		if !signedIn {
			cl = &http.Client{}
		}
		if res, err = cl.Get(srv.URL + "/api/account/orgs"); err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		want := http.StatusUnauthorized
		if signedIn {
			want = http.StatusOK
		}
		if res.StatusCode != want || signedIn != strings.Contains(string(body), `"org_acme"`) {
			t.Errorf("account orgs signed in=%t: %d %s", signedIn, res.StatusCode, body)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/auth/passkey/login/begin", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if res, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ceremony"`) || !strings.Contains(string(body), `"rpId":"localhost"`) {
		t.Errorf("passkey login begin: %d %s", res.StatusCode, body)
	}
}

// TestSocialAdmissionByInvites: with Social and Invites, a newcomer's
// GitHub sign-in joins by a pending invitation with the invited role; under
// an "approval" auto-join policy it makes a join request and signs nobody
// in; an address GitHub has not verified joins nothing, even invited.
func TestSocialAdmissionByInvites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	withInvites := func(c *stack.Config) {
		c.Invites = &stack.InviteConfig{Store: meminvite.New(c.Store.(*memstore.Store)), Mailer: &mail.DevMailer{}}
	}
	signIn := func(t *testing.T, srv *httptest.Server) (int, string) {
		jar, _ := cookiejar.New(nil)
		res, err := (&http.Client{Jar: jar}).Get(srv.URL + "/auth/social/github/start")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(body)
	}
	verifyDomain := func(t *testing.T, st *memstore.Store) {
		if err := st.CreateDomain(ctx, &sso.Domain{OrgID: "org_acme", Name: "acme.test", Token: "t", State: sso.DomainVerified}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("invitation", func(t *testing.T) {
		t.Parallel()
		s, st, srv := signInStack(t, "inv@acme.test", true, withInvites)
		verifyDomain(t, st)
		if _, err := s.Invites.SetPolicy(ctx, "org_acme", invite.ModeApproval, "member"); err != nil {
			t.Fatal(err)
		}
		inv, err := s.Invites.Invite(ctx, "org_acme", "inv@acme.test", []string{"admin"})
		if err != nil {
			t.Fatal(err)
		}
		if st, body := signIn(t, srv); st != http.StatusNotFound { // "/" is the host's
			t.Fatalf("sign-in: %d %.300s", st, body)
		}
		u, err := meminvite.New(st).FindVerifiedUser(ctx, "inv@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		if m, err := st.GetMembership(ctx, "org_acme", u.ID); err != nil || !m.HasRole("admin") || m.HasRole("member") {
			t.Errorf("membership: %+v, %v (want the invited role admin)", m, err)
		}
		if ss, _ := st.ListUserSessions(ctx, u.ID); len(ss) != 1 || ss[0].Method != sso.AuthSocial {
			t.Errorf("sessions: %+v", ss)
		}
		if _, err := s.Invites.Pending(ctx, "org_acme", inv.ID); err == nil {
			t.Error("the invitation is still pending after its use")
		}
	})
	t.Run("approval", func(t *testing.T) {
		t.Parallel()
		s, st, srv := signInStack(t, "new@acme.test", true, withInvites)
		verifyDomain(t, st)
		if _, err := s.Invites.SetPolicy(ctx, "org_acme", invite.ModeApproval, "member"); err != nil {
			t.Fatal(err)
		}
		for range 2 { // a second sign-in finds the request still pending
			if code, body := signIn(t, srv); code != http.StatusForbidden || !strings.Contains(body, `data-reason="join_requested"`) {
				t.Fatalf("sign-in: %d %.300s", code, body)
			}
		}
		jrs, err := s.Invites.JoinRequests(ctx, "org_acme", invite.StatusPending)
		if err != nil || len(jrs) != 1 || jrs[0].Email != "new@acme.test" {
			t.Fatalf("join requests: %+v, %v", jrs, err)
		}
		if _, err := st.GetMembership(ctx, "org_acme", jrs[0].UserID); err == nil {
			t.Error("a membership before approval")
		}
		if ss, _ := st.ListUserSessions(ctx, jrs[0].UserID); len(ss) != 0 {
			t.Errorf("sessions before approval: %+v", ss)
		}
	})
	t.Run("unverified", func(t *testing.T) {
		t.Parallel()
		s, st, srv := signInStack(t, "inv@acme.test", false, withInvites)
		verifyDomain(t, st)
		if _, err := s.Invites.SetPolicy(ctx, "org_acme", invite.ModeJoin, "member"); err != nil {
			t.Fatal(err)
		}
		inv, err := s.Invites.Invite(ctx, "org_acme", "inv@acme.test", []string{"admin"})
		if err != nil {
			t.Fatal(err)
		}
		if code, body := signIn(t, srv); code == http.StatusNotFound || !strings.Contains(body, `data-reason="email_not_verified"`) {
			t.Fatalf("sign-in: %d %.300s", code, body)
		}
		if _, err := s.Invites.Pending(ctx, "org_acme", inv.ID); err != nil {
			t.Errorf("the invitation was used: %v", err)
		}
		if ms, _ := st.ListMembers(ctx, "org_acme", "", 10); len(ms) != 0 {
			t.Errorf("members: %+v", ms)
		}
	})
}
