package session

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"

	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// fromCookie is lookupCookie with a "session.check" span for requests that
// present cookies: the result (valid, none or failure) and the session's
// organization, never the cookie.
func (m *Manager) fromCookie(r *http.Request) (*Session, error) {
	if len(r.Header["Cookie"]) == 0 {
		return nil, nil
	}
	_, span := m.tel.Start(r.Context(), "session.check")
	s, err := m.lookupCookie(r)
	if span.IsRecording() {
		switch {
		case err != nil:
			reason := sso.ReasonOf(err)
			span.SetAttributes(telemetry.KeyOutcome.String("failure"), telemetry.KeyReason.String(reason))
			span.SetStatus(codes.Error, reason)
		case s == nil:
			span.SetAttributes(telemetry.KeyOutcome.String("none"))
		default:
			span.SetAttributes(telemetry.KeyOutcome.String("valid"), telemetry.KeyOrg.String(s.OrgID),
				attribute.String("ssokit.session.method", string(s.Method)))
		}
	}
	span.End()
	return s, err
}

// sessionsChanged moves the active-sessions count by delta. The count has
// no tenant attribute even with TenantMetrics: revoking all of a user's
// sessions does not say which organizations they belonged to.
func (m *Manager) sessionsChanged(ctx context.Context, delta int) {
	if delta != 0 && m.tel.SessionsActive.Enabled(ctx) {
		m.tel.SessionsActive.Add(ctx, int64(delta))
	}
}

// tokenRejected counts a rejected access token by its stable reason in
// ssokit.validation.failures (protocol "session").
func (m *Manager) tokenRejected(ctx context.Context, err error) {
	if err == nil || errors.Is(err, ErrTokensDisabled) || !m.tel.ValidationFailures.Enabled(ctx) {
		return
	}
	m.tel.ValidationFailures.Add(ctx, 1, metric.WithAttributes(telemetry.KeyProtocol.String(string(Protocol)),
		telemetry.KeyReason.String(sso.ReasonOf(err))))
}
