package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/sqlstore"
)

func burstStores(t *testing.T) map[string]func(t *testing.T) sso.EventStore {
	mk := func(t *testing.T, st *sqlstore.Store, err error) sso.EventStore {
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}
	return map[string]func(t *testing.T) sso.EventStore{
		"memstore": func(*testing.T) sso.EventStore { return memstore.New() },
		"sqlite": func(t *testing.T) sso.EventStore {
			st, err := sqlstore.New(testdb.SQLite(t), sqlstore.SQLite)
			return mk(t, st, err)
		},
		"postgres": func(t *testing.T) sso.EventStore {
			st, err := sqlstore.New(testdb.Postgres(t), sqlstore.Postgres)
			return mk(t, st, err)
		},
	}
}

// TestLoginFailureBurst: the threshold-th failed login of an organization
// in a window records one login.failure_burst, also when two replicas
// record failures at once; more failures in the window add none; the next
// window gets its own; other organizations and other events do not count.
func TestLoginFailureBurst(t *testing.T) {
	for name, open := range burstStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			var mu sync.Mutex
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			cfg := audit.Config{Store: st, Now: clock, FailureBurst: audit.FailureBurst{Threshold: 5, Window: time.Minute}}
			r1, _ := audit.New(cfg)
			r2, _ := audit.New(cfg)
			fail := func(r *audit.Trail, org string) {
				if err := r.Record(context.Background(), &sso.Event{OrgID: org, Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure,
					Actor: sso.Actor{Type: sso.ActorUser, ID: "u"}}); err != nil {
					t.Error(err)
				}
			}
			bursts := func(org string) []*sso.Event {
				evs, _, err := r1.Query(context.Background(), sso.EventQuery{OrgID: org, Type: audit.EventLoginFailureBurst})
				if err != nil {
					t.Fatal(err)
				}
				return evs
			}
			for range 4 {
				fail(r1, "org_a")
			}
			r1.Record(context.Background(), &sso.Event{OrgID: "org_a", Type: sso.EventLoginSucceeded})
			fail(r1, "org_b")
			if n := len(bursts("org_a")); n != 0 {
				t.Fatalf("%d bursts after 4 failures, want 0", n)
			}
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					fail([]*audit.Trail{r1, r2}[i%2], "org_a")
				}()
			}
			wg.Wait()
			got := bursts("org_a")
			if len(got) != 1 || got[0].Details["threshold"] != "5" || got[0].Details["window_start"] != "2026-03-01T12:00:00Z" ||
				got[0].Actor.Type != sso.ActorSystem {
				t.Fatalf("bursts %+v, want one for the 12:00 window", got)
			}
			if n := len(bursts("org_b")); n != 0 {
				t.Fatalf("org_b: %d bursts after 1 failure", n)
			}
			mu.Lock()
			now = now.Add(time.Minute)
			mu.Unlock()
			for range 5 {
				fail(r2, "org_a")
			}
			if got = bursts("org_a"); len(got) != 2 || got[1].Details["window_start"] != "2026-03-01T12:01:00Z" {
				t.Fatalf("after the next window's failures: %+v", got)
			}
		})
	}
}

// TestEventStoreCountsBursts: a component that appends its events to the
// trail's EventStore directly (the session manager's refused organization
// switches) counts toward the burst like Record; its other events do not,
// and ListEvents is the store's.
func TestEventStoreCountsBursts(t *testing.T) {
	for name, open := range burstStores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			tr, _ := audit.New(audit.Config{Store: st, Now: func() time.Time { return now },
				FailureBurst: audit.FailureBurst{Threshold: 3, Window: time.Minute}})
			es := tr.EventStore()
			ctx := context.Background()
			appendEv := func(i int, typ string) {
				e := &sso.Event{ID: fmt.Sprintf("evt_%s_%d", typ, i), OrgID: "org_b", Time: now, Type: typ, Outcome: sso.OutcomeFailure,
					Reason: "org_switch_sso_required", Actor: sso.Actor{Type: sso.ActorUser, ID: "alice"}}
				if err := es.AppendEvent(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			bursts := func() int {
				evs, err := es.ListEvents(ctx, sso.EventQuery{OrgID: "org_b", Type: audit.EventLoginFailureBurst})
				if err != nil {
					t.Fatal(err)
				}
				return len(evs)
			}
			for i := range 5 {
				appendEv(i, sso.EventSessionRevoked)
			}
			appendEv(0, sso.EventLoginFailed)
			appendEv(1, sso.EventLoginFailed)
			if n := bursts(); n != 0 {
				t.Fatalf("%d bursts after 2 failures and 5 other events, want 0", n)
			}
			appendEv(2, sso.EventLoginFailed)
			if n := bursts(); n != 1 {
				t.Fatalf("%d bursts after 3 failures appended to the EventStore, want 1", n)
			}
		})
	}
}
