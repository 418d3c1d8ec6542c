package webhook_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso/webhook"
)

// TestSIEMStreamOutage streams an organization's audit events as JSON
// lines from two replicas, takes the collector down (503) for a while,
// restarts the sending processes during the outage, and checks that the collector accepted every
// event exactly once, in Seq order, with no gap.
func TestSIEMStreamOutage(t *testing.T) {
	t.Parallel()
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := mk(t)
			var mu sync.Mutex
			var accepted []webhook.EventData
			down := false
			refused := 0
			var secret string
			rv := newReceiver(t, func(_ int, r *received) int {
				mu.Lock()
				defer mu.Unlock()
				if r.contentType != "application/x-ndjson" || verify(secret, *r) != nil {
					t.Errorf("bad request: content type %q, signature %v", r.contentType, verify(secret, *r))
					return 400
				}
				if down {
					refused++
					return 503
				}
				sc := bufio.NewScanner(bytes.NewReader(r.body))
				for sc.Scan() {
					var e webhook.EventData
					if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
						t.Errorf("line %q: %v", sc.Text(), err)
						return 400
					}
					accepted = append(accepted, e)
				}
				return 200
			})
			sealer := newSealer(t)
			cfg := config(b, sealer, b.hooks, b.events)
			d1, err := webhook.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ep, s, err := d1.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: "org_1", Kind: webhook.KindSIEM, URL: rv.srv.URL, BatchSize: 7})
			mu.Lock()
			secret = s
			mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			count := func() int { mu.Lock(); defer mu.Unlock(); return len(accepted) }
			// Two replicas stream at once; the stream's lease keeps one sender.
			hooksB, eventsB := b.reopen(t)
			d1b, err := webhook.New(config(b, sealer, hooksB, eventsB))
			if err != nil {
				t.Fatal(err)
			}
			stop1, stop1b := run(t, d1), run(t, d1b)
			for range 30 {
				appendEvent(t, b.events, "org_1", "login.succeeded") // a SIEM takes every type
			}
			waitFor(t, 30*time.Second, "30 events streamed", func() bool { return count() == 30 })

			mu.Lock()
			down = true
			mu.Unlock()
			for range 40 {
				appendEvent(t, b.events, "org_1", "scim.user_updated")
			}
			waitFor(t, 30*time.Second, "refused batches", func() bool { mu.Lock(); defer mu.Unlock(); return refused >= 2 })
			stop1() // the senders restart during the outage
			stop1b()
			hooks, events := b.reopen(t)
			d2, err := webhook.New(config(b, sealer, hooks, events))
			if err != nil {
				t.Fatal(err)
			}
			run(t, d2)
			for range 10 {
				appendEvent(t, b.events, "org_1", "domain.verified")
			}
			mu.Lock()
			down = false
			mu.Unlock()
			deadline := time.Now().Add(30 * time.Second)
			for count() < 80 {
				if time.Now().After(deadline) {
					e, err := hooks.GetEndpoint(ctx, ep.ID)
					t.Fatalf("timed out: %d events streamed; endpoint %+v %v; now %s", count(), e, err, time.Now().UTC())
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			if len(accepted) != 80 {
				var seqs []int64
				for _, e := range accepted {
					seqs = append(seqs, e.Seq)
				}
				t.Fatalf("collector accepted %d events, want 80: %v", len(accepted), seqs)
			}
			for i, e := range accepted {
				if e.Seq != int64(i+1) || e.OrgID != "org_1" || e.Hash == "" {
					t.Fatalf("line %d carries seq %d (org %q): want seq %d, in order, without gaps or repeats", i, e.Seq, e.OrgID, i+1)
				}
			}
			got, err := hooks.GetEndpoint(ctx, ep.ID)
			if err != nil || got.Cursor != 80 || got.Failures != 0 {
				t.Fatalf("endpoint %+v, %v: want cursor 80 and failures reset", got, err)
			}
		})
	}
}
