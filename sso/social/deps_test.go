package social_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testkit"
)

// TestDependencies guards the dependency rule: social imports the core,
// internal packages, go-oidc, x/oauth2 and their dependencies, never
// another service or protocol package.
func TestDependencies(t *testing.T) {
	t.Parallel()
	const mod = "github.com/ssokit/ssokit/"
	for _, p := range testkit.Deps(t, "./sso/social") {
		if strings.HasPrefix(p, mod) && p != mod+"sso/social" && p != mod+"sso" && !strings.HasPrefix(p, mod+"internal/") {
			t.Errorf("sso/social depends on %s; it may import only sso and internal/", p)
		}
	}
}
