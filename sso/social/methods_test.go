package social_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
)

// TestOrgChoiceOfMethods runs on every backend, with the GitHub stand-in
// (fakeGitHub) as the provider: a member of an organization whose plan
// includes social sign-in but whose administrators allow only passwords
// and passkeys is refused (403 method_disabled, a page that says what to
// do, no session, audited in the organization naming the method and the
// provider); listing social lets the same account in; and a list naming
// social in an organization whose plan lacks it still refuses
// (feature_disabled).
func TestOrgChoiceOfMethods(t *testing.T) {
	r := newRP(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.trusting()})
			org := e.org("keys", false, true)
			member := e.member("usr_kim", "kim@keys.example", org, false)
			start := r.srv.URL + "/auth/social/github/start"
			set := func(plan sso.Features, methods ...sso.AuthMethod) {
				o, err := e.st.GetOrg(ctx, org.ID)
				if err != nil {
					t.Fatal(err)
				}
				o.Settings.Features, o.Settings.SignInMethods = plan, methods
				if err := e.st.UpdateOrg(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			gh.signIn(4004, "kim", email("kim@keys.example", true, true))

			set(sso.Features{social.Feature}, sso.AuthPassword, sso.AuthPasskey)
			bw := newBrowser(t)
			res := bw.get(start)
			if res.status != http.StatusForbidden || !strings.Contains(res.body, "turned off sign-in with Google, Microsoft or GitHub") || bw.signedIn(r) != nil {
				t.Fatalf("social sign-in the organization turned off: got %d %s; want 403 method_disabled and no session", res.status, res.body)
			}
			if !e.hasEvent(org.ID, sso.EventLoginFailed, social.ReasonMethodDisabled, map[string]string{"method": "social", "provider": "github"}) {
				t.Errorf("no method_disabled refusal audited in the organization: %+v", e.events(org.ID))
			}

			set(sso.Features{social.Feature}, sso.AuthPassword, sso.AuthSocial)
			bw = newBrowser(t)
			bw.get(start)
			if s := bw.signedIn(r); s == nil || s["user"] != member.ID || s["method"] != "social" {
				t.Errorf("social sign-in the organization lists: session %v; want kim's", s)
			}

			set(sso.Features{"saml"}, sso.AuthPassword, sso.AuthSocial)
			bw = newBrowser(t)
			res = bw.get(start)
			if res.status != http.StatusForbidden || bw.signedIn(r) != nil ||
				!e.hasEvent(org.ID, sso.EventLoginFailed, social.ReasonFeature, map[string]string{"method": "social"}) {
				t.Errorf("social listed but outside the plan: got %d %s; want 403 feature_disabled, audited", res.status, res.body)
			}
		})
	}
}
