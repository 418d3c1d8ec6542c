package testkit

import "testing"

func TestBetween(t *testing.T) {
	var b Between
	b.Fire() // unarmed: nothing
	n := 0
	b.Arm(2, func() { n++ })
	b.Fire()
	b.Fire()
	if n != 0 {
		t.Fatalf("ran after %d of 2 skipped calls", n)
	}
	b.Fire()
	b.Fire()
	if n != 1 {
		t.Fatalf("ran %d times, want once on the third call", n)
	}
}
