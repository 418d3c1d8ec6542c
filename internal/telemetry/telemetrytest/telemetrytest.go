// Package telemetrytest records the spans and metrics of ssokit components
// in memory, with the OpenTelemetry SDK's span recorder and a manual metric
// reader, and reads them back for assertions. Only tests import it, so the
// library itself never depends on the SDK.
package telemetrytest

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Recorder holds an in-memory tracer provider and meter provider.
type Recorder struct {
	Spans  *tracetest.SpanRecorder
	Reader *sdkmetric.ManualReader
	TP     *sdktrace.TracerProvider
	MP     *sdkmetric.MeterProvider
}

// New returns a Recorder whose providers shut down when the test ends.
func New(t testing.TB) *Recorder {
	r := &Recorder{Spans: tracetest.NewSpanRecorder(), Reader: sdkmetric.NewManualReader()}
	r.TP = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.Spans))
	r.MP = sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.Reader))
	t.Cleanup(func() {
		_ = r.TP.Shutdown(context.Background())
		_ = r.MP.Shutdown(context.Background())
	})
	return r
}

// Span is an ended span's name and attributes (values as strings).
type Span struct {
	Name   string
	Attrs  map[string]string
	Status string
}

// Ended returns the ended spans in end order.
func (r *Recorder) Ended() []Span {
	var out []Span
	for _, s := range r.Spans.Ended() {
		sp := Span{Name: s.Name(), Attrs: map[string]string{}, Status: s.Status().Code.String()}
		for _, kv := range s.Attributes() {
			sp.Attrs[string(kv.Key)] = kv.Value.Emit()
		}
		out = append(out, sp)
	}
	return out
}

// Named returns the ended spans called name.
func (r *Recorder) Named(name string) []Span {
	var out []Span
	for _, s := range r.Ended() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Point is one data point of a metric: its attributes and its value (the
// sum, the gauge value, or the histogram count).
type Point struct {
	Attrs map[string]string
	Value float64
}

// Metric returns the data points of the metric called name.
func (r *Recorder) Metric(t testing.TB, name string) []Point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	var out []Point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, Point{Attrs: attrs(p.Attributes.ToSlice()), Value: float64(p.Value)})
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					out = append(out, Point{Attrs: attrs(p.Attributes.ToSlice()), Value: p.Value})
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out = append(out, Point{Attrs: attrs(p.Attributes.ToSlice()), Value: p.Value})
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out = append(out, Point{Attrs: attrs(p.Attributes.ToSlice()), Value: float64(p.Value)})
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, Point{Attrs: attrs(p.Attributes.ToSlice()), Value: float64(p.Count)})
				}
			}
		}
	}
	return out
}

// Sum adds the values of the metric's points whose attributes include
// every "key=value" in match.
func (r *Recorder) Sum(t testing.TB, name string, match ...string) float64 {
	t.Helper()
	total := 0.0
	for _, p := range r.Metric(t, name) {
		if Matches(p.Attrs, match...) {
			total += p.Value
		}
	}
	return total
}

// Matches reports whether attrs include every "key=value" in match.
func Matches(attrs map[string]string, match ...string) bool {
	for _, m := range match {
		k, v, _ := strings.Cut(m, "=")
		if got, ok := attrs[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.Emit()
	}
	return out
}

// AllAttrs returns every attribute value of every ended span and metric
// point, for asserting that none carries personal data or secrets.
func (r *Recorder) AllAttrs(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, s := range r.Ended() {
		out = append(out, s.Name)
		for k, v := range s.Attrs {
			out = append(out, k+"="+v)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := r.Reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, p := range r.Metric(t, m.Name) {
				for k, v := range p.Attrs {
					out = append(out, m.Name+":"+k+"="+v)
				}
			}
		}
	}
	return out
}
