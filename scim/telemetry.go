package scim

import (
	"context"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/ssokit/ssokit/internal/telemetry"
)

// statusWriter records the status code a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap returns the wrapped writer (for http.ResponseController).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument starts the request's "scim.request" span and returns the
// writer and request to use and the function that ends the span and counts
// the request by operation (the route pattern, e.g. "PATCH /Users/{id}":
// a bounded set) and status.
func (h *Handler) instrument(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	_, pattern := h.mux.Handler(r)
	if pattern == "" || (pattern == "/" && r.URL.Path != "/") {
		pattern = "unknown"
	}
	ctx, op := h.tel.StartOp(r.Context(), "scim.request", string(protocol))
	sw := &statusWriter{ResponseWriter: w}
	return sw, r.WithContext(ctx), func() {
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		recording := op.Span.IsRecording()
		if !recording && !h.tel.SCIMRequests.Enabled(ctx) {
			op.Span.End()
			return
		}
		attrs := []attribute.KeyValue{telemetry.KeyOperation.String(pattern), telemetry.KeyStatus.String(strconv.Itoa(status))}
		h.tel.SCIMRequests.Add(ctx, 1, h.tel.MetricAttrs(op.Org, "", attrs...))
		if recording {
			op.Span.SetAttributes(attrs...)
			op.Span.SetAttributes(telemetry.Tenant(op.Org, "")...)
			if status >= 400 {
				op.Span.SetAttributes(telemetry.KeyOutcome.String("failure"))
				op.Span.SetStatus(codes.Error, http.StatusText(status))
			} else {
				op.Span.SetAttributes(telemetry.KeyOutcome.String("success"))
			}
		}
		op.Span.End()
	}
}

// rateLimited counts a request refused by the organization's rate limit.
func (h *Handler) rateLimited(ctx context.Context, orgID string) {
	h.tel.RateLimited.Add(ctx, 1, h.tel.MetricAttrs(orgID, "", telemetry.KeyComponent.String("scim")))
}
