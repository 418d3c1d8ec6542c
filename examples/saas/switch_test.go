package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// switchDemo is the demo with alice signed in to acme through acme's IdP
// and also a viewer of globex, and switchTo, which posts her switch to the
// organization of a slug without following the answer's redirect.
type switchDemo struct {
	app      *App
	base     string
	b        *http.Client
	globex   *sso.Organization
	switchTo func(slug string) *http.Response
}

func newSwitchDemo(t *testing.T) *switchDemo {
	t.Helper()
	app, base := startDemo(t, "")
	ctx := context.Background()
	globex, err := app.store.GetOrgBySlug(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := loginAs(t, base, "alice@acme.test")
	u, err := app.store.FindVerifiedDomain(ctx, "acme.test")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := app.store.FindMemberByEmail(ctx, u.OrgID, "alice@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := app.store.CreateMembership(ctx, &sso.Membership{OrgID: globex.ID, UserID: alice.UserID, Roles: []string{"viewer"},
		Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{Jar: b.Client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	switchTo := func(slug string) *http.Response {
		req, _ := http.NewRequest("POST", base+"/account/switch", strings.NewReader(url.Values{"org": {slug}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	return &switchDemo{app: app, base: base, b: b.Client, globex: globex, switchTo: switchTo}
}

// TestTM9_DemoOrgSwitch: alice signs in to acme through acme's IdP and is
// also a member of globex. While globex does not enforce SSO the switch
// goes through as an org_switch session with globex's roles; once globex
// enforces SSO the switch sends her to globex's own login instead, and her
// acme session is left as it was.
func TestTM9_DemoOrgSwitch(t *testing.T) {
	d := newSwitchDemo(t)
	app, base, globex, switchTo := d.app, d.base, d.globex, d.switchTo
	ctx := context.Background()
	dashboard := func() string {
		res, err := d.b.Get(base + "/dashboard")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return string(body)
	}
	if page := dashboard(); !strings.Contains(page, `id="switch-globex"`) {
		t.Fatal("dashboard does not offer the switch to globex")
	}

	globex.Settings.SSOEnforced, globex.Settings.Features = true, globex.Settings.Features.With("enforce_sso")
	if err := app.store.UpdateOrg(ctx, globex); err != nil {
		t.Fatal(err)
	}
	res := switchTo("globex")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/sso/login/globex?return_to=%2Fdashboard" {
		t.Fatalf("switch into SSO-enforcing globex: %d %s, want 303 to globex's login", res.StatusCode, res.Header.Get("Location"))
	}
	if page := dashboard(); !strings.Contains(page, "<code>acme</code>") {
		t.Fatal("the acme session did not survive a refused switch")
	}

	globex.Settings.SSOEnforced = false
	if err := app.store.UpdateOrg(ctx, globex); err != nil {
		t.Fatal(err)
	}
	if res := switchTo("globex"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/dashboard" {
		t.Fatalf("switch into globex: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	page := dashboard()
	if !strings.Contains(page, "<code>globex</code>") || !strings.Contains(page, "org_switch") || !strings.Contains(page, "viewer") {
		t.Fatalf("after the switch the dashboard shows:\n%s", page)
	}
	if res := switchTo("initech"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("switch to an unknown organization: %d, want 404", res.StatusCode)
	}
}
