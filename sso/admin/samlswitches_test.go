package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// weakenedEvents are the org's security-weakened events' "weakened"
// details, sorted.
func weakenedEvents(t *testing.T, f *fixture, org *sso.Organization) []string {
	t.Helper()
	evs, err := f.st.ListEvents(ctx, sso.EventQuery{OrgID: org.ID, Type: admin.EventConnectionSecurityWeakened})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Details["weakened"])
	}
	sort.Strings(out)
	return out
}

func warningsOf(m map[string]any) string {
	idp, _ := m["idp"].(map[string]any)
	return fmt.Sprint(idp["warnings"])
}

func TestSAMLPolicySwitchesSetReadBackWarnedAudited(t *testing.T) {
	t.Parallel()
	f := importFixture(t)
	a := f.orgA
	md, _ := json.Marshal(importMetadata(t, "https://idp.switches.example"))
	code, m := f.json(a, "POST", "/connections", `{"protocol":"saml","config":{"metadata_xml":`+string(md)+`,"allow_idp_initiated":true}}`)
	if code != 201 || m["saml"].(map[string]any)["allow_idp_initiated"] != true || !strings.Contains(warningsOf(m), "AllowIdPInitiated") {
		t.Fatalf("create with allow_idp_initiated: %d %v", code, m)
	}
	id := m["id"].(string)
	if got := weakenedEvents(t, f, a); len(got) != 1 || got[0] != "allow_idp_initiated" {
		t.Fatalf("weakened events after create: %q", got)
	}

	code, m = f.json(a, "PATCH", "/connections/"+id, `{"config":{"metadata_xml":`+string(md)+`,"allow_sha1":true,"allow_response_signature_only":true,`+
		`"sign_authn_requests":true,"require_encrypted_assertions":true}}`)
	if code != 200 || !strings.Contains(warningsOf(m), "AllowSHA1") || !strings.Contains(warningsOf(m), "AllowResponseSignatureOnly") {
		t.Fatalf("patch switches: %d %v", code, m)
	}
	_, m = f.json(a, "GET", "/connections/"+id, "")
	v := m["saml"].(map[string]any)
	for _, k := range []string{"allow_idp_initiated", "allow_sha1", "allow_response_signature_only", "sign_authn_requests", "require_encrypted_assertions"} {
		if v[k] != true {
			t.Errorf("read back %s = %v, want true", k, v[k])
		}
	}
	if got := weakenedEvents(t, f, a); len(got) != 2 || got[0] != "allow_idp_initiated" || got[1] != "allow_sha1,allow_response_signature_only" {
		t.Fatalf("weakened events after patch: %q", got)
	}

	// Turning switches off (strengthening) records no weakening.
	code, m = f.json(a, "PATCH", "/connections/"+id, `{"config":{"metadata_xml":`+string(md)+`,"allow_sha1":false,"allow_idp_initiated":false,"allow_response_signature_only":false}}`)
	if code != 200 || m["saml"].(map[string]any)["allow_sha1"] != false || strings.Contains(warningsOf(m), "AllowSHA1") {
		t.Fatalf("patch off: %d %v", code, m)
	}
	if got := weakenedEvents(t, f, a); len(got) != 2 {
		t.Fatalf("weakened events after strengthening: %q", got)
	}
	// A switch that is not a boolean is refused by name.
	code, m = f.json(a, "PATCH", "/connections/"+id, `{"config":{"metadata_xml":`+string(md)+`,"allow_sha1":"yes"}}`)
	if code != 400 || !strings.HasPrefix(fmt.Sprint(m["field"]), "config") {
		t.Fatalf("non-boolean switch: %d %v", code, m)
	}
}

func TestSAMLSettingErrorsNameTheSetting(t *testing.T) {
	t.Parallel()
	f := importFixture(t)
	a := f.orgA
	md, _ := json.Marshal(importMetadata(t, "https://idp.fields.example"))
	for _, tc := range []struct{ setting, value, reason string }{
		{"acs_url", `"ftp://elsewhere.example/acs"`, "invalid_acs_url"},
		{"sp_entity_id", `"not a uri"`, "invalid_sp_entity_id"},
		{"mfa_comparison", `"fuzzy"`, "invalid_mfa_comparison"},
		{"mfa_authn_contexts", `["not a uri"]`, "invalid_mfa_authn_contexts"},
	} {
		code, m := f.json(a, "POST", "/connections", `{"protocol":"saml","config":{"metadata_xml":`+string(md)+`,"`+tc.setting+`":`+tc.value+`}}`)
		if code != 400 || m["field"] != "config."+tc.setting || m["error"] != tc.reason || m["detail"] == "" ||
			!strings.HasPrefix(fmt.Sprint(m["message"]), "invalid config."+tc.setting+": ") {
			t.Errorf("%s: %d %v, want 400 %s naming config.%s", tc.setting, code, m, tc.reason, tc.setting)
		}
	}
	// An error about the configuration as a whole still names "config".
	code, m := f.json(a, "POST", "/connections", `{"protocol":"saml","config":{"metadata_url":"http://plain"}}`)
	if code != 400 || m["field"] != "config" {
		t.Fatalf("whole config: %d %v", code, m)
	}
}

// settingConfigurer refuses a setting the way oidc's settings do: a
// *sso.ValidationError whose reason names the setting ("invalid_" +
// name), wrapping sso.ErrInvalidInput.
type settingConfigurer struct{ fakeConfigurer }

func (s *settingConfigurer) ConfigureConnection(context.Context, *sso.Connection, json.RawMessage) (*sso.IdPDetails, error) {
	return nil, &sso.ValidationError{Protocol: "oidc", Reason: "invalid_mfa_acr_values", Want: "absolute values", Got: "a space",
		Err: fmt.Errorf("%w: oidc: mfa_acr_values: a space", sso.ErrInvalidInput)}
}

func TestValidationErrorNamesTheSettingSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *admin.Config) { c.Configurers["oidc"] = &settingConfigurer{fakeConfigurer{"oidc"}} })
	code, m := f.json(f.orgA, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://i","client_id":"c","mfa_acr_values":["a b"]}}`)
	if code != 400 || m["field"] != "config.mfa_acr_values" || m["error"] != "invalid_mfa_acr_values" {
		t.Fatalf("setting sent: %d %v", code, m)
	}
	// A reason naming a setting the request did not carry names "config".
	code, m = f.json(f.orgA, "POST", "/connections", `{"protocol":"oidc","config":{"issuer":"https://i","client_id":"c"}}`)
	if code != 400 || m["field"] != "config" || m["error"] != "invalid_mfa_acr_values" {
		t.Fatalf("setting not sent: %d %v", code, m)
	}
}
