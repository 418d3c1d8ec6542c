package domains_test

import (
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/domains"
)

// TestRecheckOfDomainVerifiedElsewhereWaitsItsInterval: a domain an
// organization lost, which another organization then verified, stays
// failed when its own record is still published, and its check is
// recorded: it is checked again after RecheckInterval, not at every wake
// of Run (and Run, draining due domains 100 at a time, would spin on a
// hundred such domains), with one refusal in its organization's trail per
// check.
func TestRecheckOfDomainVerifiedElsewhereWaitsItsInterval(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a, b := e.Org("alpha", nil), e.Org("beta", nil)
	res := &ssoenv.FakeResolver{}
	d := e.Domains(res, func(c *domains.Config) {
		c.RecheckInterval = 24 * time.Hour
		c.FailureThreshold = 1
		c.GracePeriod = time.Hour
	})
	da, _ := d.Add(ctx, a.ID, "shared.example")
	name, va := d.Record(da)
	res.Set(name, va)
	if _, err := d.Verify(ctx, a.ID, "shared.example"); err != nil {
		t.Fatal(err)
	}
	// A's record disappears for long enough: A loses the domain.
	res.Set(name)
	e.Advance(25 * time.Hour)
	if _, err := d.Recheck(ctx, 10); err != nil {
		t.Fatal(err)
	}
	e.Advance(25 * time.Hour)
	if _, err := d.Recheck(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.St.GetDomain(ctx, a.ID, "shared.example"); got.State != sso.DomainFailed {
		t.Fatalf("A's domain %s, want failed", got.State)
	}
	// B proves control and verifies; A's old record is published again
	// beside B's.
	db, _ := d.Add(ctx, b.ID, "shared.example")
	_, vb := d.Record(db)
	res.Set(name, vb)
	if _, err := d.Verify(ctx, b.ID, "shared.example"); err != nil {
		t.Fatal(err)
	}
	res.Set(name, va, vb)
	e.Advance(25 * time.Hour)
	before := len(e.Events(a.ID, domains.EventFailed))
	if n, err := d.Recheck(ctx, 10); err != nil || n != 2 {
		t.Fatalf("recheck: %d domains, %v; want A's and B's", n, err)
	}
	got, _ := e.St.GetDomain(ctx, a.ID, "shared.example")
	if got.State != sso.DomainFailed || !got.LastCheckedAt.Equal(e.Clock().UTC()) {
		t.Fatalf("A's domain after the check: %s, last checked %v; want failed, checked at %v", got.State, got.LastCheckedAt, e.Clock().UTC())
	}
	if ev := e.LastEvent(a.ID, domains.EventFailed); ev == nil || ev.Reason != "claimed_by_other_org" {
		t.Fatalf("A's refusal: %+v", ev)
	}
	// An hour later (Run's wake-up) nothing is due.
	e.Advance(time.Hour)
	if n, err := d.Recheck(ctx, 10); err != nil || n != 0 {
		t.Fatalf("recheck an hour later: %d domains, %v; want none due", n, err)
	}
	if got := len(e.Events(a.ID, domains.EventFailed)) - before; got != 1 {
		t.Fatalf("%d refusals recorded for A, want 1", got)
	}
	if h, err := e.St.FindVerifiedDomain(ctx, "shared.example"); err != nil || h.OrgID != b.ID {
		t.Fatalf("verified holder %+v %v, want B", h, err)
	}
}
