package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
)

// TestAdvancedSAMLOwnSLOAndMetadataURLs: an IT admin keeps the single
// logout and metadata URLs the IdP has from the old vendor; another
// organization's connection cannot take the same path (refused next to
// the field, nothing stored), nor a path under the SP's own routes.
func TestAdvancedSAMLOwnSLOAndMetadataURLs(t *testing.T) {
	var sp *saml.SP
	f := newFixture(t, realSAML(t, &sp))
	now := f.clock.Now()
	cert := certPEM(t, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0))
	a := samlConn(t, f, sp, f.orgA, cert, sso.ConnectionDraft)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.post("/connections/"+a.ID+"/advanced", b.form("sp_slo_url", "https://app.example/sso/saml/old/acme/slo",
		"sp_metadata_url", "https://app.example/sso/saml/old/acme/metadata"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	if cfg := storedSAML(t, f, a.ID); cfg.SPSLOURL != "https://app.example/sso/saml/old/acme/slo" || cfg.SPMetadataURL != "https://app.example/sso/saml/old/acme/metadata" {
		t.Fatalf("stored %q %q", cfg.SPSLOURL, cfg.SPMetadataURL)
	}
	if r = b.get("/connections/" + a.ID + "/advanced"); !strings.Contains(r.Body, `name="sp_slo_url" type="url" value="https://app.example/sso/saml/old/acme/slo"`) {
		t.Fatalf("the page does not show the own SLO URL: %s", r.Body)
	}

	other := samlConn(t, f, sp, f.orgB, cert, sso.ConnectionDraft)
	ob, _ := f.open(f.orgB, portal.SectionSSO)
	for _, tc := range []struct{ field, value string }{
		{"sp_slo_url", "https://app.example/sso/saml/old/acme/metadata"},
		{"sp_metadata_url", "https://app.example/sso/saml/slo/" + a.ID},
	} {
		r = ob.post("/connections/"+other.ID+"/advanced", ob.form(tc.field, tc.value))
		if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `name="`+tc.field+`" type="url" value="`+tc.value+`"`) ||
			strings.Count(r.Body, `aria-invalid="true"`) != 1 || (tc.field == "sp_slo_url" && strings.Contains(r.Body, a.ID)) {
			t.Fatalf("%s %s: %d %s", tc.field, tc.value, r.Status, r.text())
		}
	}
	if cfg := storedSAML(t, f, other.ID); cfg.SPSLOURL != "" || cfg.SPMetadataURL != "" {
		t.Fatalf("refused URLs stored: %+v", cfg)
	}
}
