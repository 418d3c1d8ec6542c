package telemetry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
)

func TestNoProviderIsSafe(t *testing.T) {
	tel := telemetry.New("test", telemetry.Config{})
	ctx, op := tel.StartOp(context.Background(), "op", "saml")
	op.SetTenant("org", "conn")
	op.Fail(errors.New("x"), "bad")
	tel.EndLogin(ctx, op)
	var nilOp *telemetry.Op
	nilOp.SetTenant("a", "b")
	nilOp.Fail(errors.New("x"), "r")
	if telemetry.OpFrom(context.Background()) != nil {
		t.Fatal("OpFrom of an empty context")
	}
}

func TestEndLoginRecordsSpanAndMetrics(t *testing.T) {
	rec := telemetrytest.New(t)
	for _, tenant := range []bool{false, true} {
		tel := telemetry.New("test", telemetry.Config{TracerProvider: rec.TP, MeterProvider: rec.MP, TenantMetrics: tenant})
		ctx, op := tel.StartOp(context.Background(), "login", "oidc")
		if telemetry.OpFrom(ctx) != op {
			t.Fatal("OpFrom does not return the op")
		}
		op.SetTenant("org_1", "conn_1")
		op.Fail(errors.New("first"), "signature_invalid")
		op.Fail(errors.New("second"), "expired")
		tel.EndLogin(ctx, op)
	}
	spans := rec.Named("login")
	if len(spans) != 2 {
		t.Fatalf("spans: %d", len(spans))
	}
	if a := spans[0].Attrs; a["ssokit.reason"] != "signature_invalid" || a["ssokit.outcome"] != "failure" || a["ssokit.org"] != "org_1" {
		t.Fatalf("span: %v", a)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.reason=signature_invalid"); n != 2 {
		t.Fatalf("attempts: %v", n)
	}
	if n := rec.Sum(t, "ssokit.login.attempts", "ssokit.org=org_1"); n != 1 {
		t.Fatalf("tenant attempts: %v, want 1 (only with TenantMetrics)", n)
	}
	if n := rec.Sum(t, "ssokit.validation.failures", "ssokit.protocol=oidc"); n != 2 {
		t.Fatalf("validation failures: %v", n)
	}
	// A canceled request is an attempt, not a validation failure.
	tel := telemetry.New("test", telemetry.Config{TracerProvider: rec.TP, MeterProvider: rec.MP})
	tel.RecordLogin(context.Background(), "saml", "", "", time.Now(), "internal", context.Canceled)
	if n := rec.Sum(t, "ssokit.validation.failures", "ssokit.protocol=saml"); n != 0 {
		t.Fatalf("canceled counted as a validation failure: %v", n)
	}
}
