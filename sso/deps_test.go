package sso_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies guards the dependency rule: sso imports only the standard
// library and golang.org/x, and no other ssokit package.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		switch {
		case p == "github.com/ssokit/ssokit/sso":
		case strings.HasPrefix(p, "golang.org/x/"):
		default:
			t.Errorf("sso depends on %s; it may import only the standard library and golang.org/x", p)
		}
	}
}
