package webhook_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testkit"
)

// TestImportsOnlyCore checks the dependency rule: package webhook imports
// the core and internal packages, and no other package of the module (no
// protocol, service or store package).
func TestImportsOnlyCore(t *testing.T) {
	t.Parallel()
	const mod = "github.com/ssokit/ssokit/"
	for _, p := range testkit.Deps(t, "./sso/webhook") {
		rest, ok := strings.CutPrefix(p, mod)
		if ok && rest != "sso" && rest != "sso/webhook" && !strings.HasPrefix(rest, "internal/") {
			t.Errorf("webhook imports %s; it may import only sso and internal/", p)
		}
	}
}
