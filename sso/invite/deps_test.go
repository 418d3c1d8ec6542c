package invite_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testkit"
)

// TestDependencies guards the dependency rule: invitations import the
// core, internal packages, the standard library and golang.org/x only.
func TestDependencies(t *testing.T) {
	t.Parallel()
	const mod = "github.com/ssokit/ssokit/"
	for _, p := range testkit.Deps(t, "./sso/invite") {
		switch {
		case p == mod+"sso/invite", p == mod+"sso", strings.HasPrefix(p, mod+"internal/"):
		case strings.HasPrefix(p, "golang.org/x/"):
		case strings.HasPrefix(p, mod):
			t.Errorf("sso/invite depends on %s; it may import only sso and internal/", p)
		case strings.HasPrefix(p, "go.opentelemetry.io/"), strings.HasPrefix(p, "github.com/go-logr/"), p == "github.com/cespare/xxhash/v2":
		default:
			t.Errorf("sso/invite depends on %s", p)
		}
	}
}
