package passkey_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testkit"
)

// TestDependencies guards the dependency rule: passkey imports the core,
// internal packages and go-webauthn, never another service or protocol
// package.
func TestDependencies(t *testing.T) {
	t.Parallel()
	const mod = "github.com/ssokit/ssokit/"
	for _, p := range testkit.Deps(t, "./sso/passkey") {
		if strings.HasPrefix(p, mod) && p != mod+"sso/passkey" && p != mod+"sso" && !strings.HasPrefix(p, mod+"internal/") {
			t.Errorf("sso/passkey depends on %s; it may import only sso and internal/", p)
		}
	}
}
