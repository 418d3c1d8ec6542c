package passwordtest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso/password"
)

// read returns the slot of key as Failures reports it now.
func read(t *testing.T, st password.Store, key string, free int) password.ThrottleSlot {
	t.Helper()
	n, last, err := st.Failures(context.Background(), key)
	if err != nil {
		t.Fatalf("Failures(%s): %v", key, err)
	}
	return password.ThrottleSlot{Key: key, N: n, Last: last, Free: free}
}

// wantFailures checks a key's count and last failure.
func wantFailures(t *testing.T, st password.Store, what, key string, n int, last time.Time) {
	t.Helper()
	gotN, gotLast, err := st.Failures(context.Background(), key)
	if err != nil || gotN != n || !gotLast.Equal(last) {
		t.Errorf("%s: Failures(%s) = %d, %v, %v; want %d at %v", what, key, gotN, gotLast, err, n, last)
	}
}

func countAttempt(t *testing.T, st password.Store) {
	ctx := context.Background()
	forget := t0.Add(-24 * time.Hour)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	stale := password.ThrottleSlot{Key: "k", Free: 2} // read before any failure
	for i, want := range []int{1, 2} {
		// Below Free a key is open whatever its caller read.
		got, err := st.CountAttempt(ctx, []password.ThrottleSlot{stale}, at(i+1), forget)
		if err != nil || !slices.Equal(got, []int{want}) {
			t.Fatalf("CountAttempt #%d below Free = %v, %v; want [%d]", i+1, got, err, want)
		}
	}
	wantFailures(t, st, "two attempts counted", "k", 2, at(2))
	if got, err := st.CountAttempt(ctx, []password.ThrottleSlot{stale}, at(3), forget); err != nil || got != nil {
		t.Errorf("CountAttempt at Free with a stale read = %v, %v; want nil (not open)", got, err)
	}
	wantFailures(t, st, "an attempt that was not open", "k", 2, at(2))
	// At Free a key is open to the caller that read what it holds.
	if got, err := st.CountAttempt(ctx, []password.ThrottleSlot{read(t, st, "k", 2)}, at(4), forget); err != nil || !slices.Equal(got, []int{3}) {
		t.Errorf("CountAttempt with a current read = %v, %v; want [3]", got, err)
	}
	wantFailures(t, st, "an open attempt", "k", 3, at(4))
	// Several keys are counted together or not at all.
	open := password.ThrottleSlot{Key: "fresh", Free: 1}
	if got, err := st.CountAttempt(ctx, []password.ThrottleSlot{open, stale}, at(5), forget); err != nil || got != nil {
		t.Errorf("CountAttempt with one key not open = %v, %v; want nil", got, err)
	}
	wantFailures(t, st, "the open key of an attempt refused by another", "fresh", 0, time.Time{})
	got, err := st.CountAttempt(ctx, []password.ThrottleSlot{open, read(t, st, "k", 2)}, at(6), forget)
	if err != nil || !slices.Equal(got, []int{1, 4}) {
		t.Errorf("CountAttempt of two open keys = %v, %v; want [1 4] in the order of the slots", got, err)
	}
	// A key idle past the horizon is open and starts again at 1.
	later := at(6).Add(48 * time.Hour)
	if got, err := st.CountAttempt(ctx, []password.ThrottleSlot{stale}, later, later.Add(-24*time.Hour)); err != nil || !slices.Equal(got, []int{1}) {
		t.Errorf("CountAttempt after the horizon = %v, %v; want [1]", got, err)
	}
	wantFailures(t, st, "an attempt after the horizon", "k", 1, later)
}

func uncountAttempt(t *testing.T, st password.Store) {
	ctx := context.Background()
	forget := t0.Add(-24 * time.Hour)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for i := range 3 {
		if _, err := st.RecordFailure(ctx, "k", at(i), forget); err != nil {
			t.Fatal(err)
		}
	}
	prev := read(t, st, "k", 3)
	got, err := st.CountAttempt(ctx, []password.ThrottleSlot{prev}, at(10), forget)
	if err != nil || !slices.Equal(got, []int{4}) {
		t.Fatalf("CountAttempt = %v, %v; want [4]", got, err)
	}
	// Nothing counted since: the key returns to what it held.
	if err := st.UncountAttempt(ctx, "k", 4, at(10), prev.Last); err != nil {
		t.Fatalf("UncountAttempt: %v", err)
	}
	wantFailures(t, st, "an attempt taken back", "k", 3, prev.Last)
	// A failure counted since keeps its time; only the count drops.
	if got, err := st.CountAttempt(ctx, []password.ThrottleSlot{prev}, at(11), forget); err != nil || !slices.Equal(got, []int{4}) {
		t.Fatalf("CountAttempt = %v, %v; want [4]", got, err)
	}
	if _, err := st.RecordFailure(ctx, "k", at(12), forget); err != nil {
		t.Fatal(err)
	}
	if err := st.UncountAttempt(ctx, "k", 4, at(11), prev.Last); err != nil {
		t.Fatalf("UncountAttempt: %v", err)
	}
	wantFailures(t, st, "an attempt taken back after another failure", "k", 4, at(12))
	// A reset key stays reset; an unknown key is not an error.
	if err := st.ResetFailures(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := st.UncountAttempt(ctx, "k", 4, at(12), prev.Last); err != nil {
		t.Errorf("UncountAttempt of a reset key: %v", err)
	}
	if n, _, _ := st.Failures(ctx, "k"); n != 0 {
		t.Errorf("UncountAttempt of a reset key left %d failures, want 0", n)
	}
	if err := st.UncountAttempt(ctx, "never", 1, at(1), time.Time{}); err != nil {
		t.Errorf("UncountAttempt(unknown) = %v, want nil", err)
	}
}

// countAttemptConcurrent: callers that all read a key before any of them
// counts get exactly what one caller after the other would: Free attempts
// on a fresh key, then one attempt on a key at its count. The callers
// share two keys, which they name in opposite orders.
func countAttemptConcurrent(t *testing.T, st password.Store) {
	const callers, free = 16, 3
	forget := t0.Add(-time.Hour)
	race := func(when time.Time) int {
		var wins atomic.Int32
		var wg, ready sync.WaitGroup
		start := make(chan struct{})
		for i := range callers {
			wg.Add(1)
			ready.Add(1)
			go func() {
				defer wg.Done()
				slots := []password.ThrottleSlot{read(t, st, "a", free), read(t, st, "b", free), read(t, st, fmt.Sprint("own-", i), free)}
				if i%2 == 1 {
					slots[0], slots[1] = slots[1], slots[0]
				}
				ready.Done()
				<-start
				got, err := st.CountAttempt(context.Background(), slots, when, forget)
				if err != nil {
					t.Errorf("concurrent CountAttempt: %v", err)
				} else if got != nil {
					wins.Add(1)
				}
			}()
		}
		ready.Wait()
		close(start)
		wg.Wait()
		return int(wins.Load())
	}
	if got := race(t0); got != free {
		t.Errorf("concurrent attempts on fresh keys: %d counted, want Free (%d)", got, free)
	}
	wantFailures(t, st, "after the first race", "a", free, t0)
	wantFailures(t, st, "after the first race", "b", free, t0)
	if got := race(t0.Add(time.Minute)); got != 1 {
		t.Errorf("concurrent attempts on keys at Free: %d counted, want 1", got)
	}
	wantFailures(t, st, "after the second race", "a", free+1, t0.Add(time.Minute))
}
