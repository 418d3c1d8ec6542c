package main

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// telemetrySetup installs the OpenTelemetry SDK when -otel-stdout is set:
// spans and metrics are printed to stdout as JSON lines. Without the flag
// ssokit's instrumentation talks to the global no-op providers.
type telemetrySetup struct {
	tp *sdktrace.TracerProvider
	mp *sdkmetric.MeterProvider
}

func setupTelemetry(stdout bool) (*telemetrySetup, error) {
	t := &telemetrySetup{}
	if !stdout {
		return t, nil
	}
	out := &jsonLines{enc: json.NewEncoder(os.Stdout)}
	t.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(spanPrinter{out}))
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricPrinter{out}, sdkmetric.WithInterval(30*time.Second))))
	otel.SetTracerProvider(t.tp)
	otel.SetMeterProvider(t.mp)
	return t, nil
}

// providers returns the providers to hand to ssokit components (nil means
// the global ones).
func (t *telemetrySetup) providers() (trace.TracerProvider, metric.MeterProvider) {
	if t.tp == nil {
		return nil, nil
	}
	return t.tp, t.mp
}

func (t *telemetrySetup) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if t.tp != nil {
		t.tp.Shutdown(ctx)
	}
	if t.mp != nil {
		t.mp.Shutdown(ctx)
	}
}

type jsonLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (j *jsonLines) write(v any) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.enc.Encode(v)
}

type spanPrinter struct{ out *jsonLines }

func (p spanPrinter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		attrs := map[string]any{}
		for _, kv := range s.Attributes() {
			attrs[string(kv.Key)] = kv.Value.AsInterface()
		}
		if err := p.out.write(map[string]any{
			"span":        s.Name(),
			"trace_id":    s.SpanContext().TraceID().String(),
			"span_id":     s.SpanContext().SpanID().String(),
			"parent_id":   s.Parent().SpanID().String(),
			"duration_ms": float64(s.EndTime().Sub(s.StartTime()).Microseconds()) / 1000,
			"status":      s.Status().Code.String(),
			"attributes":  attrs,
		}); err != nil {
			return err
		}
	}
	return nil
}

func (p spanPrinter) Shutdown(context.Context) error { return nil }

type metricPrinter struct{ out *jsonLines }

func (metricPrinter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DefaultTemporalitySelector(k)
}

func (metricPrinter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (p metricPrinter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if err := p.out.write(map[string]any{"metric": m.Name, "scope": sm.Scope.Name, "data": m.Data}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (metricPrinter) ForceFlush(context.Context) error { return nil }
func (metricPrinter) Shutdown(context.Context) error   { return nil }
