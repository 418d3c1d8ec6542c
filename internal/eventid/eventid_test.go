package eventid

import (
	"testing"
	"time"
)

func TestOnce(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	a := Once("login.failure_burst", "org_1", start)
	if a != Once("login.failure_burst", "org_1", start.In(time.FixedZone("x", 3600))) {
		t.Fatal("the same window in another zone gave another ID")
	}
	if Once("ab", "c", start) == Once("a", "bc", start) {
		t.Fatal("fields run into each other")
	}
	for _, b := range []string{
		Once("login.failure_burst", "org_2", start),
		Once("scim.sync_failed", "org_1", start),
		Once("login.failure_burst", "org_1", start.Add(time.Minute)),
	} {
		if b == a {
			t.Fatalf("distinct windows share ID %s", a)
		}
	}
}
