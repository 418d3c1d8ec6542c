package webhook_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
)

// seen records what a subscriber was handed.
type seen struct {
	mu  sync.Mutex
	evs []*sso.Event
}

func (s *seen) add(e *sso.Event) { s.mu.Lock(); s.evs = append(s.evs, e); s.mu.Unlock() }
func (s *seen) all() []*sso.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*sso.Event(nil), s.evs...)
}

// subscription returns a Subscription of name on b's stores.
func subscription(t testing.TB, hooks webhook.Store, events sso.EventStore, name string, handle func(context.Context, *sso.Event) error, types ...string) *webhook.Subscription {
	t.Helper()
	s, err := webhook.NewSubscription(webhook.SubscriptionConfig{Name: name, Handle: handle, Types: types, Events: events,
		Orgs: events.(webhook.OrgLister), Cursors: hooks.(webhook.CursorStore), PollInterval: 10 * time.Millisecond, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func createOrgs(t testing.TB, events sso.EventStore, ids ...string) {
	for _, id := range ids {
		if err := events.(sso.OrgStore).CreateOrg(context.Background(), &sso.Organization{ID: id, Slug: strings.ReplaceAll(id, "_", "-"), Name: id}); err != nil {
			t.Fatal(err)
		}
	}
}

// seqs returns the Seqs handled per organization, in handling order.
func seqs(evs []*sso.Event) map[string][]int64 {
	out := map[string][]int64{}
	for _, e := range evs {
		out[e.OrgID] = append(out[e.OrgID], e.Seq)
	}
	return out
}

// TestSubscription: a subscriber gets every event of every organization in
// Seq order per organization; a failing handler gets the event again at
// the next pass (at least once) and nothing after it first; the cursor
// survives a restart; a type filter skips other events but moves past
// them.
func TestSubscription(t *testing.T) {
	t.Parallel()
	for name, open := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			b := open(t)
			createOrgs(t, b.events, "org_a", "org_b")
			for i := range 3 {
				appendEvent(t, b.events, "org_a", []string{"scim.user_created", "user.jit_provisioned", "scim.user_updated"}[i])
			}
			appendEvent(t, b.events, "org_b", "domain.verified")
			appendEvent(t, b.events, "org_b", "user.jit_provisioned")

			var got seen
			failOnce := true
			handle := func(_ context.Context, e *sso.Event) error {
				got.add(e)
				if e.OrgID == "org_a" && e.Seq == 2 && failOnce {
					failOnce = false
					return errors.New("host busy")
				}
				return nil
			}
			s := subscription(t, b.hooks, b.events, "billing", handle)
			if _, err := s.Poll(ctx); err == nil {
				t.Fatal("a failing handler: Poll returned no error")
			}
			for more := true; more; {
				var err error
				if more, err = s.Poll(ctx); err != nil {
					t.Fatal(err)
				}
			}
			per := seqs(got.all())
			if fmt.Sprint(per["org_a"]) != "[1 2 2 3]" || fmt.Sprint(per["org_b"]) != "[1 2]" {
				t.Fatalf("handled %v, want org_a [1 2 2 3] (2 again after its failure) and org_b [1 2]", per)
			}

			// A restart: the same name on stores opened again resumes.
			hooks, events := b.reopen(t)
			appendEvent(t, events, "org_a", "scim.user_deactivated")
			var after seen
			s2 := subscription(t, hooks, events, "billing", func(_ context.Context, e *sso.Event) error { after.add(e); return nil })
			if _, err := s2.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if per := seqs(after.all()); len(per) != 1 || fmt.Sprint(per["org_a"]) != "[4]" {
				t.Fatalf("after the restart handled %v, want only org_a's new event 4", per)
			}

			// A filtered subscription sees only its types and moves past the rest.
			var jit seen
			s3 := subscription(t, hooks, events, "jit", func(_ context.Context, e *sso.Event) error { jit.add(e); return nil }, "user.jit_provisioned")
			for more := true; more; {
				var err error
				if more, err = s3.Poll(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if per := seqs(jit.all()); fmt.Sprint(per["org_a"]) != "[2]" || fmt.Sprint(per["org_b"]) != "[2]" {
				t.Fatalf("filtered subscription handled %v", per)
			}
			cur, err := hooks.(webhook.CursorStore).Cursors(ctx, "jit")
			if err != nil || cur["org_a"] != 4 || cur["org_b"] != 2 {
				t.Fatalf("filtered cursors %v %v, want past every event", cur, err)
			}
		})
	}
}

// TestSubscriptionReplicas: two replicas run the same subscription while
// events arrive in three organizations; together they handle every event,
// and each replica meets the events of an organization in Seq order (a
// repeat after a lost race aside).
func TestSubscriptionReplicas(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := backends()[name](t)
			orgs := []string{"org_1", "org_2", "org_3"}
			createOrgs(t, b.events, orgs...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var r1, r2 seen
			hooks2, events2 := b.reopen(t)
			for i, r := range []*seen{&r1, &r2} {
				hooks, events := b.hooks, b.events
				if i == 1 {
					hooks, events = hooks2, events2
				}
				s := subscription(t, hooks, events, "audit-copy", func(_ context.Context, e *sso.Event) error { r.add(e); return nil })
				go s.Run(ctx)
			}
			const per = 40
			for i := range per * len(orgs) {
				appendEvent(t, b.events, orgs[i%len(orgs)], "scim.user_updated")
			}
			waitFor(t, 60*time.Second, "every event handled", func() bool {
				have := map[string]bool{}
				for _, e := range append(r1.all(), r2.all()...) {
					have[e.ID] = true
				}
				return len(have) == per*len(orgs)
			})
			// A replica that lost a race for the cursor reads again from
			// the winner's cursor, so it may see an event twice (at least
			// once); what it sees for the first time comes in Seq order.
			for i, r := range []*seen{&r1, &r2} {
				for org, ss := range seqs(r.all()) {
					first, last := map[int64]bool{}, int64(0)
					for _, q := range ss {
						if first[q] {
							continue
						}
						first[q] = true
						if q <= last {
							t.Fatalf("replica %d handled %s out of order: %v", i+1, org, ss)
						}
						last = q
					}
				}
			}
		})
	}
}
