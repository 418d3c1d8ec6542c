package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// failingConfigurer fails the way an IdP does: unreachable, or serving a
// document that does not parse (an error of no known kind).
type failingConfigurer struct{ fakeConfigurer }

func (f *failingConfigurer) ConfigureConnection(ctx context.Context, c *sso.Connection, raw json.RawMessage) (*sso.IdPDetails, error) {
	var in saml.ConnectionInput
	_ = json.Unmarshal(raw, &in)
	switch {
	case strings.Contains(in.MetadataURL, "down.example"):
		return nil, fmt.Errorf("saml: fetch metadata: upstream answered 503 Service Unavailable: %w", sso.ErrUnavailable)
	case strings.Contains(in.MetadataURL, "garbage.example"):
		return nil, errors.New("saml: metadata: XML syntax error on line 1: unexpected EOF")
	case strings.Contains(in.MetadataURL, "issuer.example"):
		return nil, &sso.ValidationError{Protocol: "oidc", Reason: "discovery_issuer_mismatch", Want: "https://a", Got: "https://b"}
	}
	return f.fakeConfigurer.ConfigureConnection(ctx, c, raw)
}

func TestIdPFaultsAnswer502WithCause(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *admin.Config) {
		c.Configurers[saml.Protocol] = &failingConfigurer{fakeConfigurer{saml.Protocol}}
	})
	for _, tc := range []struct{ url, reason, detail string }{
		{"https://down.example/md", "idp_unavailable", "upstream answered 503"},
		{"https://garbage.example/md", "idp_document_invalid", "XML syntax error"},
		{"https://issuer.example/md", "idp_document_invalid", "discovery_issuer_mismatch"},
	} {
		code, m := f.json(f.orgA, "POST", "/connections", `{"protocol":"saml","config":{"metadata_url":"`+tc.url+`"}}`)
		if code != 502 || m["error"] != tc.reason || m["field"] != "config" || !strings.Contains(fmt.Sprint(m["detail"]), tc.detail) {
			t.Errorf("%s: %d %v, want 502 %s naming %q", tc.url, code, m, tc.reason, tc.detail)
		}
	}
	if conns, _ := f.st.ListConnections(ctx, f.orgA.ID); len(conns) != 0 {
		t.Fatalf("a failed configuration stored %d connections", len(conns))
	}
}

func TestInputErrorsNameTheField(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	code, m := f.json(a, "POST", "/connections", `{"protocol":"saml","display_name":"`+strings.Repeat("n", 201)+`"}`)
	if code != 400 || m["error"] != "invalid_input" || m["field"] != "display_name" {
		t.Fatalf("long name: %d %v", code, m)
	}
	code, m = f.json(a, "POST", "/connections", `{"protocol":"saml","config":{"metadata_url":"http://plain"}}`)
	if code != 400 || m["field"] != "config" || !strings.Contains(fmt.Sprint(m["detail"]), "must be https") {
		t.Fatalf("bad config: %d %v", code, m)
	}
	code, m = f.json(a, "POST", "/connections", `{"protocol":"saml","group_roles":[{"group":"","role":"admin"}]}`)
	if code != 400 || m["field"] != "group_roles" {
		t.Fatalf("bad group role: %d %v", code, m)
	}
	for _, tc := range []struct{ method, path, body, field string }{
		{"GET", "/audit?since=yesterday", "", "since"},
		{"GET", "/audit?limit=0", "", "limit"},
		{"GET", "/audit/export?format=xlsx", "", "format"},
		{"PUT", "/enforcement", `{"enabled":"yes"}`, "enabled"},
		{"PUT", "/enforcement", `{}`, "enabled"},
		{"POST", "/connections", `{"protocol":"ldap"}`, "protocol"},
		{"POST", "/scim-tokens/x/rotate", `{"overlap_seconds":-5}`, "overlap_seconds"},
	} {
		code, m := f.json(a, tc.method, tc.path, tc.body)
		if code != 400 || m["error"] != "invalid_input" || m["field"] != tc.field {
			t.Errorf("%s %s %s: %d %v, want 400 naming %s", tc.method, tc.path, tc.body, code, m, tc.field)
		}
	}
	// Input problems without one field at fault still say what is wrong.
	code, m = f.json(a, "POST", "/domains", `{"name":"a.example"}{"name":"b.example"}`)
	if code != 400 || !strings.Contains(fmt.Sprint(m["detail"]), "trailing data") {
		t.Fatalf("trailing data: %d %v", code, m)
	}
}

func TestDraftWithoutIdPSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code, m := f.json(f.orgA, "POST", "/connections", `{"protocol":"saml","display_name":"Okta"}`)
	sp, _ := m["sp"].(map[string]any)
	if code != 201 || m["status"] != "draft" || sp == nil || sp["acs_url"] == "" {
		t.Fatalf("draft: %d %v", code, m)
	}
	id := m["id"].(string)
	code, m = f.json(f.orgA, "POST", "/connections/"+id+"/test", ``)
	if code != 409 || m["error"] != "not_configured" {
		t.Fatalf("test of an unconfigured draft: %d %v", code, m)
	}
	code, m = f.json(f.orgA, "PATCH", "/connections/"+id, `{"config":{"metadata_xml":"<EntityDescriptor/>"}}`)
	if code != 200 || m["saml"] == nil {
		t.Fatalf("configure draft: %d %v", code, m)
	}
}

func TestRotatedSCIMTokensAreTellable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	_, first := f.json(a, "POST", "/scim-tokens", `{"description":"okta"}`)
	code, second := f.json(a, "POST", "/scim-tokens/"+first["id"].(string)+"/rotate", `{"overlap_seconds":3600}`)
	if code != 201 || second["status"] != "current" || second["rotated_from"] != first["id"] {
		t.Fatalf("rotate: %d %v", code, second)
	}
	_, list := f.json(a, "GET", "/scim-tokens", "")
	status := map[string]string{}
	for _, x := range list["tokens"].([]any) {
		tk := x.(map[string]any)
		status[tk["id"].(string)] = tk["status"].(string)
		if tk["id"] == first["id"] && tk["expires_at"] == nil {
			t.Errorf("old token shows no expiry: %v", tk)
		}
	}
	if status[first["id"].(string)] != "old" || status[second["id"].(string)] != "current" {
		t.Fatalf("statuses %v", status)
	}
	if code, _ := f.json(a, "DELETE", "/scim-tokens/"+first["id"].(string), ""); code != 204 {
		t.Fatalf("revoke old: %d", code)
	}
	_, list = f.json(a, "GET", "/scim-tokens", "")
	for _, x := range list["tokens"].([]any) {
		tk := x.(map[string]any)
		if want := map[bool]string{true: "revoked", false: "current"}[tk["id"] == first["id"]]; tk["status"] != want {
			t.Errorf("token %v: status %v, want %s", tk["id"], tk["status"], want)
		}
	}
}

// TestUnknownFieldsAndFiltersAreNamed: a misspelt member of a body (at the
// top or inside an object) and an over-long filter are refused naming the
// very field at fault, so an integrator sees which one to fix; nothing is
// created.
func TestUnknownFieldsAndFiltersAreNamed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.orgA
	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/connections", `{"protocol":"saml","displayname":"Okta"}`, "displayname"},
		{"POST", "/connections", `{"protocol":"saml","attribute_mapping":{"mail":"email"}}`, "mail"},
		{"PATCH", "/org", `{"nam":"Acme"}`, "nam"},
		{"POST", "/domains", `{"name":"a.example","` + strings.Repeat("x", 300) + `":1}`, strings.Repeat("x", 64)},
		{"POST", "/domains", `{"name":"a.example","bad\u0001key":1}`, "badkey"},
		{"GET", "/audit?actor=" + strings.Repeat("a", 129), "", "actor"},
		{"GET", "/audit?type=" + strings.Repeat("a", 129), "", "type"},
	} {
		code, m := f.json(a, tc.method, tc.path, tc.body)
		if code != 400 || m["error"] != "invalid_input" || m["field"] != tc.field {
			t.Errorf("%s %s %.80s: %d %v, want 400 naming %q", tc.method, tc.path, tc.body, code, m, tc.field)
		}
	}
	if conns, _ := f.st.ListConnections(ctx, a.ID); len(conns) != 0 {
		t.Fatalf("a refused request stored %d connections", len(conns))
	}
	if ds, _ := f.st.ListDomains(ctx, a.ID); len(ds) != 0 {
		t.Fatalf("a refused request stored %d domains", len(ds))
	}
}
