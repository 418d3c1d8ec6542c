package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/portal"
)

// TestSignInMethodsPage: the page lists the ways the plan includes and
// names the ones it lacks; choosing some stores them for the session's
// organization only (audited); an empty choice is refused with a message
// that says what to do and changes nothing; a way outside the plan,
// posted by hand, is refused; "every way" goes back to the plan's set;
// a link without the SSO section cannot change it.
func TestSignInMethodsPage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	o, _ := f.st.GetOrg(ctx, f.orgA.ID)
	o.Settings.Features = o.Settings.Features.With("passkey", "email_code")
	if err := f.st.UpdateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	stored := func(id string) []sso.AuthMethod {
		o, err := f.st.GetOrg(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return o.Settings.SignInMethods
	}
	b, _ := f.open(f.orgA, portal.SectionSSO)
	if r := b.get("/sso"); !strings.Contains(r.text(), "ways to sign in") {
		t.Fatalf("the SSO page does not link the sign-in methods page: %s", r.text())
	}
	r := b.get("/sign-in-methods")
	for _, want := range []string{"Password", "Passkey", "Code by email", "Your plan does not include: Sign-in link by email, Google, Microsoft or GitHub account"} {
		if r.Status != http.StatusOK || !strings.Contains(r.text(), want) {
			t.Fatalf("page lacks %q: %d %s", want, r.Status, r.text())
		}
	}
	form := b.form("choice", "some")
	form["method"] = []string{"passkey", "email_code"}
	if r := b.post("/sign-in-methods", form); r.Status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.Status, r.text())
	}
	if got := stored(f.orgA.ID); len(got) != 2 || got[0] != sso.AuthPasskey || got[1] != sso.AuthEmailCode {
		t.Fatalf("stored %v, want passkey,email_code", got)
	}
	if stored(f.orgB.ID) != nil {
		t.Fatal("another organization changed")
	}
	evs := f.events(f.orgA, admin.EventOrgUpdated)
	if len(evs) != 1 || evs[0].Details["field"] != "sign_in_methods" || evs[0].Details["to"] != "passkey,email_code" {
		t.Fatalf("audit: %+v", evs)
	}
	if r := b.get("/sign-in-methods?done=saved"); !strings.Contains(r.Body, `value="passkey" checked`) || strings.Contains(r.Body, `value="password" checked`) ||
		!strings.Contains(r.Body, `value="some" checked`) || !strings.Contains(r.text(), "Changes saved") {
		t.Fatalf("page after saving: %s", r.Body)
	}

	r = b.post("/sign-in-methods", b.form("choice", "some"))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "Choose at least one way to sign in") {
		t.Fatalf("empty choice: %d %s", r.Status, r.text())
	}
	outside := b.form("choice", "some")
	outside["method"] = []string{"social"}
	r = b.post("/sign-in-methods", outside)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.text(), "plan does not include") {
		t.Fatalf("a way outside the plan: %d %s", r.Status, r.text())
	}
	if got := stored(f.orgA.ID); len(got) != 2 {
		t.Fatalf("a refused choice was stored: %v", got)
	}

	if r := b.post("/sign-in-methods", b.form("choice", "all")); r.Status != http.StatusSeeOther || stored(f.orgA.ID) != nil {
		t.Fatalf("every way: %d, stored %v", r.Status, stored(f.orgA.ID))
	}
	other, _ := f.open(f.orgA, portal.SectionDomains)
	if r := other.post("/sign-in-methods", url.Values{"choice": {"some"}, "method": {"password"}}); r.Status != http.StatusForbidden || stored(f.orgA.ID) != nil {
		t.Fatalf("a link without the SSO section: %d, stored %v", r.Status, stored(f.orgA.ID))
	}
}
