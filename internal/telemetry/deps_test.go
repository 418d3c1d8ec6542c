package telemetry_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryNeedsOnlyTheAPI guards the rule that the library depends on
// the OpenTelemetry API only: the host brings the SDK and exporters.
func TestLibraryNeedsOnlyTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs := []string{"../../sso", "../../sso/admin", "../../saml", "../../oidc", "../../scim", "../../session", "../../mfa",
		"../../store/memstore", "../../store/memstore/memsaml", "../../store/memstore/memoidc", "../../store/memstore/memscim",
		"../../store/memstore/memmfa", "../../store/sqlstore", "../../store/sqlstore/sqlsaml", "../../store/sqlstore/sqloidc",
		"../../store/sqlstore/sqlscim", "../../store/sqlstore/sqlmfa"}
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	api := false
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "go.opentelemetry.io/otel/sdk") || strings.HasPrefix(p, "go.opentelemetry.io/otel/exporters") {
			t.Errorf("the library depends on %s; only the OpenTelemetry API is allowed", p)
		}
		if p == "go.opentelemetry.io/otel/trace" {
			api = true
		}
	}
	if !api {
		t.Error("the library does not use the OpenTelemetry trace API at all")
	}
}
