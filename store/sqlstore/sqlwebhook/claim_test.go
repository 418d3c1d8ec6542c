package sqlwebhook_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlwebhook"
)

func stores(t *testing.T) map[string]func(t *testing.T) *sqlwebhook.Store {
	mk := func(t *testing.T, db *sql.DB, d sqlstore.Dialect) *sqlwebhook.Store {
		st, err := sqlstore.New(db, d)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return sqlwebhook.New(st)
	}
	return map[string]func(t *testing.T) *sqlwebhook.Store{
		"sqlite":   func(t *testing.T) *sqlwebhook.Store { return mk(t, testdb.SQLite(t), sqlstore.SQLite) },
		"postgres": func(t *testing.T) *sqlwebhook.Store { return mk(t, testdb.Postgres(t), sqlstore.Postgres) },
	}
}

// TestConcurrentClaims checks that concurrent claimers take disjoint sets
// of due deliveries that together are all of them, that a finish with a
// lost lease is refused but logged, and that a racing fan-out of the same
// batch writes nothing.
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := mk(t)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Microsecond)
			if err := s.CreateEndpoint(ctx, &webhook.Endpoint{ID: "whe_1", OrgID: "org_1", Kind: webhook.KindWebhook, Enabled: true,
				CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			const n = 300
			ds := make([]*webhook.Delivery, n)
			for i := range ds {
				ds[i] = &webhook.Delivery{ID: fmt.Sprintf("whd_%04d", i), EndpointID: "whe_1", OrgID: "org_1", EventID: fmt.Sprintf("evt_%d", i),
					Seq: int64(i + 1), Payload: []byte(`{}`), Status: webhook.StatusPending, NextAttemptAt: now, CreatedAt: now}
			}
			if err := s.FanOut(ctx, "whe_1", 0, n, ds); err != nil {
				t.Fatal(err)
			}
			if err := s.FanOut(ctx, "whe_1", 0, n, ds); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("second fan-out of the batch: %v, want ErrConflict", err)
			}
			var mu sync.Mutex
			seen := map[string]int{}
			var wg sync.WaitGroup
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						got, err := s.ClaimDeliveries(ctx, now, now.Add(time.Minute), 7)
						if err != nil {
							t.Error(err)
							return
						}
						if len(got) == 0 {
							return
						}
						mu.Lock()
						for _, d := range got {
							seen[d.ID]++
						}
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(seen) != n {
				t.Fatalf("%d deliveries claimed, want %d", len(seen), n)
			}
			for id, c := range seen {
				if c != 1 {
					t.Fatalf("delivery %s claimed %d times", id, c)
				}
			}

			// After the lease, another worker takes the delivery over; the
			// first one's late result is logged but does not win.
			later := now.Add(2 * time.Minute)
			again, err := s.ClaimDeliveries(ctx, later, later.Add(time.Minute), 1)
			if err != nil || len(again) != 1 {
				t.Fatalf("claim after lease: %v, %v", again, err)
			}
			stale := *again[0]
			stale.Lease = "stale"
			stale.Status, stale.Attempts = webhook.StatusDelivered, 1
			a := &webhook.Attempt{DeliveryID: stale.ID, EndpointID: "whe_1", Number: 1, At: later, StatusCode: 200, Latency: time.Millisecond}
			if err := s.FinishDelivery(ctx, &stale, a); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("finish with a lost lease: %v, want ErrConflict", err)
			}
			got, err := s.GetDelivery(ctx, stale.ID)
			if err != nil || got.Status != webhook.StatusPending {
				t.Fatalf("delivery after a refused finish: %+v, %v", got, err)
			}
			if as, err := s.ListAttempts(ctx, stale.ID); err != nil || len(as) != 1 || as[0].StatusCode != 200 || as[0].Latency != time.Millisecond {
				t.Fatalf("attempt log %+v, %v: want the late attempt logged", as, err)
			}
		})
	}
}
