package webhook_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// TestTwoReplicasPostgres runs two Dispatchers on one PostgreSQL schema
// while 10,000 events are appended, and counts what the receiver got: in
// the normal case every event exactly once; with a receiver that fails
// after receipt for some requests, duplicates exactly for those.
func TestTwoReplicasPostgres(t *testing.T) {
	t.Parallel()
	for _, failEvery := range []int{0, 97} {
		t.Run(fmt.Sprintf("fail_after_receipt_every_%d", failEvery), func(t *testing.T) {
			t.Parallel()
			const events = 10000
			b := postgresBackend(t)
			var failedAfterReceipt atomic.Int64
			var mu sync.Mutex
			got := map[string]int{}
			rv := newReceiver(t, func(n int, r *received) int {
				mu.Lock()
				got[r.id]++
				first := got[r.id] == 1
				mu.Unlock()
				// The receiver processed the event, then fails to answer
				// 2xx (a crash after its commit), the first time only.
				if failEvery > 0 && first && (n+1)%failEvery == 0 {
					failedAfterReceipt.Add(1)
					return 500
				}
				return 200
			})
			sealer := newSealer(t)
			var ds []*webhook.Dispatcher
			for range 2 {
				hooks, evs := b.reopen(t)
				cfg := config(b, sealer, hooks, evs)
				cfg.Workers = 16
				d, err := webhook.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				ds = append(ds, d)
			}
			ctx := context.Background()
			ep, secret, err := ds[0].CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				run(t, d)
			}
			// Append while both replicas fan out and deliver.
			start := time.Now()
			defer func() { t.Logf("%s in all", time.Since(start)) }()
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < events; i += 8 {
						e := &sso.Event{OrgID: "org_1", Type: "scim.user_updated", Target: sso.Target{Type: "user", ID: fmt.Sprintf("usr_%d", i)}}
						if err := (recorder{b.events}).Record(ctx, e); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			appended := time.Now()
			waitFor(t, 5*time.Minute, "every event delivered", func() bool {
				var n int
				err := b.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'`, ep.ID).Scan(&n)
				return err == nil && n == events
			})
			t.Logf("delivered %s after the last append", time.Since(appended))
			time.Sleep(100 * time.Millisecond)
			reqs := rv.requests()
			mu.Lock()
			defer mu.Unlock()
			if len(got) != events {
				t.Fatalf("receiver got %d distinct events, want %d: %d lost", len(got), events, events-len(got))
			}
			dups := 0
			for _, n := range got {
				dups += n - 1
			}
			failed := int(failedAfterReceipt.Load())
			if failEvery > 0 && failed == 0 {
				t.Fatal("the receiver never failed after receipt; the test proves nothing")
			}
			if dups != failed || len(reqs) != events+failed {
				t.Fatalf("%d duplicates and %d requests; want %d duplicates (one per failure after receipt) and %d requests",
					dups, len(reqs), failed, events+failed)
			}
			for _, r := range reqs[:50] {
				if err := verify(secret, r); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%d events, %d failures after receipt, %d duplicates", events, failed, dups)
		})
	}
}
