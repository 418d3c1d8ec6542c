package saml

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// startSpan starts a span named name with conn's organization, connection
// and protocol (IDs only).
func (s *SP) startSpan(ctx context.Context, name string, conn *sso.Connection) trace.Span {
	_, span := s.tel.Start(ctx, name, telemetry.KeyProtocol.String(string(Protocol)))
	if conn != nil && span.IsRecording() {
		span.SetAttributes(telemetry.Tenant(conn.OrgID, conn.ID)...)
	}
	return span
}

// opFail reports a rejected request to the request's login operation (the
// ACS span and metrics), when there is one.
func opFail(r *http.Request, conn *sso.Connection, err error) {
	op := telemetry.OpFrom(r.Context())
	if op == nil {
		return
	}
	if conn != nil && op.Conn == "" {
		op.SetTenant(conn.OrgID, conn.ID)
	}
	op.Fail(err, sso.ReasonOf(err))
}
