package emailcode_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
)

// TestOrgChoiceOfMethods: an organization whose plan includes codes and
// links but whose administrators allow only codes refuses a magic link
// opened straight from the email (method_disabled, a page that says so,
// no session, audited naming the method) and accepts a code. A method
// the administrators list but the plan lacks stays refused
// (feature_disabled).
func TestOrgChoiceOfMethods(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv envFunc) {
		ctx := context.Background()
		e := newEnv(t, nil)
		e.user("jane@acme.example")
		set := func(plan sso.Features, methods ...sso.AuthMethod) {
			o, err := e.ms.GetOrg(ctx, "org_jane-home")
			if err != nil {
				t.Fatal(err)
			}
			o.Settings.Features, o.Settings.SignInMethods = plan, methods
			if err := e.ms.UpdateOrg(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		set(sso.Features{emailcode.FeatureCode, emailcode.FeatureLink}, sso.AuthEmailCode, sso.AuthPassword)
		b := e.browser("198.51.100.1")
		b.request("jane@acme.example")
		_, link := e.mailTo("jane@acme.example")
		res := b.form("/link", url.Values{"token": {mustToken(t, link)}})
		if res.code != http.StatusForbidden || !strings.Contains(res.raw, "turned off sign-in by emailed code or link") {
			t.Errorf("link the organization turned off: %d %s", res.code, res.raw)
		}
		if e.issuer.count() != 0 {
			t.Fatal("a session by a method the organization turned off")
		}
		evs := e.events("org_jane-home", sso.EventLoginFailed)
		if len(evs) != 1 || evs[0].Reason != emailcode.ReasonMethodDisabled || evs[0].Details["method"] != string(emailcode.MethodLink) {
			t.Errorf("audit of the refusal: %+v, want method_disabled naming magic_link", evs)
		}
		b.request("jane@acme.example")
		code, _ := e.mailTo("jane@acme.example")
		if res := b.post("/code", map[string]string{"code": code}); res.code != http.StatusOK {
			t.Errorf("code the organization allows: %d %s", res.code, res.raw)
		}

		// Listed by the administrators, but outside the plan.
		set(sso.Features{emailcode.FeatureCode}, sso.AuthEmailCode, sso.AuthMagicLink)
		c := e.browser("198.51.100.2")
		c.request("jane@acme.example")
		_, link = e.mailTo("jane@acme.example")
		res = c.form("/link", url.Values{"token": {mustToken(t, link)}})
		if res.code != http.StatusForbidden || !strings.Contains(res.raw, "plan does not include") {
			t.Errorf("link listed but outside the plan: %d %s", res.code, res.raw)
		}
		if e.issuer.count() != 1 {
			t.Errorf("sessions: %d, want only the code's", e.issuer.count())
		}
	})
}
