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
