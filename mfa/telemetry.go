package mfa

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

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

// verifySpan starts an "mfa.verify" span for factor; endVerify ends it.
func (m *Manager) verifySpan(ctx context.Context, p *sso.Principal, factor string) (context.Context, trace.Span) {
	ctx, span := m.tel.Start(ctx, "mfa.verify")
	if span.IsRecording() {
		span.SetAttributes(attribute.String("ssokit.mfa.factor", factor))
		if p != nil {
			span.SetAttributes(telemetry.KeyOrg.String(p.OrgID))
		}
	}
	return ctx, span
}

// endVerify ends a span of verifySpan with the verification's error. The
// reason is looked up only for a failure, so a success allocates nothing
// here.
func endVerify(span trace.Span, err error) {
	reason := ""
	if err != nil {
		reason = sso.ReasonOf(err)
	}
	telemetry.End(span, reason, err)
}
