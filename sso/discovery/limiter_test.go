package discovery

import (
	"fmt"
	"testing"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/returnto"
)

// TestIPLimiterBoundedMemory: however many clients appear, the limiter
// remembers at most two generations of max entries.
func TestIPLimiterBoundedMemory(t *testing.T) {
	t.Parallel()
	l := newIPLimiter(1, 2, 100)
	for i := 0; i < 5000; i++ {
		l.allow(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		if n := l.size(); n > 200 {
			t.Fatalf("limiter holds %d clients after %d, want <= 200", n, i+1)
		}
	}
	// A recently seen client keeps its bucket across a generation switch.
	l2 := newIPLimiter(0.0001, 1, 10)
	if !l2.allow("victim") || l2.allow("victim") {
		t.Fatal("burst of 1 not enforced")
	}
	for i := 0; i < 9; i++ {
		l2.allow(fmt.Sprint("other", i))
	}
	if l2.allow("victim") {
		t.Fatal("bucket reset by a generation switch")
	}
}

// FuzzDiscoveryEmail feeds arbitrary emails and return paths through the
// email parsing and URL building of discovery: no panics, and the local
// login URL always carries a safe return path.
func FuzzDiscoveryEmail(f *testing.F) {
	for _, s := range []string{"a@b.com", "", "@", "a@@b", "x@[::1]", "x@xn--bcher-kva.example", "x@gmail.com\x00", "\u2028@x.com"} {
		f.Add(s, "/ok")
		f.Add(s, "//evil.example")
	}
	d := &Handler{cfg: Config{LocalLoginURL: "/pw?x=1", DefaultReturnTo: "/"}}
	f.Fuzz(func(t *testing.T, email, returnTo string) {
		_, _, _ = normalize.Email(email)
		u := d.LocalLoginURL(email, returnto.Safe(returnTo, "/"))
		if u == "" || u[0] != '/' || (len(u) > 1 && u[1] == '/') {
			t.Fatalf("got %q", u)
		}
	})
}
