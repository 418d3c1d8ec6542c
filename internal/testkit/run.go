package testkit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Start runs run (a component's background Run loop) in a goroutine with a
// cancellable context. Calling the returned stopped cancels that context
// and fails t unless run returns context.Canceled within ten seconds.
func Start(t testing.TB, run func(ctx context.Context) error) (stopped func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	return func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not stop after its context ended")
		}
	}
}
