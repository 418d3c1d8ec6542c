package discovery_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/discovery"
)

// TestDiscoveryTellsLocalMethods: with Config.LocalMethods, the redirect
// to the local login page names the methods the organization of the
// email's verified domain allows (its choice within its plan, among the
// host's), the host's full set for a domain of no organization; a known
// and an unknown address of one domain get the same answer (no account
// enumeration); an SSO organization still goes to its IdP.
func TestDiscoveryTellsLocalMethods(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	keys := e.Org("keys", func(s *sso.OrgSettings) {
		s.Features = sso.Features{"passkey", "email_code", "social"}
		s.SignInMethods = []sso.AuthMethod{sso.AuthPasskey, sso.AuthSocial, sso.AuthMagicLink} // magic_link: not in the plan
	})
	e.Verified(keys.ID, "keys.example")
	codes := e.Org("codes", func(s *sso.OrgSettings) { s.Features = sso.Features{"email_code", "magic_link"} })
	e.Verified(codes.ID, "codes.example")
	sso1 := e.Org("ssoco", nil)
	e.Verified(sso1.ID, "ssoco.example")
	e.Conn(sso1.ID, saml.Protocol, sso.ConnectionActive, "https://idp.ssoco.example")
	if err := e.St.CreateUser(ssoenv.Ctx, &sso.User{ID: "usr_known", Email: "known@keys.example", EmailVerified: true}); err != nil {
		t.Fatal(err)
	}
	host := []sso.AuthMethod{sso.AuthPassword, sso.AuthPasskey, sso.AuthEmailCode, sso.AuthMagicLink, sso.AuthSocial}
	_, de := e.Discovery(t, func(c *discovery.Config) { c.LocalMethods = host })

	methodsOf := func(email string) string {
		t.Helper()
		res := de.PostForm(t, email, "/r")
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: got %d %s, want a redirect to the local login", email, res.StatusCode, res.Header.Get("Location"))
		}
		u, err := url.Parse(res.Header.Get("Location"))
		if err != nil || !strings.HasPrefix(u.Path, "/password-login") {
			t.Fatalf("%s: location %s", email, res.Header.Get("Location"))
		}
		if _, ok := u.Query()["methods"]; !ok {
			t.Fatalf("%s: no methods parameter in %s", email, u)
		}
		return u.Query().Get("methods")
	}
	for _, tc := range []struct{ email, want string }{
		{"known@keys.example", "passkey,social"},
		{"nobody@keys.example", "passkey,social"},
		{"ann@codes.example", "password,email_code,magic_link"},
		{"someone@unknown.example", "password,passkey,email_code,magic_link,social"},
		{"someone@gmail.com", "password,passkey,email_code,magic_link,social"},
	} {
		if got := methodsOf(tc.email); got != tc.want {
			t.Errorf("methods for %s = %q, want %q", tc.email, got, tc.want)
		}
	}
	if res := de.PostForm(t, "erin@ssoco.example", "/r"); res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "https://idp.example/") {
		t.Errorf("SSO organization: got %d %s, want its IdP", res.StatusCode, res.Header.Get("Location"))
	}
	// By slug, the same answer as by domain.
	res := de.Get(t, "/sso/login/codes")
	if u, _ := url.Parse(res.Header.Get("Location")); u == nil || u.Query().Get("methods") != "password,email_code,magic_link" {
		t.Errorf("by slug: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// Without LocalMethods nothing changes.
	_, plain := e.Discovery(t, nil)
	if loc := plain.PostForm(t, "ann@codes.example", "/r").Header.Get("Location"); strings.Contains(loc, "methods=") {
		t.Errorf("without LocalMethods: %s", loc)
	}
	if _, err := discovery.New(discovery.Config{Store: e.St, Starters: map[sso.Protocol]sso.Starter{saml.Protocol: de.Starter},
		BaseURL: &url.URL{Scheme: "https", Host: "app.example"}, LocalLoginURL: "/l", LocalMethods: []sso.AuthMethod{"saml"}}); err == nil {
		t.Error("New accepted an IdP protocol as a local method")
	}
}
