package emailcode_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
)

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestEnumerationByTiming measures the answer time of a request for an
// address with an account (which gets an email) and one without (which
// gets none), in interleaved pairs: the median of the paired differences
// must stay within a quarter of the known median plus 1ms. The email is
// handed to the Mailer off the request, so a Mailer that takes its time
// (here 20ms, like an SMTP round trip) must not show in the answer. The
// test runs on memstore, SQLite and PostgreSQL, one after the other, and
// not in parallel with others, to keep the noise down.
func TestEnumerationByTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing measurement skipped in -short mode")
	}
	// One store after the other, never in parallel.
	for _, store := range []string{"memstore", "sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			if store == "postgres" {
				testdb.PostgresDSN(t)
			}
			measureStore(t, store)
		})
	}
}

// measureStore runs TestEnumerationByTiming's measurement on store.
func measureStore(t *testing.T, store string) {
	e := newEnvWithSlowMailer(t, store, 20*time.Millisecond)
	e.user("known@acme.example")
	const runs = 31
	var fails []string
	for round := range 3 {
		var known, diffs []time.Duration
		for i := range runs {
			var d [2]time.Duration
			var codes [2]int
			for _, k := range []bool{i%2 == 0, i%2 != 0} {
				addr, j := fmt.Sprintf("ghost%d-%d@acme.example", round, i), 1
				if k {
					addr, j = "known@acme.example", 0
				}
				start := time.Now()
				res := e.browser("198.51.100.1").post("/request", map[string]string{"email": addr})
				d[j], codes[j] = time.Since(start), res.code
			}
			if codes[0] != codes[1] {
				t.Fatalf("statuses differ: known %d, unknown %d", codes[0], codes[1])
			}
			known, diffs = append(known, d[0]), append(diffs, d[0]-d[1])
		}
		diff, mk := median(diffs), median(known)
		if diff.Abs() <= mk/4+time.Millisecond {
			t.Logf("round %d: median paired difference %v, median known %v", round+1, diff, mk)
			e.m.Wait()
			return
		}
		fails = append(fails, fmt.Sprintf("round %d: median paired difference %v > %v (median known %v)", round+1, diff, mk/4+time.Millisecond, mk))
	}
	e.m.Wait()
	t.Errorf("answer time tells known from unknown addresses: %v", fails)
}
