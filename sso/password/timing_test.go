package password_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso/password"
)

// measure times runs interleaved pairs of a registered and an unregistered
// request (the order alternating) and returns the median of the paired
// differences, which cancels slow drifts in machine load, and the median
// time of the registered requests; ok is whether the difference is within
// a quarter of that time plus 1ms. It fails t when the statuses differ.
func measure(t *testing.T, runs int, send func(known bool, i int) response) (diff, mk time.Duration, ok bool) {
	t.Helper()
	var known, diffs []time.Duration
	for i := range runs {
		var d [2]time.Duration
		var codes [2]int
		for _, k := range []bool{i%2 == 0, i%2 != 0} {
			start := time.Now()
			res := send(k, i)
			j := 1
			if k {
				j = 0
			}
			d[j], codes[j] = time.Since(start), res.code
		}
		if codes[0] != codes[1] {
			t.Fatalf("statuses differ: registered %d, unregistered %d", codes[0], codes[1])
		}
		known, diffs = append(known, d[0]), append(diffs, d[0]-d[1])
	}
	diff, mk = median(diffs), median(known)
	return diff, mk, diff.Abs() <= mk/4+time.Millisecond
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestEnumerationByTiming measures, for login, sign-up, verification
// resend and reset request,
// the answer time for a registered and an unregistered address: the median
// of paired differences must stay within a quarter of the registered
// median plus 1ms. The
// argon2 cost (a few ms here) dominates login and sign-up, so a path that
// skipped hashing for unknown addresses would differ by the whole hash and
// fail. It runs on memstore, SQLite and PostgreSQL: on PostgreSQL a
// reset request for a registered address writes tokens, which an unknown
// address must match (decoy writes). The test does not run in parallel
// with others, to keep the noise down.
func TestEnumerationByTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing measurement skipped in -short mode")
	}
	// One store after the other, never in parallel: memstore, SQLite and
	// (when SSOKIT_TEST_POSTGRES is set) PostgreSQL, whose writes for a new
	// address must not show either.
	for _, store := range []string{"memstore", "sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			if store == "postgres" {
				testdb.PostgresDSN(t)
			}
			measureStore(t, store)
		})
	}
}

// measureStore runs TestEnumerationByTiming's measurements on store.
func measureStore(t *testing.T, store string) {
	e := newEnvOn(t, store, func(c *password.Config) {
		c.Params = password.Params{Time: 1, MemoryKiB: 4096, Threads: 1, KeyLen: 32, SaltLen: 16}
		c.Throttle = password.Throttle{AccountFree: 1 << 20, PairFree: 1 << 20, IPFree: 1 << 20}
	})
	e.user("known@acme.example", goodPassword)
	const runs = 31
	for _, tc := range []struct {
		name string
		send func(known bool, i int) response
	}{
		{"login", func(known bool, i int) response {
			email := "known@acme.example"
			if !known {
				email = fmt.Sprintf("ghost%d@acme.example", i)
			}
			return e.post("/login", map[string]string{"email": email, "password": "a wrong guess"}, "198.51.100.30", nil)
		}},
		{"signup", func(known bool, i int) response {
			email := "known@acme.example"
			if !known {
				email = fmt.Sprintf("fresh%d@acme.example", i)
			}
			return e.post("/signup", map[string]string{"email": email, "password": "a new passphrase here"}, "198.51.100.31", nil)
		}},
		{"verification resend", func(known bool, i int) response {
			email := "known@acme.example"
			if !known {
				email = fmt.Sprintf("ghost%d@acme.example", i)
			}
			return e.post("/verify/resend", map[string]string{"email": email}, "198.51.100.33", nil)
		}},
		{"reset request", func(known bool, i int) response {
			email := "known@acme.example"
			if !known {
				email = fmt.Sprintf("ghost%d@acme.example", i)
			}
			return e.post("/reset/request", map[string]string{"email": email}, "198.51.100.32", nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Up to three rounds: a load spike on a shared machine can
			// spoil one, while a real difference (a skipped hash) shows in
			// every round.
			var fails []string
			for round := range 3 {
				diff, mk, ok := measure(t, runs, tc.send)
				if ok {
					t.Logf("round %d: median paired difference %v, median registered %v", round+1, diff, mk)
					return
				}
				fails = append(fails, fmt.Sprintf("round %d: median paired difference %v > %v (median registered %v)", round+1, diff, mk/4+time.Millisecond, mk))
			}
			t.Errorf("answer time tells registered from unregistered addresses: %v", fails)
		})
	}
}
