package saml_test

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// setSwitches configures h.conn through ConfigureConnection, the admin
// API's path, with the IdP's manual fields and the given switches, stores
// it and returns the details' warnings and the switches turned on.
func setSwitches(t *testing.T, h *harness, switches map[string]bool) (warnings, weakened []string) {
	t.Helper()
	in := map[string]any{"idp_entity_id": testIdP, "sso_url": "https://idp.example.com/sso",
		"certificates": []string{certPEM(idpKey(t).cert)}}
	for k, v := range switches {
		in[k] = v
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	before := h.conn.Config
	d, err := h.sp.ConfigureConnection(context.Background(), h.conn, raw)
	if err != nil {
		t.Fatalf("configure %s: %v", raw, err)
	}
	if err := h.store.UpdateConnection(context.Background(), h.conn); err != nil {
		t.Fatal(err)
	}
	return d.Warnings, h.sp.Weakened(before, h.conn.Config)
}

func viewOf(t *testing.T, h *harness) map[string]any {
	t.Helper()
	b, err := json.Marshal(h.sp.ConfigView(h.conn))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func hasWarning(ws []string, prefix string) bool {
	return slices.ContainsFunc(ws, func(w string) bool { return strings.HasPrefix(w, prefix) })
}

func TestPolicySwitchIdPInitiatedSetByAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	unsolicited := func() *fixture { return h.fixtureFor(h.conn, "") }
	ws, weak := setSwitches(t, h, nil)
	if hasWarning(ws, "AllowIdPInitiated") || len(weak) != 0 || viewOf(t, h)["allow_idp_initiated"] != false {
		t.Fatalf("default: warnings %q weakened %q view %v", ws, weak, viewOf(t, h))
	}
	h.expectRejected(t, h.post(t, h.conn.ID, unsolicited().encoded(t), ""), saml.ReasonUnsolicited)

	ws, weak = setSwitches(t, h, map[string]bool{"allow_idp_initiated": true})
	if !hasWarning(ws, "AllowIdPInitiated") || !slices.Equal(weak, []string{"allow_idp_initiated"}) || viewOf(t, h)["allow_idp_initiated"] != true {
		t.Fatalf("on: warnings %q weakened %q view %v", ws, weak, viewOf(t, h))
	}
	h.expectAccepted(t, h.post(t, h.conn.ID, unsolicited().encoded(t), ""))

	// Absent keeps the setting; a second save does not weaken again.
	if _, weak = setSwitches(t, h, nil); len(weak) != 0 || !saml.ConfigOf(h.conn).AllowIdPInitiated {
		t.Fatalf("absent: weakened %q config %+v", weak, saml.ConfigOf(h.conn))
	}
	setSwitches(t, h, map[string]bool{"allow_idp_initiated": false})
	h.expectRejectedAfter(t, h.post(t, h.conn.ID, unsolicited().encoded(t), ""), saml.ReasonUnsolicited)
}

func TestPolicySwitchSHA1SetByAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha1 := func(f *fixture) { f.sha1 = true }
	setSwitches(t, h, nil)
	h.expectRejected(t, h.login(t, h.conn, sha1), saml.ReasonWeakAlgorithm)
	ws, weak := setSwitches(t, h, map[string]bool{"allow_sha1": true})
	if !hasWarning(ws, "AllowSHA1") || !slices.Equal(weak, []string{"allow_sha1"}) || viewOf(t, h)["allow_sha1"] != true {
		t.Fatalf("on: warnings %q weakened %q", ws, weak)
	}
	h.expectAccepted(t, h.login(t, h.conn, sha1))
	setSwitches(t, h, map[string]bool{"allow_sha1": false})
	h.expectRejectedAfter(t, h.login(t, h.conn, sha1), saml.ReasonWeakAlgorithm)
}

func TestPolicySwitchResponseSignatureOnlySetByAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	responseOnly := func(f *fixture) { f.signAssertion, f.signResponse = false, true }
	setSwitches(t, h, nil)
	h.expectRejected(t, h.login(t, h.conn, responseOnly), saml.ReasonSignatureMissing)
	ws, weak := setSwitches(t, h, map[string]bool{"allow_response_signature_only": true})
	if !hasWarning(ws, "AllowResponseSignatureOnly") || !slices.Equal(weak, []string{"allow_response_signature_only"}) ||
		viewOf(t, h)["allow_response_signature_only"] != true {
		t.Fatalf("on: warnings %q weakened %q", ws, weak)
	}
	h.expectAccepted(t, h.login(t, h.conn, responseOnly))
}

func TestPolicySwitchRequireEncryptedAssertionsSetByAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ws, weak := setSwitches(t, h, map[string]bool{"require_encrypted_assertions": true})
	if len(ws) != 0 || len(weak) != 0 || viewOf(t, h)["require_encrypted_assertions"] != true {
		t.Fatalf("strengthening: warnings %q weakened %q", ws, weak)
	}
	h.expectRejected(t, h.login(t, h.conn, nil), saml.ReasonEncryptionRequired)
	h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.encrypt = "aes256-gcm" }))
}

func TestPolicySwitchSignAuthnRequestsSetByAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	signed := func() bool {
		t.Helper()
		resp, err := h.client.Get(h.srv.URL + "/sso/saml/login/" + h.conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("SAMLRequest") == "" {
			t.Fatalf("login: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		return loc.Query().Get("Signature") != "" && loc.Query().Get("SigAlg") != ""
	}
	setSwitches(t, h, map[string]bool{"sign_authn_requests": false})
	if signed() {
		t.Fatal("AuthnRequest signed with sign_authn_requests off")
	}
	setSwitches(t, h, map[string]bool{"sign_authn_requests": true})
	if !signed() || viewOf(t, h)["sign_authn_requests"] != true {
		t.Fatalf("AuthnRequest not signed with sign_authn_requests on (view %v)", viewOf(t, h))
	}
}

// A weakening switch on a brand-new connection (no earlier configuration)
// counts as weakened.
func TestWeakenedNewConnection(t *testing.T) {
	h := newHarness(t)
	if w := h.sp.Weakened(nil, &saml.ConnectionConfig{AllowSHA1: true, SignAuthnRequests: true}); !slices.Equal(w, []string{"allow_sha1"}) {
		t.Fatalf("weakened %q", w)
	}
	var _ sso.ProtocolConfig = saml.ConfigOf(h.conn)
}
