package passkey_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
)

// TestSignInTelemetryNamesMethod: a passkey sign-in records an
// "sso.signin" span naming the method and the organization, and counts
// the attempt in ssokit.login.attempts with protocol "passkey"; a refused
// one records the failure with its reason.
func TestSignInTelemetryNamesMethod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rec := telemetrytest.New(t)
	e := newEnv(t, backends(t)[0], func(c *passkey.Config) { c.TracerProvider, c.MeterProvider = rec.TP, rec.MP })
	u := e.member("tess", "tele", false, false)
	id := e.register(e.signIn(u, "org_tele"), "Key")
	if res := e.login(id, nil, -1); res.code != http.StatusOK {
		t.Fatalf("login: %d %v", res.code, res.body)
	}
	org, _ := e.ms.GetOrg(ctx, "org_tele")
	org.Settings.SignInMethods = []sso.AuthMethod{sso.AuthPassword}
	if err := e.ms.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if res := e.login(id, nil, -1); res.code != http.StatusForbidden {
		t.Fatalf("refused login: %d %v", res.code, res.body)
	}
	spans := rec.Named("sso.signin")
	if len(spans) != 2 {
		t.Fatalf("sso.signin spans: %+v, want 2", spans)
	}
	if !telemetrytest.Matches(spans[0].Attrs, "ssokit.method=passkey", "ssokit.outcome=success", "ssokit.org=org_tele") {
		t.Errorf("success span attributes %v", spans[0].Attrs)
	}
	if !telemetrytest.Matches(spans[1].Attrs, "ssokit.method=passkey", "ssokit.outcome=failure", "ssokit.reason=method_disabled", "ssokit.org=org_tele") {
		t.Errorf("failure span attributes %v", spans[1].Attrs)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=passkey", "ssokit.outcome=success"); n != 1 {
		t.Errorf("successful passkey attempts counted: %v, want 1", n)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.protocol=passkey", "ssokit.outcome=failure", "ssokit.reason=method_disabled"); n != 1 {
		t.Errorf("refused passkey attempts counted: %v, want 1", n)
	}
}
