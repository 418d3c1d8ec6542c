package webhook_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// BenchmarkOutboxPostgres measures delivered events per second on
// PostgreSQL: b.N events already in the trail are fanned out and delivered
// by one Dispatcher to a loopback receiver.
//
//	SSOKIT_TEST_POSTGRES=... go test -run '^$' -bench OutboxPostgres -benchmem ./sso/webhook/
func BenchmarkOutboxPostgres(b *testing.B) {
	for _, workers := range []int{8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			be := postgresBackend(b)
			rv := newReceiver(b, nil)
			cfg := config(be, newSealer(b), be.hooks, be.events)
			cfg.Workers = workers
			cfg.PollInterval = time.Millisecond
			d, err := webhook.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			ep, _, err := d.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", URL: rv.srv.URL})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < b.N; i += 8 {
						if err := (recorder{be.events}).Record(ctx, &sso.Event{OrgID: "org_1", Type: "scim.user_updated"}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if _, err := be.events.ListEvents(ctx, sso.EventQuery{OrgID: "org_1", Limit: 1}); err != nil { // seal
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			stop := run(b, d)
			for {
				var n int
				if err := be.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'`, ep.ID).Scan(&n); err != nil {
					b.Fatal(err)
				}
				if n == b.N {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			b.StopTimer()
			stop()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
