package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/ssokit/store/memstore"
)

func TestBus(t *testing.T) {
	t.Parallel()
	var bus memstore.Bus
	ctx, cancel := context.WithCancel(context.Background())
	type sub struct {
		got  chan string
		done chan error
	}
	subs := make([]sub, 2)
	for i := range subs {
		subs[i] = sub{got: make(chan string, 4096), done: make(chan error, 1)}
		go func() { subs[i].done <- bus.Subscribe(ctx, func(s string) { subs[i].got <- s }) }()
	}
	next := func(s sub) string {
		t.Helper()
		select {
		case v := <-s.got:
			return v
		case <-time.After(5 * time.Second):
			t.Fatal("nothing delivered within 5 s")
			return ""
		}
	}
	for _, s := range subs {
		if v := next(s); v != "" {
			t.Fatalf("first delivery %q, want the empty subject", v)
		}
	}
	if err := bus.Publish(ctx, "user:u1"); err != nil {
		t.Fatal(err)
	}
	for _, s := range subs {
		if v := next(s); v != "user:u1" {
			t.Fatalf("delivered %q, want user:u1", v)
		}
	}
	cancel()
	for _, s := range subs {
		if err := <-s.done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Subscribe = %v, want context.Canceled", err)
		}
	}
	if err := bus.Publish(context.Background(), "user:u2"); err != nil {
		t.Fatalf("Publish without subscribers = %v", err)
	}
}

// TestBusOverflow checks that a subscriber too far behind hears the empty
// subject (drop everything) instead of silently missing subjects.
func TestBusOverflow(t *testing.T) {
	t.Parallel()
	var bus memstore.Bus
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	release := make(chan struct{})
	got := make(chan string, 1<<14)
	go bus.Subscribe(ctx, func(s string) {
		if s == "" && len(got) == 0 {
			got <- s
			<-release // stall while the publisher overflows the queue
			return
		}
		got <- s
	})
	if v := <-got; v != "" {
		t.Fatalf("first delivery %q", v)
	}
	const n = 5000
	for i := 0; i < n; i++ {
		bus.Publish(ctx, fmt.Sprintf("user:u%d", i))
	}
	close(release)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v := <-got:
			if v == "" {
				return
			}
		case <-deadline:
			t.Fatal("the overflowing subscriber never heard the empty subject")
		}
	}
}
