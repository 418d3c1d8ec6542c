package domains_test

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// TestLostDomainAndItsEventCommitTogether: on SQLite and PostgreSQL, when
// the re-check that turns a verified domain's routing off cannot store
// domain.verification_lost, the domain stays verified (the next re-check
// tries again), so the outbox never misses a lost domain; once the event
// can be stored, the domain is marked failed with it.
func TestLostDomainAndItsEventCommitTogether(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]sqlstore.Dialect{"sqlite": sqlstore.SQLite, "postgres": sqlstore.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, db := teststore.SQLWithDB(t, d, nil)
			var mu sync.Mutex
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
			org := &sso.Organization{ID: "org_acme", Slug: "acme", Name: "Acme"}
			if err := st.CreateOrg(ctx, org); err != nil {
				t.Fatal(err)
			}
			trail, _ := audit.New(audit.Config{Store: st, Now: clock})
			res := &ssoenv.FakeResolver{}
			m, err := domains.New(domains.Config{Store: st, Auditor: trail, Resolver: res, Now: clock,
				RecheckInterval: time.Hour, FailureThreshold: 1, GracePeriod: time.Hour, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			dom, err := m.Add(ctx, org.ID, "acme.com")
			if err != nil {
				t.Fatal(err)
			}
			n, v := m.Record(dom)
			res.Set(n, v)
			if _, err := m.Verify(ctx, org.ID, "acme.com"); err != nil {
				t.Fatal(err)
			}
			events := func(typ string) int {
				t.Helper()
				evs, err := st.ListEvents(ctx, sso.EventQuery{OrgID: org.ID, Type: typ})
				if err != nil {
					t.Fatal(err)
				}
				return len(evs)
			}
			if events(domains.EventAdded) != 1 || events(domains.EventVerified) != 1 {
				t.Fatalf("added %d, verified %d events, want one each", events(domains.EventAdded), events(domains.EventVerified))
			}

			res.Set(n) // the record is gone: a first miss, within the grace period
			advance(2 * time.Hour)
			if _, err := m.Recheck(ctx, 10); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.GetDomain(ctx, org.ID, "acme.com"); got.State != sso.DomainVerified || got.ConsecutiveFailures != 1 {
				t.Fatalf("after the first miss: %+v", got)
			}
			testdb.RefuseEvents(t, db, d == sqlstore.Postgres, "refuse_lost", domains.EventLost)
			advance(2 * time.Hour)
			if _, err := m.Recheck(ctx, 10); err != nil {
				t.Fatal(err)
			}
			got, err := st.GetDomain(ctx, org.ID, "acme.com")
			if err != nil || got.State != sso.DomainVerified || got.ConsecutiveFailures != 1 {
				t.Fatalf("domain after a refused domain.verification_lost: %+v %v, want still verified with the first miss only", got, err)
			}
			if events(domains.EventLost) != 0 || events(domains.EventDomainRecheckMissed) != 1 {
				t.Fatalf("events of a re-check that was not stored: lost %d, missed %d", events(domains.EventLost), events(domains.EventDomainRecheckMissed))
			}

			drop := `DROP TRIGGER refuse_lost`
			if d == sqlstore.Postgres {
				drop += ` ON ssokit_events`
			}
			if _, err := db.Exec(drop); err != nil {
				t.Fatal(err)
			}
			advance(2 * time.Hour)
			if _, err := m.Recheck(ctx, 10); err != nil {
				t.Fatal(err)
			}
			if got, _ := st.GetDomain(ctx, org.ID, "acme.com"); got.State != sso.DomainFailed {
				t.Fatalf("domain %+v, want failed", got)
			}
			if events(domains.EventLost) != 1 || events(domains.EventDomainRecheckMissed) != 2 {
				t.Fatalf("lost %d, missed %d events, want 1 and 2", events(domains.EventLost), events(domains.EventDomainRecheckMissed))
			}
		})
	}
}
