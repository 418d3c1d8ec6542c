package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// BenchmarkAppendEventConcurrent appends audit events on PostgreSQL from 16
// (or 4) goroutines, all in one organization or spread over 16, and
// reports appends/s and the p50 and p99 latency of one append, with the
// background sealer running (where the store has one) so its cost counts.
// This isolates what a login storm in one organization asks of the audit
// chain. Use a fixed -benchtime such as 4000x.
func BenchmarkAppendEventConcurrent(b *testing.B) {
	for _, bc := range []struct {
		name       string
		orgs, conc int
	}{
		{"orgs=1/conc=16", 1, 16},
		{"orgs=16/conc=16", 16, 16},
		{"orgs=1/conc=4", 1, 4},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := open(b, testdb.Postgres(b), sqlstore.Postgres)
			st.DB().SetMaxIdleConns(bc.conc + 4)
			ctx, cancel := context.WithCancel(context.Background())
			var bg sync.WaitGroup
			defer func() { cancel(); bg.Wait() }()
			trail, err := audit.New(audit.Config{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			if r, ok := any(trail).(interface{ Run(context.Context) error }); ok {
				bg.Go(func() { _ = r.Run(ctx) })
			}
			// Warm the pool and create each organization's chain.
			for o := range bc.orgs {
				if err := st.AppendEvent(ctx, benchEvent(fmt.Sprintf("warm-%d", o), o)); err != nil {
					b.Fatal(err)
				}
			}
			lat := make([]time.Duration, b.N)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			t0 := time.Now()
			for range bc.conc {
				wg.Go(func() {
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						s := time.Now()
						if err := st.AppendEvent(ctx, benchEvent(fmt.Sprintf("ev-%d", i), i%bc.orgs)); err != nil {
							b.Error(err)
							return
						}
						lat[i] = time.Since(s)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(t0)
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / float64(time.Millisecond) }
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			// Every event is in its chain, whichever way the store seals.
			for o := range bc.orgs {
				if _, err := trail.Verify(context.Background(), fmt.Sprintf("org_%02d", o)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchEvent(id string, org int) *sso.Event {
	return &sso.Event{ID: id, OrgID: fmt.Sprintf("org_%02d", org), Time: time.Now(), Type: sso.EventLoginSucceeded,
		Actor: sso.Actor{Type: sso.ActorUser, ID: "usr_" + id}, Target: sso.Target{Type: "session", ID: "ses_" + id},
		Outcome: sso.OutcomeSuccess, IP: "203.0.113.7", UserAgent: "bench/1", Details: map[string]string{"connection": "conn_1"}}
}
