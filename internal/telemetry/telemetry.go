// Package telemetry holds the OpenTelemetry instruments every ssokit
// component shares: one tracer per component and one set of metric
// instruments with bounded cardinality. It depends only on the
// OpenTelemetry API; with no provider configured (the global no-op
// providers) recording costs next to nothing.
package telemetry

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopePrefix prefixes every instrumentation scope name.
const ScopePrefix = "github.com/ssokit/ssokit/"

// Attribute keys. Values are IDs, protocol names, outcomes and stable
// reasons only: never emails, tokens, assertions or secrets.
const (
	KeyOrg        = attribute.Key("ssokit.org")
	KeyConnection = attribute.Key("ssokit.connection")
	KeyProtocol   = attribute.Key("ssokit.protocol")
	KeyOutcome    = attribute.Key("ssokit.outcome")
	KeyReason     = attribute.Key("ssokit.reason")
	KeyOperation  = attribute.Key("ssokit.operation")
	KeyStatus     = attribute.Key("ssokit.status")
	KeyKind       = attribute.Key("ssokit.kind")
	KeyComponent  = attribute.Key("ssokit.component")
)

// Config selects the providers. Nil fields use the global providers
// (otel.GetTracerProvider / otel.GetMeterProvider), which are no-ops until
// the host installs an SDK.
type Config struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization and connection IDs to metric
	// attributes. Off by default to keep cardinality bounded; spans always
	// carry them.
	TenantMetrics bool
}

// T is one component's telemetry.
type T struct {
	tracer        trace.Tracer
	tenantMetrics bool

	// LoginAttempts counts finished logins by protocol, outcome and reason.
	LoginAttempts metric.Int64Counter
	// LoginDuration records login latency in seconds by protocol and outcome.
	LoginDuration metric.Float64Histogram
	// ValidationFailures counts rejected assertions and tokens by protocol
	// and reason.
	ValidationFailures metric.Int64Counter
	// SCIMRequests counts SCIM requests by operation and status.
	SCIMRequests metric.Int64Counter
	// RateLimited counts rate-limit rejections by component.
	RateLimited metric.Int64Counter
	// RefreshReuse counts refresh-token reuse detections.
	RefreshReuse metric.Int64Counter
	// MFAEvents counts TOTP/WebAuthn outcomes by kind (success, failure,
	// replay, lockout).
	MFAEvents metric.Int64Counter
	// SessionsActive tracks live sessions (+1 issued, -1 ended).
	SessionsActive metric.Int64UpDownCounter
	// FetchFailures counts metadata, discovery and JWKS fetch failures by
	// kind.
	FetchFailures metric.Int64Counter
	// CertDaysLeft records the days until each trusted IdP certificate
	// expires, at every check.
	CertDaysLeft metric.Float64Gauge
}

// New returns the telemetry of the named component ("saml", "oidc", ...).
// Instrument creation errors fall back to no-op instruments; the OpenTelemetry
// API reports them through its global error handler.
func New(component string, cfg Config) *T {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	mp := cfg.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopePrefix + component)
	t := &T{tracer: tp.Tracer(ScopePrefix + component), tenantMetrics: cfg.TenantMetrics}
	t.LoginAttempts, _ = m.Int64Counter("ssokit.login.attempts", metric.WithDescription("Finished SSO logins by protocol, outcome and reason."), metric.WithUnit("{login}"))
	t.LoginDuration, _ = m.Float64Histogram("ssokit.login.duration", metric.WithDescription("SSO login latency (ACS or callback to completion)."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
	t.ValidationFailures, _ = m.Int64Counter("ssokit.validation.failures", metric.WithDescription("Rejected assertions and tokens by protocol and reason."), metric.WithUnit("{failure}"))
	t.SCIMRequests, _ = m.Int64Counter("ssokit.scim.requests", metric.WithDescription("SCIM requests by operation and status."), metric.WithUnit("{request}"))
	t.RateLimited, _ = m.Int64Counter("ssokit.ratelimit.rejections", metric.WithDescription("Requests rejected by a rate limit."), metric.WithUnit("{request}"))
	t.RefreshReuse, _ = m.Int64Counter("ssokit.token.refresh_reuse", metric.WithDescription("Refresh-token reuse detections (family revoked)."), metric.WithUnit("{detection}"))
	t.MFAEvents, _ = m.Int64Counter("ssokit.mfa.events", metric.WithDescription("MFA verification outcomes by kind."), metric.WithUnit("{event}"))
	t.SessionsActive, _ = m.Int64UpDownCounter("ssokit.sessions.active", metric.WithDescription("Live sessions issued by this process minus those it ended."), metric.WithUnit("{session}"))
	t.FetchFailures, _ = m.Int64Counter("ssokit.fetch.failures", metric.WithDescription("IdP metadata, discovery and JWKS fetch failures by kind."), metric.WithUnit("{failure}"))
	t.CertDaysLeft, _ = m.Float64Gauge("ssokit.idp.certificate.days_left", metric.WithDescription("Days until a trusted IdP certificate expires."), metric.WithUnit("d"))
	return t
}

// Start starts a span named name with attrs. The attributes are set only
// when the span records, so a no-op provider costs no attribute work.
func (t *T) Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	ctx, span := t.tracer.Start(ctx, name)
	if len(attrs) > 0 && span.IsRecording() {
		span.SetAttributes(attrs...)
	}
	return ctx, span
}

// End ends span, recording the outcome and, for a failure, the stable reason
// (never the error text, which may carry personal data).
func End(span trace.Span, reason string, err error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	if err != nil {
		span.SetAttributes(KeyOutcome.String("failure"), KeyReason.String(reason))
		span.SetStatus(codes.Error, reason)
	} else {
		span.SetAttributes(KeyOutcome.String("success"))
	}
	span.End()
}

// Tenant returns the organization and connection attributes for spans.
func Tenant(org, conn string) []attribute.KeyValue {
	var a []attribute.KeyValue
	if org != "" {
		a = append(a, KeyOrg.String(org))
	}
	if conn != "" {
		a = append(a, KeyConnection.String(conn))
	}
	return a
}

// MetricAttrs returns attrs plus the tenant attributes when the host opted
// in to tenant metrics.
func (t *T) MetricAttrs(org, conn string, attrs ...attribute.KeyValue) metric.MeasurementOption {
	if t.tenantMetrics {
		attrs = append(attrs, Tenant(org, conn)...)
	}
	return metric.WithAttributes(attrs...)
}

// RecordLogin records a finished login: the attempt counter, the latency
// histogram and, for a failure, the validation-failure counter.
func (t *T) RecordLogin(ctx context.Context, protocol, org, conn string, start time.Time, reason string, err error) {
	if !t.LoginAttempts.Enabled(ctx) && !t.LoginDuration.Enabled(ctx) && !t.ValidationFailures.Enabled(ctx) {
		return
	}
	outcome := "success"
	if err != nil {
		outcome = "failure"
	}
	base := []attribute.KeyValue{KeyProtocol.String(protocol), KeyOutcome.String(outcome)}
	if err != nil {
		base = append(base, KeyReason.String(reason))
		var canceled = errors.Is(err, context.Canceled)
		if !canceled {
			t.ValidationFailures.Add(ctx, 1, t.MetricAttrs(org, conn, KeyProtocol.String(protocol), KeyReason.String(reason)))
		}
	}
	t.LoginAttempts.Add(ctx, 1, t.MetricAttrs(org, conn, base...))
	t.LoginDuration.Record(ctx, time.Since(start).Seconds(), t.MetricAttrs(org, conn, base[:2]...))
}

// Op is one instrumented request whose outcome is settled in several places
// (a handler and its failure paths): the span, the start time and the
// tenant and error as they become known. Handlers keep it in the request
// context (WithOp / OpFrom) so that shared failure helpers can report to it.
type Op struct {
	Span     trace.Span
	Start    time.Time
	Protocol string
	Org      string
	Conn     string
	Err      error
	Reason   string
}

type opKey struct{}

// StartOp starts a span named name and returns ctx carrying it and the Op.
func (t *T) StartOp(ctx context.Context, name, protocol string) (context.Context, *Op) {
	ctx, span := t.Start(ctx, name)
	if span.IsRecording() {
		span.SetAttributes(KeyProtocol.String(protocol))
	}
	op := &Op{Span: span, Start: time.Now(), Protocol: protocol}
	return context.WithValue(ctx, opKey{}, op), op
}

// OpFrom returns the Op of ctx, or nil.
func OpFrom(ctx context.Context) *Op {
	op, _ := ctx.Value(opKey{}).(*Op)
	return op
}

// SetTenant records the organization and connection of the operation.
func (o *Op) SetTenant(org, conn string) {
	if o == nil {
		return
	}
	o.Org, o.Conn = org, conn
}

// Fail records err with its stable reason; the first failure wins.
func (o *Op) Fail(err error, reason string) {
	if o == nil || err == nil || o.Err != nil {
		return
	}
	o.Err, o.Reason = err, reason
}

// EndLogin ends a login operation (SAML ACS, OIDC callback): the span with
// tenant, outcome and reason, and the login metrics.
func (t *T) EndLogin(ctx context.Context, o *Op) {
	if o.Span.IsRecording() {
		o.Span.SetAttributes(Tenant(o.Org, o.Conn)...)
	}
	t.RecordLogin(ctx, o.Protocol, o.Org, o.Conn, o.Start, o.Reason, o.Err)
	End(o.Span, o.Reason, o.Err)
}

// EndOp ends a non-login operation: the span with tenant, outcome and
// reason.
func EndOp(o *Op) {
	if o.Span.IsRecording() {
		o.Span.SetAttributes(Tenant(o.Org, o.Conn)...)
	}
	End(o.Span, o.Reason, o.Err)
}

// RecordFetch records a fetch of IdP metadata, discovery or keys: a failed
// one counts in FetchFailures by kind and reason.
func (t *T) RecordFetch(ctx context.Context, span trace.Span, kind, reason string, err error) {
	if err != nil && t.FetchFailures.Enabled(ctx) {
		t.FetchFailures.Add(ctx, 1, metric.WithAttributes(KeyKind.String(kind), KeyReason.String(reason)))
	}
	End(span, reason, err)
}
