package mfa

import (
	"context"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// mfaEventKinds maps the audited MFA outcomes to the metric's kinds.
var mfaEventKinds = map[string]string{
	EventSucceeded:        "success",
	EventFailed:           "failure",
	EventReplayed:         "replay",
	EventLockedOut:        "lockout",
	EventRecoveryCodeUsed: "recovery_code_used",
}

// countEvent counts an audited MFA outcome in the ssokit.mfa.events metric
// by kind and factor (both from small fixed sets).
func (m *Manager) countEvent(ctx context.Context, p *sso.Principal, typ string, details map[string]string) {
	kind, ok := mfaEventKinds[typ]
	if !ok || !m.tel.MFAEvents.Enabled(ctx) {
		return
	}
	attrs := []attribute.KeyValue{telemetry.KeyKind.String(kind)}
	switch f := details["factor"]; f {
	case "totp", "webauthn", "recovery_code":
		attrs = append(attrs, attribute.String("ssokit.mfa.factor", f))
	}
	m.tel.MFAEvents.Add(ctx, 1, m.tel.MetricAttrs(p.OrgID, "", attrs...))
}

// verifySpan starts an "mfa.verify" span for factor and returns the
// context and the function that ends it with the verification's error.
func (m *Manager) verifySpan(ctx context.Context, p *sso.Principal, factor string) (context.Context, func(error)) {
	ctx, span := m.tel.Start(ctx, "mfa.verify", attribute.String("ssokit.mfa.factor", factor))
	if p != nil && span.IsRecording() {
		span.SetAttributes(telemetry.KeyOrg.String(p.OrgID))
	}
	return ctx, func(err error) { telemetry.End(span, sso.ReasonOf(err), err) }
}
