package oidc

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// startSpan starts a span named name with conn's organization, connection
// and protocol (IDs only).
func (rp *RP) startSpan(ctx context.Context, name string, conn *sso.Connection) trace.Span {
	_, span := rp.tel.Start(ctx, name, telemetry.KeyProtocol.String(string(Protocol)))
	if conn != nil && span.IsRecording() {
		span.SetAttributes(telemetry.Tenant(conn.OrgID, conn.ID)...)
	}
	return span
}
