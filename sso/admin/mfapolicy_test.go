package admin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

func TestMFAPolicySetReadBackAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	code, m := f.json(a, "GET", "/mfa-policy", "")
	if code != 200 || m["trust_idp_mfa"] != false || m["step_up_at_idp"] != false || m["step_up_local_fallback"] != false || m["required"] != false {
		t.Fatalf("default: %d %v", code, m)
	}
	code, m = f.json(a, "PUT", "/mfa-policy", `{"required":true,"trust_idp_mfa":true,"step_up_at_idp":true,"step_up_local_fallback":true,"confirm":true}`)
	if code != 200 || m["trust_idp_mfa"] != true || m["step_up_at_idp"] != true || m["step_up_local_fallback"] != true || m["required"] != true {
		t.Fatalf("set: %d %v", code, m)
	}
	o, err := f.st.GetOrg(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := o.Settings.MFA; !p.Required || !p.TrustIdPMFA || !p.StepUpAtIdP || !p.StepUpLocalFallback || p.ChangedAt.IsZero() {
		t.Fatalf("stored policy %+v", p)
	}
	_, m = f.json(a, "GET", "/mfa-policy", "")
	if m["step_up_at_idp"] != true {
		t.Fatalf("read back: %v", m)
	}
	evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: admin.EventMFAPolicyChanged})
	if len(evs) != 1 || evs[0].Details["step_up_at_idp"] != "true" || evs[0].Details["trust_idp_mfa"] != "true" || evs[0].Actor.Type != sso.ActorAdmin {
		t.Fatalf("audit: %+v", evs)
	}
	// Absent fields are kept; an unchanged policy records nothing.
	if code, m = f.json(a, "PUT", "/mfa-policy", `{}`); code != 200 || m["step_up_at_idp"] != true {
		t.Fatalf("empty put: %d %v", code, m)
	}
	if evs, _ = f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: admin.EventMFAPolicyChanged}); len(evs) != 1 {
		t.Fatalf("%d events after a no-op", len(evs))
	}
	// Another organization's policy is its own.
	if _, m = f.json(f.orgB, "GET", "/mfa-policy", ""); m["step_up_at_idp"] != false || m["required"] != false {
		t.Fatalf("org B sees %v", m)
	}
	if code, _ = f.json(f.orgB, "PUT", "/mfa-policy", `{"trust_idp_mfa":true,"confirm":true}`); code != 200 {
		t.Fatalf("org B put: %d", code)
	}
	if o, _ = f.st.GetOrg(ctx, a.ID); !o.Settings.MFA.StepUpAtIdP || !o.Settings.MFA.Required {
		t.Fatalf("org B's change reached org A: %+v", o.Settings.MFA)
	}
}

func TestMFAPolicyValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	for _, tc := range []struct{ body, field string }{
		{`{"step_up_at_idp":true}`, "step_up_at_idp"},
		{`{"trust_idp_mfa":false,"step_up_at_idp":true}`, "step_up_at_idp"},
		{`{"trust_idp_mfa":true,"step_up_local_fallback":true}`, "step_up_local_fallback"},
		{`{"required":"yes"}`, ""},
		{`{"grace_period_days":0}`, "grace_period_days"},
		{`{"grace_period_days":91}`, "grace_period_days"},
		{`{"grace_period_days":-3}`, "grace_period_days"},
		{`{"grace_period_days":"7"}`, ""},
		{`{"step_up":true}`, ""},
	} {
		code, m := f.json(a, "PUT", "/mfa-policy", tc.body)
		if code != 400 || (tc.field != "" && (m["field"] != tc.field || m["error"] != "invalid_input")) {
			t.Errorf("%s: %d %v, want 400 naming %q", tc.body, code, m, tc.field)
		}
	}
	// Turning off trust while step-up at the IdP is on is refused too.
	if code, _ := f.json(a, "PUT", "/mfa-policy", `{"trust_idp_mfa":true,"step_up_at_idp":true,"confirm":true}`); code != 200 {
		t.Fatalf("valid: %d", code)
	}
	if code, m := f.json(a, "PUT", "/mfa-policy", `{"trust_idp_mfa":false}`); code != 400 || m["field"] != "step_up_at_idp" {
		t.Fatalf("untrust under step-up: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); !o.Settings.MFA.TrustIdPMFA || o.Settings.MFA.Required {
		t.Fatalf("refused changes stored: %+v", o.Settings.MFA)
	}
}

// TestMFAPolicyWeakeningNeedsConfirm: a change that lowers the policy
// (MFA no longer required, a longer grace period, trusting the IdP's MFA,
// the local fallback) is refused without confirm, naming the setting and
// storing nothing; confirmed, it is audited with "weakened". Raising the
// policy needs no confirmation.
func TestMFAPolicyWeakeningNeedsConfirm(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	code, m := f.json(a, "PUT", "/mfa-policy", `{"required":true,"grace_period_days":3}`)
	if code != 200 || m["required"] != true || m["grace_period_days"] != float64(3) {
		t.Fatalf("strengthening: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); o.Settings.MFA.GracePeriod != 72*time.Hour {
		t.Fatalf("grace period stored as %v", o.Settings.MFA.GracePeriod)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"required":false}`, "required"},
		{`{"grace_period_days":30}`, "grace_period_days"},
		{`{"trust_idp_mfa":true}`, "trust_idp_mfa"},
		{`{"trust_idp_mfa":true,"step_up_at_idp":true,"confirm":false}`, "trust_idp_mfa"},
	} {
		code, m := f.json(a, "PUT", "/mfa-policy", tc.body)
		if code != 400 || m["field"] != tc.field || !strings.Contains(m["message"].(string), "confirm") {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.body, code, m, tc.field)
		}
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); !o.Settings.MFA.Required || o.Settings.MFA.TrustIdPMFA || o.Settings.MFA.GracePeriod != 72*time.Hour {
		t.Fatalf("unconfirmed weakening stored: %+v", o.Settings.MFA)
	}
	code, m = f.json(a, "PUT", "/mfa-policy", `{"required":false,"grace_period_days":30,"confirm":true}`)
	if code != 200 || m["required"] != false || m["grace_period_days"] != float64(30) {
		t.Fatalf("confirmed: %d %v", code, m)
	}
	evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: a.ID, Type: admin.EventMFAPolicyChanged})
	last := evs[len(evs)-1]
	if len(evs) != 2 || last.Details["weakened"] != "required,grace_period_days" || last.Details["required"] != "false" ||
		last.Details["grace_period_days"] != "30" || evs[0].Details["weakened"] != "" {
		t.Fatalf("audit: %+v", evs)
	}
	if got := admin.MFAPolicyWeakenings(sso.MFAPolicy{StepUpAtIdP: true, TrustIdPMFA: true},
		sso.MFAPolicy{StepUpAtIdP: true, TrustIdPMFA: true, StepUpLocalFallback: true}); len(got) != 1 || got[0] != "step_up_local_fallback" {
		t.Fatalf("fallback weakening: %v", got)
	}
}
