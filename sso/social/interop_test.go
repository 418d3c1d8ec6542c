package social_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
)

// TestGoogleAndMicrosoftInterop runs the social sign-in against real
// OpenID providers (panva oidc-provider, oidc/testdata/op/social.mjs)
// configured like Google and like Microsoft's multi-tenant endpoint, on
// every backend, with the security tests of the issue.
func TestGoogleAndMicrosoftInterop(t *testing.T) {
	r := newRP(t)
	o := startOP(t, r)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, r, b, []social.Provider{o.google(), o.microsoft(social.TenantCommon)})
			acme := e.org("acme", false, true)
			big := e.org("bigcorp", true, true)
			member := e.member("usr_member", "member@acme.example", acme, false)
			e.member("usr_erin", "erin@bigcorp.example", big, false)

			t.Run("invited newcomer gets an account and a social session", func(t *testing.T) {
				e.adm.invite("gina@gmail.com", acme.ID)
				bw := newBrowser(t)
				res := o.login(t, bw, r, "google", "gina", "return_to=/app")
				s := bw.signedIn(r)
				if res.status != http.StatusOK || s == nil || s["org"] != acme.ID || s["method"] != "social" {
					t.Fatalf("got %d %s at %s, session %v; want a social session in acme", res.status, res.body, res.url, s)
				}
				ids := e.identities(s["user"])
				if len(ids) != 1 || ids[0].Provider != "google" || ids[0].Subject != "google-gina" || !ids[0].EmailVerified {
					t.Errorf("identities %+v, want google/google-gina", ids)
				}
				if g := e.iss.last(); g == nil || g.Method != sso.AuthSocial || g.MFA || !g.MFAAt.IsZero() {
					t.Errorf("grant %+v: want method social and no MFA, so the org's MFA policy asks for a second factor", g)
				}
				if !e.hasEvent(acme.ID, sso.EventLoginSucceeded, "", map[string]string{"method": "social", "provider": "google"}) {
					t.Error("no login.succeeded event naming the method and provider")
				}
				// A second login finds the identity (no new user, no new link).
				n := e.iss.count()
				bw2 := newBrowser(t)
				o.login(t, bw2, r, "google", "gina", "")
				if s2 := bw2.signedIn(r); s2 == nil || s2["user"] != s["user"] || e.iss.count() != n+1 {
					t.Errorf("second login: session %v (want user %s)", s2, s["user"])
				}
			})

			t.Run("verified email links the existing member", func(t *testing.T) {
				bw := newBrowser(t)
				o.login(t, bw, r, "google", "member", "")
				if s := bw.signedIn(r); s == nil || s["user"] != member.ID || s["org"] != acme.ID {
					t.Fatalf("session %v, want the member's in acme", s)
				}
				if ids := e.identities(member.ID); len(ids) != 1 || ids[0].Subject != "google-member" {
					t.Errorf("member identities %+v", ids)
				}
			})

			t.Run("unverified Google email claiming a member's address", func(t *testing.T) {
				bw := newBrowser(t)
				res := o.login(t, bw, r, "google", "mallory", "")
				if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
					t.Fatalf("got %d %s, signed in %v; want 403 and no session", res.status, res.body, bw.signedIn(r))
				}
				if _, err := e.social.GetIdentity(context.Background(), "google", "google-mallory"); !errors.Is(err, sso.ErrNotFound) {
					t.Errorf("the unverified identity was stored: %v", err)
				}
				if ids := e.identities(member.ID); len(ids) != 1 {
					t.Errorf("the member's account gained identities: %+v", ids)
				}
				if !e.hasEvent("", sso.EventLoginFailed, social.ReasonEmailNotVerified, map[string]string{"method": "social"}) {
					t.Error("no login.failed event with reason email_not_verified")
				}
			})

			t.Run("personal Google account on a company address", func(t *testing.T) {
				// Google hosts neither the address nor its domain (no hd, not
				// Gmail): its email_verified only says the address worked
				// when the account was made, perhaps by someone who has
				// since left. It neither links to the member who holds the
				// address now nor takes an invitation sent to an address.
				former := e.member("usr_former", "former@acme.example", acme, false)
				e.adm.invite("olga@smallshop.example", acme.ID)
				for _, username := range []string{"former", "outsider"} {
					bw := newBrowser(t)
					res := o.login(t, bw, r, "google", username, "")
					if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
						t.Fatalf("%s: got %d %s, signed in %v; want 403 email_not_verified and no session", username, res.status, res.body, bw.signedIn(r))
					}
					if _, err := e.social.GetIdentity(context.Background(), "google", "google-"+username); !errors.Is(err, sso.ErrNotFound) {
						t.Errorf("%s: the identity was stored: %v", username, err)
					}
				}
				if ids := e.identities(former.ID); len(ids) != 0 {
					t.Errorf("the member's account gained identities: %+v", ids)
				}
				if users, _ := e.social.FindUsersByEmail(context.Background(), "olga@smallshop.example"); len(users) != 0 {
					t.Errorf("a user was created from the invitation: %+v", users)
				}
			})

			t.Run("member of an SSO-enforcing org is routed to its IdP", func(t *testing.T) {
				bw := newBrowser(t)
				res := o.login(t, bw, r, "google", "enforced", "")
				if res.url.Path != "/sso/login/bigcorp" || bw.signedIn(r) != nil {
					t.Fatalf("ended at %s (%d), session %v; want /sso/login/bigcorp and none", res.url, res.status, bw.signedIn(r))
				}
				if !e.hasEvent(big.ID, sso.EventLoginFailed, social.ReasonSSORequired, map[string]string{"method": "social"}) {
					t.Error("no sso_required refusal in the enforcing org's trail")
				}
				if ids := e.identities("usr_erin"); len(ids) != 0 {
					t.Errorf("a refused login linked an identity: %+v", ids)
				}
			})

			t.Run("an invitation never joins an SSO-enforcing org", func(t *testing.T) {
				e.adm.invite("ivan@startup.example", big.ID)
				bw := newBrowser(t)
				res := o.login(t, bw, r, "google", "invited", "")
				if res.url.Path != "/sso/login/bigcorp" || bw.signedIn(r) != nil {
					t.Fatalf("ended at %s, session %v; want routed to bigcorp's SSO, no session", res.url, bw.signedIn(r))
				}
				users, _ := e.social.FindUsersByEmail(context.Background(), "ivan@startup.example")
				if len(users) != 0 {
					t.Errorf("a user was created for a refused join: %+v", users)
				}
			})

			t.Run("Microsoft work account with xms_edov", func(t *testing.T) {
				e.adm.invite("wendy@contoso.example", acme.ID)
				bw := newBrowser(t)
				res := o.login(t, bw, r, "microsoft", "wendy", "")
				s := bw.signedIn(r)
				if s == nil || s["method"] != "social" {
					t.Fatalf("got %d %s, session %v", res.status, res.body, s)
				}
				if ids := e.identities(s["user"]); len(ids) != 1 || ids[0].Provider != "microsoft" {
					t.Errorf("identities %+v", ids)
				}
			})

			t.Run("Microsoft email without xms_edov claiming a member's address", func(t *testing.T) {
				bw := newBrowser(t)
				res := o.login(t, bw, r, "microsoft", "eve", "")
				if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
					t.Fatalf("got %d %s; want 403 email_not_verified and no session", res.status, res.body)
				}
				if ids := e.identities(member.ID); len(ids) != 1 {
					t.Errorf("the member's account gained identities: %+v", ids)
				}
			})

			t.Run("Microsoft token whose tid does not match its issuer", func(t *testing.T) {
				bw := newBrowser(t)
				res := o.login(t, bw, r, "microsoft", "forger", "")
				if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
					t.Fatalf("got %d %s; want 403 issuer_mismatch", res.status, res.body)
				}
				if !e.hasEvent("", sso.EventLoginFailed, social.ReasonIssuerMismatch, nil) {
					t.Error("no issuer_mismatch refusal audited")
				}
			})

			t.Run("plan without social login", func(t *testing.T) {
				basic := e.org("basic", false, false)
				e.adm.invite("ivan@startup.example", basic.ID)
				bw := newBrowser(t)
				res := o.login(t, bw, r, "google", "invited", "")
				if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
					t.Fatalf("got %d %s; want 403 feature_disabled", res.status, res.body)
				}
				// The refusal is audited in the organization it names.
				if !e.hasEvent(basic.ID, sso.EventLoginFailed, social.ReasonFeature, map[string]string{"method": "social"}) {
					t.Error("no feature_disabled refusal audited in the organization")
				}
			})

			t.Run("tampered state", func(t *testing.T) {
				bw := newBrowser(t)
				res := bw.get(r.srv.URL + "/auth/social/google/start")
				if res.url.Host == r.srv.Listener.Addr().String() {
					t.Fatalf("start did not leave for the provider: %s", res.url)
				}
				res = bw.get(r.srv.URL + "/auth/social/google/callback?code=x&state=forged")
				if res.status != http.StatusBadRequest || bw.signedIn(r) != nil {
					t.Errorf("forged state: %d %s; want 400 state_invalid", res.status, res.body)
				}
				res = newBrowser(t).get(r.srv.URL + "/auth/social/google/callback?code=x&state=y")
				if res.status != http.StatusBadRequest {
					t.Errorf("callback without a flow cookie: %d; want 400", res.status)
				}
			})
		})
	}
}

// TestMicrosoftTenantRestriction: the "consumers" endpoint admits only
// personal accounts; a work-tenant token is refused (tenant_not_allowed)
// even though its issuer matches the template.
func TestMicrosoftTenantRestriction(t *testing.T) {
	r := newRP(t)
	o := startOP(t, r)
	p := o.microsoft(social.TenantConsumers)
	p.Name = "ms-consumers"
	e := newEnv(t, r, backends(t)[0], []social.Provider{p})
	acme := e.org("acme", false, true)
	e.member("usr_wendy", "wendy@contoso.example", acme, false)
	bw := newBrowser(t)
	res := o.login(t, bw, r, "ms-consumers", "wendy", "")
	if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
		t.Fatalf("got %d %s; want 403 tenant_not_allowed", res.status, res.body)
	}
	if !e.hasEvent("", sso.EventLoginFailed, social.ReasonTenantNotAllowed, nil) {
		t.Error("no tenant_not_allowed refusal audited")
	}
}

// TestMicrosoftPersonalAccount: the personal-accounts tenant configured by
// its ID has one exact issuer; a personal account whose xms_edov is true
// links to the user with that verified address.
func TestMicrosoftPersonalAccount(t *testing.T) {
	r := newRP(t)
	o := startOP(t, r)
	p := o.microsoft(social.ConsumersTenantID)
	p.Name = "ms-consumers"
	if p.IssuerTemplate != "" {
		t.Fatalf("a tenant ID has an exact issuer, got the template %q", p.IssuerTemplate)
	}
	e := newEnv(t, r, backends(t)[0], []social.Provider{p})
	acme := e.org("acme", false, true)
	pat := e.member("usr_pat", "pat@outlook.example", acme, false)
	bw := newBrowser(t)
	res := o.login(t, bw, r, "ms-consumers", "pat", "")
	if s := bw.signedIn(r); s == nil || s["user"] != pat.ID || s["method"] != "social" {
		t.Fatalf("got %d %s, session %v; want pat's social session", res.status, res.body, s)
	}
}
