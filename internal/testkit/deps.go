package testkit

import (
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ProtocolLibraries are the module paths of the SAML, MFA and SCIM
// libraries: a host that does not use those protocols must not link them.
var ProtocolLibraries = []string{
	"github.com/russellhaering/gosaml2",
	"github.com/russellhaering/goxmldsig",
	"github.com/beevik/etree",
	"github.com/go-webauthn/webauthn",
	"github.com/go-webauthn/x",
	"github.com/pquerna/otp",
	"github.com/elimity-com/scim",
}

// ProtocolLibrary returns the entry of ProtocolLibraries that the import
// path p belongs to, or "".
func ProtocolLibrary(p string) string {
	for _, lib := range ProtocolLibraries {
		if p == lib || strings.HasPrefix(p, lib+"/") {
			return lib
		}
	}
	return ""
}

// Deps returns, sorted, the non-standard packages that pkg (a path relative
// to the module root, such as "./store/sqlstore") depends on, itself
// included, as go list -deps reports them. It skips t when the go tool is
// not on PATH.
func Deps(t testing.TB, pkg string) []string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go list needs the go tool, which is not on PATH: %v", err)
	}
	gomod, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg)
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	deps := strings.Fields(string(out))
	slices.Sort(deps)
	return deps
}
