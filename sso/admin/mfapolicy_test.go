package admin_test

import (
	"testing"

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
	code, m = f.json(a, "PUT", "/mfa-policy", `{"required":true,"trust_idp_mfa":true,"step_up_at_idp":true,"step_up_local_fallback":true}`)
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
	if code, _ = f.json(f.orgB, "PUT", "/mfa-policy", `{"trust_idp_mfa":true}`); code != 200 {
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
		{`{"step_up":true}`, ""},
	} {
		code, m := f.json(a, "PUT", "/mfa-policy", tc.body)
		if code != 400 || (tc.field != "" && (m["field"] != tc.field || m["error"] != "invalid_input")) {
			t.Errorf("%s: %d %v, want 400 naming %q", tc.body, code, m, tc.field)
		}
	}
	// Turning off trust while step-up at the IdP is on is refused too.
	if code, _ := f.json(a, "PUT", "/mfa-policy", `{"trust_idp_mfa":true,"step_up_at_idp":true}`); code != 200 {
		t.Fatalf("valid: %d", code)
	}
	if code, m := f.json(a, "PUT", "/mfa-policy", `{"trust_idp_mfa":false}`); code != 400 || m["field"] != "step_up_at_idp" {
		t.Fatalf("untrust under step-up: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); !o.Settings.MFA.TrustIdPMFA || o.Settings.MFA.Required {
		t.Fatalf("refused changes stored: %+v", o.Settings.MFA)
	}
}
