package emailcode_test

import (
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/sso/emailcode"
)

// TestSignInTelemetryNamesMethod: a sign-in by emailed code records an
// "sso.signin" span naming the method email_code and counts it in
// ssokit.login.attempts with that protocol; a wrong code is counted as a
// failure with its reason.
func TestSignInTelemetryNamesMethod(t *testing.T) {
	t.Parallel()
	rec := telemetrytest.New(t)
	e := newEnv(t, func(c *emailcode.Config) { c.TracerProvider, c.MeterProvider = rec.TP, rec.MP })
	e.user("tele@acme.example")
	b := e.browser("198.51.100.41")
	b.request("tele@acme.example")
	code, _ := e.mailTo("tele@acme.example")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	b.post("/code", map[string]string{"code": wrong})
	if res := b.post("/code", map[string]string{"code": code}); res.code != http.StatusOK {
		t.Fatalf("code: %d %s", res.code, res.raw)
	}
	spans := rec.Named("sso.signin")
	if len(spans) != 2 || !telemetrytest.Matches(spans[0].Attrs, "ssokit.method=email_code", "ssokit.outcome=failure", "ssokit.reason=code_invalid") ||
		!telemetrytest.Matches(spans[1].Attrs, "ssokit.method=email_code", "ssokit.outcome=success", "ssokit.org=org_tele-home") {
		t.Fatalf("sso.signin spans: %+v", spans)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=email_code"); n != 2 {
		t.Errorf("email_code attempts counted: %v, want 2", n)
	}
}
