package portal_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/portal"
)

// TestDomainPolicyWeakeningNeedsConfirmation: allowing sign-in with an
// email outside the verified domains is shown on the domains page, needs a
// confirmation that says what it weakens, is audited as weakening and
// touches only the session's organization; turning it off needs none.
func TestDomainPolicyWeakeningNeedsConfirmation(t *testing.T) {
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionDomains)
	allowed := func(id string) bool {
		o, err := f.st.GetOrg(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return o.Settings.AllowUnverifiedEmailDomains
	}
	if r := b.get("/domains"); !strings.Contains(r.text(), "Only email addresses in your verified domains can sign in") {
		t.Fatalf("domains page: %s", r.text())
	}
	form := b.form("allow_unverified_email_domains", "true")
	r := b.post("/domains/policy", form)
	if r.Status != http.StatusOK || !strings.Contains(r.text(), "This lowers your organization's security") ||
		!strings.Contains(r.text(), "Allow other email domains") {
		t.Fatalf("no confirmation: %d %s", r.Status, r.text())
	}
	if allowed(f.orgA.ID) {
		t.Fatal("stored before confirmation")
	}
	form.Set("confirmed", "yes")
	if r = b.post("/domains/policy", form); r.Status != http.StatusSeeOther {
		t.Fatalf("confirmed: %d %s", r.Status, r.text())
	}
	if !allowed(f.orgA.ID) || allowed(f.orgB.ID) {
		t.Fatalf("stored: A %v, B %v; want only A", allowed(f.orgA.ID), allowed(f.orgB.ID))
	}
	evs := f.events(f.orgA, admin.EventOrgUpdated)
	if len(evs) != 1 || evs[0].Details["field"] != "allow_unverified_email_domains" || evs[0].Details["weakened"] != "true" {
		t.Fatalf("audit: %+v", evs)
	}
	if r := b.get("/domains"); !strings.Contains(r.text(), "Members may sign in through your single sign-on with an email address outside") {
		t.Fatalf("domains page after the change: %s", r.text())
	}
	if r = b.post("/domains/policy", b.form("allow_unverified_email_domains", "false")); r.Status != http.StatusSeeOther || allowed(f.orgA.ID) {
		t.Fatalf("turning it off: %d, stored %v", r.Status, allowed(f.orgA.ID))
	}
	// A link without the domains section cannot change it.
	other, _ := f.open(f.orgA, portal.SectionSSO)
	if r := other.post("/domains/policy", other.form("allow_unverified_email_domains", "true", "confirmed", "yes")); r.Status != http.StatusForbidden || allowed(f.orgA.ID) {
		t.Fatalf("a link without the domains section: %d, stored %v", r.Status, allowed(f.orgA.ID))
	}
}
