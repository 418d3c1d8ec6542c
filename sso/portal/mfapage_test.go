package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/portal"
)

func (f *fixture) mfaPolicy(org *sso.Organization) sso.MFAPolicy {
	f.t.Helper()
	o, err := f.st.GetOrg(ctx, org.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return o.Settings.MFA
}

// mfaForm is the policy form with every setting given.
func mfaForm(b *browser, required, grace, trust, stepUp, fallback string) url.Values {
	return b.form("required", required, "grace_period_days", grace, "trust_idp_mfa", trust,
		"step_up_at_idp", stepUp, "step_up_local_fallback", fallback)
}

// TestMFAPolicyPageStrengthenSaves: the page shows the policy (the default
// grace period included); raising it saves at once, is audited without
// "weakened", and leaves the other organization alone.
func TestMFAPolicyPageStrengthenSaves(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	if r := b.get("/sso"); !strings.Contains(r.Body, `/portal/mfa"`) {
		t.Fatal("the single sign-on page does not link to the multi-factor policy")
	}
	r := b.get("/mfa")
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="grace_period_days" value="7"`) ||
		!strings.Contains(r.text(), "Require a second factor") {
		t.Fatalf("page: %d %s", r.Status, r.Body)
	}
	if r = b.post("/mfa", mfaForm(b, "true", "3", "false", "false", "false")); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	if p := f.mfaPolicy(f.orgA); !p.Required || p.GracePeriod != 72*time.Hour || p.TrustIdPMFA {
		t.Fatalf("stored %+v", p)
	}
	evs := f.events(f.orgA, admin.EventMFAPolicyChanged)
	if len(evs) != 1 || evs[0].Details["required"] != "true" || evs[0].Details["grace_period_days"] != "3" || evs[0].Details["weakened"] != "" {
		t.Fatalf("audit: %+v", evs)
	}
	if r = b.get("/mfa?done=saved"); !strings.Contains(r.Body, `value="3"`) || !strings.Contains(r.text(), "Changes saved") {
		t.Fatalf("after save: %s", r.text())
	}
	if p := f.mfaPolicy(f.orgB); p.Required {
		t.Fatal("another organization's policy changed")
	}
}

// TestMFAPolicyPageWeakeningNeedsConfirmation: each weakening change shows
// a confirmation naming what it lowers and stores nothing until confirmed;
// confirmed, it is audited as weakening.
func TestMFAPolicyPageWeakeningNeedsConfirmation(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	if r := b.post("/mfa", mfaForm(b, "true", "3", "false", "false", "false")); r.Status != http.StatusSeeOther {
		t.Fatalf("setup: %d", r.Status)
	}
	form := mfaForm(b, "false", "30", "true", "true", "true")
	r := b.post("/mfa", form)
	for _, want := range []string{"Lower the multi-factor policy?", "no longer need a second factor", "for longer",
		"its MFA rules become yours", "instead of passing your identity provider's own rules", "Save the weaker policy"} {
		if !strings.Contains(r.text(), want) {
			t.Fatalf("confirmation lacks %q: %d %s", want, r.Status, r.text())
		}
	}
	if p := f.mfaPolicy(f.orgA); !p.Required || p.TrustIdPMFA || p.GracePeriod != 72*time.Hour {
		t.Fatalf("stored before confirmation: %+v", p)
	}
	form.Set("confirmed", "yes")
	if r = b.post("/mfa", form); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d %s", r.Status, r.text())
	}
	if p := f.mfaPolicy(f.orgA); p.Required || !p.TrustIdPMFA || !p.StepUpAtIdP || !p.StepUpLocalFallback || p.GracePeriod != 30*24*time.Hour {
		t.Fatalf("stored %+v", p)
	}
	evs := f.events(f.orgA, admin.EventMFAPolicyChanged)
	if len(evs) != 2 || evs[len(evs)-1].Details["weakened"] != "required,grace_period_days,trust_idp_mfa,step_up_local_fallback" {
		t.Fatalf("audit: %+v", evs)
	}
}

// TestMFAPolicyPageRefusals: the admin API's checks reach the page with
// the setting named and nothing stored; a link without the single sign-on
// section cannot open or post it.
func TestMFAPolicyPageRefusals(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"step-up-without-trust", mfaForm(b, "true", "7", "false", "true", "false"), "“Ask the identity provider again for sensitive actions” could not be saved: it needs “Count the identity provider's second factor” set to Yes"},
		{"fallback-without-step-up", mfaForm(b, "true", "7", "false", "false", "true"), "“Offer a second factor set up here when the identity provider refuses” could not be saved"},
		{"grace-not-a-number", mfaForm(b, "true", "a week", "false", "false", "false"), "must be a whole number from 1 to 90"},
		{"grace-too-long", mfaForm(b, "true", "365", "false", "false", "false"), "must be a whole number from 1 to 90"},
		{"grace-zero", mfaForm(b, "true", "0", "false", "false", "false"), "must be a whole number from 1 to 90"},
	} {
		tc.form["confirmed"] = []string{"yes"}
		r := b.post("/mfa", tc.form)
		if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), tc.want) || !strings.Contains(r.Body, `aria-invalid="true"`) {
			t.Errorf("%s: %d %s", tc.name, r.Status, r.text())
		}
	}
	if p := f.mfaPolicy(f.orgA); p != (sso.MFAPolicy{}) {
		t.Fatalf("refused changes stored: %+v", p)
	}
	dom, _ := f.open(f.orgA, portal.SectionDomains)
	if r := dom.get("/mfa"); r.Status != http.StatusForbidden {
		t.Fatalf("a link without the SSO section opened the page: %d", r.Status)
	}
	if r := dom.post("/mfa", mfaForm(dom, "false", "90", "true", "false", "false")); r.Status != http.StatusForbidden {
		t.Fatalf("a link without the SSO section posted: %d", r.Status)
	}
	bad := mfaForm(b, "true", "7", "false", "false", "false")
	bad["csrf"] = []string{"wrong"}
	if r := b.post("/mfa", bad); r.Status != http.StatusForbidden {
		t.Fatalf("without the session token: %d", r.Status)
	}
	if p := f.mfaPolicy(f.orgA); p != (sso.MFAPolicy{}) {
		t.Fatalf("refused posts stored: %+v", p)
	}
}
