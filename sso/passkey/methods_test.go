package passkey_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
)

// TestOrgChoiceOfMethods: a member of an organization whose
// administrators allow only passwords is refused a passkey login called
// straight at the finish route (403 method_disabled, no session, an audit
// event in the organization naming the method), and signs in once the
// organization lists passkeys. A list naming passkeys in an organization
// whose plan lacks them still refuses (feature_disabled).
func TestOrgChoiceOfMethods(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, b)
			dana := e.member("dana", "pwonly", false, false)
			id := e.register(e.signIn(dana, "org_pwonly"), "Key")
			set := func(plan sso.Features, methods ...sso.AuthMethod) {
				org, err := e.ms.GetOrg(ctx, "org_pwonly")
				if err != nil {
					t.Fatal(err)
				}
				org.Settings.Features, org.Settings.SignInMethods = plan, methods
				if err := e.ms.UpdateOrg(ctx, org); err != nil {
					t.Fatal(err)
				}
			}
			set(sso.Features{passkey.Feature}, sso.AuthPassword)
			res := e.login(id, nil, -1)
			if res.code != http.StatusForbidden || res.str("error") != passkey.ReasonMethodDisabled || res.cookie != nil || res.str("message") == "" {
				t.Errorf("passkey the organization turned off: got %d %v; want 403 method_disabled with a message and no session", res.code, res.body)
			}
			evs, err := e.ms.ListEvents(ctx, sso.EventQuery{OrgID: "org_pwonly", Type: sso.EventLoginFailed})
			if err != nil || len(evs) != 1 || evs[0].Reason != passkey.ReasonMethodDisabled || evs[0].Details["method"] != string(passkey.Method) {
				t.Errorf("audit of the refusal: %+v %v; want one method_disabled naming passkey", evs, err)
			}
			set(sso.Features{passkey.Feature}, sso.AuthPassword, sso.AuthPasskey)
			if res := e.login(id, nil, -1); res.code != http.StatusOK {
				t.Errorf("passkey the organization lists: got %d %v; want 200", res.code, res.body)
			}
			set(sso.Features{"saml"}, sso.AuthPassword, sso.AuthPasskey)
			if res := e.login(id, nil, -1); res.code != http.StatusForbidden || res.str("error") != passkey.ReasonFeature {
				t.Errorf("passkey listed but outside the plan: got %d %v; want 403 feature_disabled", res.code, res.body)
			}
		})
	}
}
