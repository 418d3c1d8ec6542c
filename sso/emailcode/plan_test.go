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

// TestPlanFeatures: an organization whose plan lacks FeatureLink refuses
// magic-link sign-ins with feature_disabled (a page that says so) while
// codes still work; one that lacks FeatureCode refuses codes. Each
// refusal is audited and issues no session.
func TestPlanFeatures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, nil)
	e.user("jane@acme.example")
	setPlan := func(f ...string) {
		o, err := e.ms.GetOrg(ctx, "org_jane-home")
		if err != nil {
			t.Fatal(err)
		}
		o.Settings.Features = sso.Features(f)
		if err := e.ms.UpdateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	setPlan(emailcode.FeatureCode)
	b := e.browser("198.51.100.1")
	b.request("jane@acme.example")
	_, link := e.mailTo("jane@acme.example")
	res := b.form("/link", url.Values{"token": {mustToken(t, link)}})
	if res.code != http.StatusForbidden || !strings.Contains(res.raw, "plan does not include") {
		t.Errorf("link without the feature: %d %s", res.code, res.raw)
	}
	if e.issuer.count() != 0 {
		t.Fatal("a session without the feature")
	}
	b.request("jane@acme.example")
	code, _ := e.mailTo("jane@acme.example")
	if res := b.post("/code", map[string]string{"code": code}); res.code != http.StatusOK {
		t.Errorf("code with its feature: %d %s", res.code, res.raw)
	}

	setPlan(emailcode.FeatureLink)
	c := e.browser("198.51.100.2")
	c.request("jane@acme.example")
	code, _ = e.mailTo("jane@acme.example")
	wantRefusal(t, "code without the feature", c.post("/code", map[string]string{"code": code}), http.StatusForbidden, emailcode.ReasonFeature)
	if e.issuer.count() != 1 {
		t.Errorf("sessions: %d, want only the one of the allowed code", e.issuer.count())
	}
	var reasons []string
	for _, ev := range e.events("org_jane-home", sso.EventLoginFailed) {
		reasons = append(reasons, ev.Reason+"/"+ev.Details["method"])
	}
	if strings.Join(reasons, ",") != "feature_disabled/magic_link,feature_disabled/email_code" && strings.Join(reasons, ",") != "feature_disabled/email_code,feature_disabled/magic_link" {
		t.Errorf("audited refusals: %v", reasons)
	}
}
