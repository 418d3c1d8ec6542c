package discovery

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Span attribute keys of the core's spans besides the shared ones (org,
// connection, protocol, outcome, reason).
const (
	// keyDiscoveryResult is where discovery sent the browser: "sso",
	// "chooser" or "local".
	keyDiscoveryResult = attribute.Key("ssokit.discovery.result")
)

// spanResult marks the request's current span (a discovery span) with
// where the browser was sent, the stable reason and, for a failure, an
// error status. Values are IDs and fixed codes only.
func spanResult(r *http.Request, result string, org *sso.Organization, c *sso.Connection, err error) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{keyDiscoveryResult.String(result)}
	if org != nil {
		attrs = append(attrs, telemetry.KeyOrg.String(org.ID))
	}
	if c != nil {
		attrs = append(attrs, telemetry.KeyConnection.String(c.ID), telemetry.KeyProtocol.String(string(c.Protocol)))
	}
	if err != nil {
		attrs = append(attrs, telemetry.KeyReason.String(sso.ReasonOf(err)))
	}
	span.SetAttributes(attrs...)
}

// spanState records whether a request's span was marked failed, so the
// deferred end does not overwrite the outcome.
type spanState struct{ failed bool }

type spanStateKey struct{}

func withSpanState(ctx context.Context) context.Context {
	return context.WithValue(ctx, spanStateKey{}, &spanState{})
}

func spanFailed(ctx context.Context) bool {
	st, _ := ctx.Value(spanStateKey{}).(*spanState)
	return st != nil && st.failed
}

// spanFail marks the request's current span failed with err's stable
// reason.
func spanFail(r *http.Request, err error) {
	if st, _ := r.Context().Value(spanStateKey{}).(*spanState); st != nil {
		st.failed = true
	}
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	reason := sso.ReasonOf(err)
	span.SetAttributes(telemetry.KeyOutcome.String("failure"), telemetry.KeyReason.String(reason))
	span.SetStatus(codes.Error, reason)
}
