package sso_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies guards the dependency rule: sso imports only the standard
// library, golang.org/x, the OpenTelemetry API (never its SDK) with the
// API's own small dependencies, and no ssokit package outside internal/.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		switch {
		case p == "github.com/ssokit/ssokit/sso":
		case strings.HasPrefix(p, "golang.org/x/"):
		case strings.HasPrefix(p, "github.com/ssokit/ssokit/internal/"):
		case strings.HasPrefix(p, "go.opentelemetry.io/otel/sdk"):
			t.Errorf("sso depends on the OpenTelemetry SDK (%s); only the API is allowed", p)
		case strings.HasPrefix(p, "go.opentelemetry.io/otel"), strings.HasPrefix(p, "go.opentelemetry.io/auto/sdk"),
			strings.HasPrefix(p, "github.com/go-logr/"), p == "github.com/cespare/xxhash/v2":
		default:
			t.Errorf("sso depends on %s; it may import only the standard library, golang.org/x and the OpenTelemetry API", p)
		}
	}
}

// TestServiceDependencies guards the rest of the rule: the services and the
// protocol packages import the core and internal packages only, never each
// other, so shared code goes down and nothing imports sideways.
func TestServiceDependencies(t *testing.T) {
	pkgs := []string{"./audit", "./discovery", "./domains", "./health", "./keyring", "./login", "./migrate", "./policy",
		"./password", "./mail", "./webhook", "../saml", "../oidc", "../scim", "../session", "../mfa"}
	args := append([]string{"list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`}, pkgs...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/ssokit/ssokit/"
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(pkgs) {
		t.Fatalf("go list returned %d packages, want %d", len(lines), len(pkgs))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, mod) && imp != mod+"sso" && !strings.HasPrefix(imp, mod+"internal/") {
				t.Errorf("%s imports %s; services and protocol packages may import only sso and internal/", f[0], imp)
			}
		}
	}
}

// TestPortalDependencies: the admin portal is built on the admin API, so
// it may import sso/admin besides the core and internal packages, and
// nothing else of the module.
func TestPortalDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{range .Imports}}{{.}} {{end}}`, "./portal").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const mod = "github.com/ssokit/ssokit/"
	for _, imp := range strings.Fields(string(out)) {
		// sso/migrate is protocol-agnostic (sso and internal/ only): the
		// portal reads the import plan the admin API answers with.
		if strings.HasPrefix(imp, mod) && imp != mod+"sso" && imp != mod+"sso/admin" && imp != mod+"sso/migrate" &&
			!strings.HasPrefix(imp, mod+"internal/") {
			t.Errorf("sso/portal imports %s; it may import only sso, sso/admin, sso/migrate and internal/", imp)
		}
	}
}
