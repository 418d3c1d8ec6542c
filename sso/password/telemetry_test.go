package password_test

import (
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/sso/password"
)

// TestSignInTelemetryNamesMethod: a password login records an
// "sso.signin" span naming the method and counts the attempt in
// ssokit.login.attempts with protocol "password"; a wrong password is
// counted as a failure with its reason.
func TestSignInTelemetryNamesMethod(t *testing.T) {
	t.Parallel()
	rec := telemetrytest.New(t)
	e := newEnv(t, func(c *password.Config) { c.TracerProvider, c.MeterProvider = rec.TP, rec.MP })
	u := e.user("tele@acme.example", goodPassword)
	if res := e.post("/login", map[string]string{"email": u.Email, "password": goodPassword}, "198.51.100.40", nil); res.code != http.StatusOK {
		t.Fatalf("login: %d %s", res.code, res.raw)
	}
	e.post("/login", map[string]string{"email": u.Email, "password": "not the password"}, "198.51.100.40", nil)
	spans := rec.Named("sso.signin")
	if len(spans) != 2 || !telemetrytest.Matches(spans[0].Attrs, "ssokit.method=password", "ssokit.outcome=success", "ssokit.org=org_tele-home") ||
		!telemetrytest.Matches(spans[1].Attrs, "ssokit.method=password", "ssokit.outcome=failure", "ssokit.reason=invalid_credentials") {
		t.Fatalf("sso.signin spans: %+v", spans)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=password"); n != 2 {
		t.Errorf("password attempts counted: %v, want 2", n)
	}
}
