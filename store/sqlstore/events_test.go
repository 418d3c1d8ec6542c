package sqlstore_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// replicaDBs opens n independent *sql.DB handles on one fresh, migrated
// database of each dialect, as n replicas of an application would.
func replicaDBs(t *testing.T, n int) map[string]func(t *testing.T) ([]*sql.DB, sqlstore.Dialect, string, driver.Driver) {
	return map[string]func(t *testing.T) ([]*sql.DB, sqlstore.Dialect, string, driver.Driver){
		"sqlite": func(t *testing.T) ([]*sql.DB, sqlstore.Dialect, string, driver.Driver) {
			dsn := sqlstore.SQLiteDSN(filepath.Join(t.TempDir(), "replicas.db"))
			var dbs []*sql.DB
			for range n {
				dbs = append(dbs, sqlOpen(t, "sqlite", dsn))
			}
			return dbs, sqlstore.SQLite, dsn, &sqlite.Driver{}
		},
		"postgres": func(t *testing.T) ([]*sql.DB, sqlstore.Dialect, string, driver.Driver) {
			db, dsn := testdb.PostgresSchema(t)
			dbs := []*sql.DB{db}
			for range n - 1 {
				dbs = append(dbs, sqlOpen(t, "pgx", dsn))
			}
			return dbs, sqlstore.Postgres, dsn, stdlib.GetDefaultDriver()
		},
	}
}

// TestAppendEventIsOneStatement counts, at the driver, what AppendEvent
// sends: one INSERT outside a transaction, nothing about the chain head.
func TestAppendEventIsOneStatement(t *testing.T) {
	t.Parallel()
	for name, mk := range replicaDBs(t, 1) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dbs, d, dsn, drv := mk(t)
			open(t, dbs[0], d) // migrate
			var mu sync.Mutex
			var seen []string
			counted := sql.OpenDB(hookConnector{dsn: dsn, d: drv, beforeExec: func(q string) {
				mu.Lock()
				seen = append(seen, strings.Join(strings.Fields(q), " "))
				mu.Unlock()
			}})
			t.Cleanup(func() { counted.Close() })
			st, err := sqlstore.New(counted, d)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for i := range 3 {
				mu.Lock()
				seen = nil
				mu.Unlock()
				if err := st.AppendEvent(ctx, &sso.Event{ID: fmt.Sprintf("e%d", i), OrgID: "org_1", Time: time.Now(), Type: sso.EventLoginSucceeded}); err != nil {
					t.Fatal(err)
				}
				mu.Lock()
				got := seen
				mu.Unlock()
				if len(got) != 1 || !strings.HasPrefix(got[0], "INSERT INTO ssokit_events ") {
					t.Errorf("append %d sent %d statements, want one INSERT INTO ssokit_events: %q", i, len(got), got)
				}
			}
		})
	}
}

// TestSealersOnReplicas runs appenders and a background sealer (audit
// Trail.Run) on each of three replicas of one database at once, then checks
// that the sealers shared the work without forking a chain or losing an
// event, and that they left little for readers to seal.
func TestSealersOnReplicas(t *testing.T) {
	t.Parallel()
	for name, mk := range replicaDBs(t, 3) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dbs, d, _, _ := mk(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			orgs := []string{"org_a", "org_b"}
			var stores []*sqlstore.Store
			var bg sync.WaitGroup
			var sealed atomic.Int64
			for _, db := range dbs {
				st := open(t, db, d)
				stores = append(stores, st)
				tr, err := audit.New(audit.Config{Store: countingSealer{st, &sealed}, SealInterval: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				bg.Go(func() { _ = tr.Run(ctx) })
			}
			var mu sync.Mutex
			acked := map[string]string{}
			var wg sync.WaitGroup
			for r, st := range stores {
				for g := range 4 {
					wg.Go(func() {
						for i := range 60 {
							id, org := fmt.Sprintf("r%d-g%d-%d", r, g, i), orgs[(g+i)%2]
							if err := st.AppendEvent(ctx, &sso.Event{ID: id, OrgID: org, Time: time.Now(), Type: sso.EventLoginSucceeded}); err != nil {
								t.Error(err)
								return
							}
							mu.Lock()
							acked[id] = org
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			// Give the sealers a moment to catch up, then stop them.
			deadline := time.Now().Add(5 * time.Second)
			for sealed.Load() < int64(len(acked)) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			bg.Wait()
			if sealed.Load() != int64(len(acked)) {
				t.Errorf("the background sealers sealed %d of %d events", sealed.Load(), len(acked))
			}
			for _, org := range orgs {
				evs, err := stores[1].ListEvents(context.Background(), sso.EventQuery{OrgID: org, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				if err := audit.VerifyChain(evs); err != nil {
					t.Errorf("%s: %v", org, err)
				}
				n := 0
				for _, o := range acked {
					if o == org {
						n++
					}
				}
				if len(evs) != n {
					t.Errorf("%s: %d events listed, %d appended", org, len(evs), n)
				}
				for _, e := range evs {
					if acked[e.ID] != org {
						t.Errorf("%s: unexpected event %s", org, e.ID)
					}
				}
			}
		})
	}
}

// countingSealer counts what the sealers of TestSealersOnReplicas seal.
type countingSealer struct {
	*sqlstore.Store
	n *atomic.Int64
}

func (c countingSealer) SealEvents(ctx context.Context) (int, error) {
	n, err := c.Store.SealEvents(ctx)
	c.n.Add(int64(n))
	return n, err
}

// TestSealEventsIsolatesFailures corrupts one organization's unsealed event
// (its details are not JSON): SealEvents still seals the other
// organizations and reports the broken one, and listing the broken one
// fails rather than hiding its event.
func TestSealEventsIsolatesFailures(t *testing.T) {
	t.Parallel()
	for name, mk := range replicaDBs(t, 1) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dbs, d, _, _ := mk(t)
			st := open(t, dbs[0], d)
			ctx := context.Background()
			for i, org := range []string{"org_bad", "org_good", "org_good"} {
				if err := st.AppendEvent(ctx, &sso.Event{ID: fmt.Sprintf("e%d", i), OrgID: org, Time: time.Now(), Type: sso.EventLoginSucceeded}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := dbs[0].Exec(`UPDATE ssokit_events SET details = 'not json' WHERE org_id = 'org_bad'`); err != nil {
				t.Fatal(err)
			}
			n, err := st.SealEvents(ctx)
			if n != 2 || err == nil || !strings.Contains(err.Error(), "org_bad") {
				t.Fatalf("SealEvents = %d, %v; want 2 sealed and an error naming org_bad", n, err)
			}
			evs, err := st.ListEvents(ctx, sso.EventQuery{OrgID: "org_good"})
			if err != nil || len(evs) != 2 || audit.VerifyChain(evs) != nil {
				t.Fatalf("org_good: %d events, %v", len(evs), err)
			}
			if _, err := st.ListEvents(ctx, sso.EventQuery{OrgID: "org_bad"}); err == nil {
				t.Fatal("listing org_bad succeeded, hiding its unsealable event")
			}
		})
	}
}
