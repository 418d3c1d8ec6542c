package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
)

// TestRefusedSwitchesMakeAFailureBurst: a session of acme that keeps
// trying to enter globex, which enforces SSO, is refused every time, and
// the refusals (failed logins of globex) reach globex's
// login.failure_burst like failed sign-ins do, so the security team's
// webhook or SIEM hears of the attempt.
func TestRefusedSwitchesMakeAFailureBurst(t *testing.T) {
	d := newSwitchDemo(t)
	app, globex := d.app, d.globex
	ctx := context.Background()
	globex.Settings.SSOEnforced, globex.Settings.Features = true, globex.Settings.Features.With("enforce_sso")
	if err := app.store.UpdateOrg(ctx, globex); err != nil {
		t.Fatal(err)
	}
	bursts := func() []*sso.Event {
		evs, err := app.store.ListEvents(ctx, sso.EventQuery{OrgID: globex.ID, Type: audit.EventLoginFailureBurst})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	for i := 1; i <= audit.DefaultBurstThreshold; i++ {
		if n := len(bursts()); n != 0 {
			t.Fatalf("a burst after %d refused switches, want none before %d", i-1, audit.DefaultBurstThreshold)
		}
		res := d.switchTo("globex")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/sso/login/globex") {
			t.Fatalf("switch %d: %d %s, want a refusal sending her to globex's login", i, res.StatusCode, res.Header.Get("Location"))
		}
	}
	evs := bursts()
	if len(evs) != 1 || evs[0].Reason != "failed_logins" || evs[0].Target.ID != globex.ID {
		t.Fatalf("bursts %+v, want one login.failure_burst of globex", evs)
	}
	failed, err := app.store.ListEvents(ctx, sso.EventQuery{OrgID: globex.ID, Type: sso.EventLoginFailed})
	if err != nil || len(failed) != audit.DefaultBurstThreshold || failed[0].Reason != "org_switch_sso_required" {
		t.Fatalf("%d failed logins of globex (%v), want %d refused switches", len(failed), err, audit.DefaultBurstThreshold)
	}
}
