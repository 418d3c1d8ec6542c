package emailcode_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testkit"
)

// TestDependencies guards the dependency rule: the email tier imports the
// core, internal packages, the standard library and golang.org/x, never
// another service or protocol package.
func TestDependencies(t *testing.T) {
	t.Parallel()
	const mod = "github.com/ssokit/ssokit/"
	for _, p := range testkit.Deps(t, "./sso/emailcode") {
		switch {
		case p == mod+"sso/emailcode", p == mod+"sso", strings.HasPrefix(p, mod+"internal/"):
		case strings.HasPrefix(p, "golang.org/x/"):
		case strings.HasPrefix(p, mod):
			t.Errorf("sso/emailcode depends on %s; it may import only sso and internal/", p)
		case strings.HasPrefix(p, "go.opentelemetry.io/"), strings.HasPrefix(p, "github.com/go-logr/"), p == "github.com/cespare/xxhash/v2":
			// The OpenTelemetry API, through the core.
		default:
			t.Errorf("sso/emailcode depends on %s", p)
		}
	}
}
