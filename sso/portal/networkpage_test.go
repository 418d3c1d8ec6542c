package portal_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/sso/portal"
)

// withAllowlist puts the IP allowlist in org's plan.
func (f *fixture) withAllowlist(org *sso.Organization) {
	f.t.Helper()
	o, err := f.st.GetOrg(ctx, org.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	o.Settings.Features = append(o.Settings.Features, sso.FeatureIPAllowlist)
	if err := f.st.UpdateOrg(ctx, o); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) network(org *sso.Organization) sso.NetworkPolicy {
	f.t.Helper()
	o, err := f.st.GetOrg(ctx, org.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return o.Settings.Network
}

func TestNetworkPlanGated(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.get("/network")
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "Your plan does not include the IP allowlist") || strings.Contains(r.Body, `name="allowed_cidrs"`) {
		t.Fatalf("plan without the allowlist: %d %s", r.Status, r.text())
	}
	r = b.post("/network", b.form("allowed_cidrs", "127.0.0.1/32", "break_glass_exempt", "true"))
	if r.Status != http.StatusForbidden || !strings.Contains(r.text(), "Your plan does not include this feature") {
		t.Fatalf("forced save: %d %s", r.Status, r.text())
	}
	if f.network(f.orgA).Restricted() {
		t.Fatal("a list was stored without the plan")
	}
}

func TestNetworkBadEntryNamed(t *testing.T) {
	f := newFixture(t)
	f.withAllowlist(f.orgA)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.post("/network", b.form("allowed_cidrs", "127.0.0.1/32\n10.0.0.0/33", "break_glass_exempt", "true"))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "Entry 2 of the list, “10.0.0.0/33”, is not a network") ||
		!strings.Contains(r.Body, `aria-invalid="true">127.0.0.1/32`+"\n"+`10.0.0.0/33</textarea>`) {
		t.Fatalf("bad entry: %d %s", r.Status, r.Body)
	}
	if f.network(f.orgA).Restricted() {
		t.Fatal("a bad list was stored")
	}
}

func TestNetworkLockoutNeedsConfirmation(t *testing.T) {
	f := newFixture(t)
	f.withAllowlist(f.orgA)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	form := b.form("allowed_cidrs", "203.0.113.0/24", "break_glass_exempt", "true")
	r := b.post("/network", form)
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "Your own address 127.0.0.1 is not in this list") ||
		!strings.Contains(r.text(), "Save and lock myself out") {
		t.Fatalf("no lockout confirmation: %d %s", r.Status, r.text())
	}
	if f.network(f.orgA).Restricted() {
		t.Fatal("stored before confirmation")
	}
	form.Set("confirmed", "yes")
	if r = b.post("/network", form); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d %s", r.Status, r.text())
	}
	if n := f.network(f.orgA); !slices.Equal(n.AllowedCIDRs, []string{"203.0.113.0/24"}) || !n.BreakGlassExempt {
		t.Fatalf("stored %+v", n)
	}
	if evs := f.events(f.orgA, policy.EventNetworkChanged); len(evs) != 1 || evs[0].Details["to"] != "203.0.113.0/24" {
		t.Fatalf("audit: %+v", evs)
	}
	if n := f.network(f.orgB); n.Restricted() {
		t.Fatal("another organization's list changed")
	}
}

func TestNetworkSaveIncludingOwnAddress(t *testing.T) {
	f := newFixture(t)
	f.withAllowlist(f.orgA)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	if r := b.get("/sso"); !strings.Contains(r.Body, `/portal/network"`) {
		t.Fatal("the single sign-on page does not link to the allowed networks")
	}
	r := b.post("/network", b.form("allowed_cidrs", " 127.0.0.0/8 ,\n\n2001:db8::/48\n127.0.0.0/8", "break_glass_exempt", "false"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	if n := f.network(f.orgA); !slices.Equal(n.AllowedCIDRs, []string{"127.0.0.0/8", "2001:db8::/48"}) || n.BreakGlassExempt {
		t.Fatalf("stored %+v", n)
	}
	r = b.get("/network")
	if !strings.Contains(r.Body, ">127.0.0.0/8\n2001:db8::/48</textarea>") || !strings.Contains(r.text(), "You are connected from 127.0.0.1") {
		t.Fatalf("page: %s", r.Body)
	}
	// Emptying the list allows every address again.
	if r = b.post("/network", b.form("allowed_cidrs", "", "break_glass_exempt", "true")); r.Status != http.StatusSeeOther || f.network(f.orgA).Restricted() {
		t.Fatalf("clear: %d", r.Status)
	}
	dom, _ := f.open(f.orgA, portal.SectionDomains)
	if r = dom.get("/network"); r.Status != http.StatusForbidden {
		t.Fatalf("a link without the SSO section: %d", r.Status)
	}
}

// TestSettingsFormsNeedTheSessionToken posts each new form without the
// session's synchronizer token, as a cross-site page would.
func TestSettingsFormsNeedTheSessionToken(t *testing.T) {
	f := newFixture(t)
	f.withAllowlist(f.orgA)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	c := &sso.Connection{ID: "conn_csrf", OrgID: f.orgA.ID, Protocol: "saml", DisplayName: "x", Status: sso.ConnectionDraft}
	if err := f.st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	for path, form := range map[string]url.Values{
		"/network":                        {"allowed_cidrs": {"203.0.113.0/24"}, "confirmed": {"yes"}},
		"/sso/import/apply":               {"rows": {`[{"name":"x","protocol":"saml"}]`}, "confirmed": {"yes"}, "form": {"0123456789abcdef01"}},
		"/connections/conn_csrf/advanced": {"sp_entity_id": {"urn:x"}, "confirmed": {"yes"}},
	} {
		form.Set("csrf", "wrong")
		if r := b.post(path, form); r.Status != http.StatusForbidden || !strings.Contains(r.text(), "This form has expired") {
			t.Errorf("%s without the token: %d", path, r.Status)
		}
	}
	if f.network(f.orgA).Restricted() || len(f.conns(f.orgA)) != 1 {
		t.Fatal("a forged form changed something")
	}
}
