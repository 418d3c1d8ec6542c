package clientlimit_test

import (
	"fmt"
	"testing"

	"github.com/ssokit/ssokit/internal/clientlimit"
)

// TestBoundedMemory: however many clients appear, the limiter
// remembers at most two generations of max entries.
func TestBoundedMemory(t *testing.T) {
	t.Parallel()
	l := clientlimit.New(1, 2, 100)
	for i := 0; i < 5000; i++ {
		l.Allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if n := l.Size(); n > 200 {
			t.Fatalf("limiter holds %d clients after %d, want <= 200", n, i+1)
		}
	}
	// A recently seen client keeps its bucket across a generation switch.
	l2 := clientlimit.New(0.0001, 1, 10)
	if !l2.Allow("victim") || l2.Allow("victim") {
		t.Fatal("burst of 1 not enforced")
	}
	for i := 0; i < 9; i++ {
		l2.Allow(fmt.Sprint("other", i))
	}
	if l2.Allow("victim") {
		t.Fatal("bucket reset by a generation switch")
	}
}
