package discovery

import (
	"testing"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/returnto"
)

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
