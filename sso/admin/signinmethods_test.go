package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// TestOrgSignInMethods: PATCH /org sign_in_methods narrows the sign-in
// methods within the plan (audited, from and to); a method the plan lacks,
// an unknown name, an empty list or a wrong type is refused naming the
// field and changes nothing; null gives back everything the plan
// includes; another organization is untouched.
func TestOrgSignInMethods(t *testing.T) {
	t.Parallel()
	f := newMemberFixture(t)
	a := f.orgA
	o, _ := f.st.GetOrg(ctx, a.ID)
	o.Settings.Features = sso.Features{"saml", "passkey", "email_code"}
	if err := f.st.UpdateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	code, m := f.as(a, "usr_admin_alpha", "GET", "/org", "")
	if code != http.StatusOK || m["sign_in_methods"] != nil || join(m["plan_sign_in_methods"]) != "password,passkey,email_code" ||
		join(m["allowed_sign_in_methods"]) != "password,passkey,email_code" {
		t.Fatalf("GET /org before: %d %v", code, m)
	}
	code, m = f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"sign_in_methods":["email_code","passkey","passkey"]}`)
	if code != http.StatusOK || join(m["sign_in_methods"]) != "passkey,email_code" || join(m["allowed_sign_in_methods"]) != "passkey,email_code" {
		t.Fatalf("narrowing: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); o.SignInVerdict(sso.AuthPassword) != sso.SignInTurnedOff || o.SignInVerdict(sso.AuthPasskey) != sso.SignInAllowed {
		t.Fatalf("stored choice: %v", o.Settings.SignInMethods)
	}
	evs := f.events(a.ID, admin.EventOrgUpdated)
	if len(evs) != 1 || evs[0].Details["field"] != "sign_in_methods" || evs[0].Details["from"] != "plan" || evs[0].Details["to"] != "passkey,email_code" {
		t.Fatalf("audit of the change: %+v", evs)
	}

	for _, tc := range []struct{ body, problem string }{
		{`{"sign_in_methods":["passkey","social"]}`, `plan does not include "social"`},
		{`{"sign_in_methods":["magic_link"]}`, `plan does not include "magic_link"`},
		{`{"sign_in_methods":["saml"]}`, `"saml" is no sign-in method`},
		{`{"sign_in_methods":[]}`, "name at least one method"},
		{`{"sign_in_methods":"password"}`, "give a list of method names"},
		{`{"sign_in_methods":[1]}`, "give a list of method names"},
	} {
		code, m := f.as(a, "usr_admin_alpha", "PATCH", "/org", tc.body)
		if code != http.StatusBadRequest || m["field"] != "sign_in_methods" || !strings.Contains(m["message"].(string)+" "+str(m["fix"]), tc.problem) {
			t.Errorf("PATCH %s: %d %v; want 400 naming sign_in_methods with %q", tc.body, code, m, tc.problem)
		}
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); methods(o) != "passkey,email_code" {
		t.Fatalf("a refused change was stored: %v", o.Settings.SignInMethods)
	}
	if len(f.events(a.ID, admin.EventOrgUpdated)) != 1 {
		t.Error("a refused change was audited as a change")
	}

	// A Go client's request that leaves SignInMethods nil changes the
	// name only.
	name := "Alpha Renamed"
	body, err := json.Marshal(admin.OrgUpdateRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	if code, m := f.as(a, "usr_admin_alpha", "PATCH", "/org", string(body)); code != http.StatusOK || join(m["sign_in_methods"]) != "passkey,email_code" {
		t.Fatalf("rename by a Go client (%s): %d %v; want the methods unchanged", body, code, m)
	}

	code, m = f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"sign_in_methods":null}`)
	if code != http.StatusOK || m["sign_in_methods"] != nil || join(m["allowed_sign_in_methods"]) != "password,passkey,email_code" {
		t.Fatalf("back to the plan: %d %v", code, m)
	}
	if evs := f.events(a.ID, admin.EventOrgUpdated); len(evs) != 3 {
		t.Errorf("events after resetting: %+v", evs)
	}
	if o, _ := f.st.GetOrg(ctx, f.orgB.ID); o.Settings.SignInMethods != nil {
		t.Error("another organization changed")
	}
}

func join(v any) string {
	l, _ := v.([]any)
	s := make([]string, len(l))
	for i, x := range l {
		s[i], _ = x.(string)
	}
	return strings.Join(s, ",")
}

func str(v any) string { s, _ := v.(string); return s }

func methods(o *sso.Organization) string {
	s := make([]string, len(o.Settings.SignInMethods))
	for i, m := range o.Settings.SignInMethods {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}
