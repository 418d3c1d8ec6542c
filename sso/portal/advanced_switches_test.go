package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
)

// TestAdvancedSAMLPolicySwitchesSettable: IdP-initiated sign-in and SHA-1,
// once shown read-only, are settable on the advanced page after a
// confirmation naming the risk; the admin API records the weakening.
func TestAdvancedSAMLPolicySwitchesSettable(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	now := f.clock.Now()
	c := samlConn(t, f, sp, f.orgA, certPEM(t, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)), sso.ConnectionDraft)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.get("/connections/" + c.ID + "/advanced")
	for _, name := range []string{"allow_idp_initiated", "allow_sha1", "allow_response_signature_only", "sign_authn_requests", "require_encrypted_assertions"} {
		if !strings.Contains(r.Body, `name="`+name+`"`) {
			t.Errorf("no %s switch on the page", name)
		}
	}
	if strings.Contains(r.text(), "set by the application's operator") {
		t.Fatal("switches still shown as fixed by the operator")
	}
	form := b.form("allow_idp_initiated", "true", "allow_sha1", "true")
	r = b.post("/connections/"+c.ID+"/advanced", form)
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "replayed") || !strings.Contains(r.text(), "SHA-1 signatures can be forged") ||
		!strings.Contains(r.text(), "Lower security and save") {
		t.Fatalf("no confirmation naming the risks: %d %s", r.Status, r.text())
	}
	if cfg := storedSAML(t, f, c.ID); cfg.AllowIdPInitiated || cfg.AllowSHA1 {
		t.Fatal("weakened before confirmation")
	}
	form.Set("confirmed", "yes")
	if r = b.post("/connections/"+c.ID+"/advanced", form); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d %s", r.Status, r.text())
	}
	if cfg := storedSAML(t, f, c.ID); !cfg.AllowIdPInitiated || !cfg.AllowSHA1 {
		t.Fatalf("not stored: %+v", cfg)
	}
	evs := f.events(f.orgA, portal.EventSecurityWeakened)
	if len(evs) != 1 || evs[0].Details["weakened"] != "allow_idp_initiated,allow_sha1" {
		t.Fatalf("audit: %+v", evs)
	}
	r = b.get("/connections/" + c.ID + "/advanced")
	if !strings.Contains(r.text(), "AllowIdPInitiated accepts unsolicited responses") {
		t.Fatalf("the API's warning is not shown: %s", r.text())
	}
	// A strengthening switch saves without a risk confirmation.
	if r = b.post("/connections/"+c.ID+"/advanced", b.form("sign_authn_requests", "true")); r.Status != http.StatusSeeOther {
		t.Fatalf("strengthening: %d %s", r.Status, r.text())
	}
	if !storedSAML(t, f, c.ID).SignAuthnRequests {
		t.Fatal("sign_authn_requests not stored")
	}
}
