package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Event types of the federation health checker, besides
// EventConnectionUnhealthy and EventCertificateExpiring.
const (
	// EventConnectionRecovered is recorded when an unhealthy connection's
	// IdP answers again.
	EventConnectionRecovered = "connection.recovered"
)

// Status is the state of a connection's IdP as the health checker
// last saw it.
type Status string

// Health states.
const (
	Unknown   Status = "unknown"
	Healthy   Status = "healthy"
	Unhealthy Status = "unhealthy"
)

// Report is the last health check result of one connection.
type Report struct {
	ConnectionID string       `json:"connection_id"`
	OrgID        string       `json:"org_id"`
	Protocol     sso.Protocol `json:"protocol"`
	Status       Status       `json:"status"`
	// Reachable reports whether the last fetch succeeded (false too when
	// there was nothing to fetch).
	Reachable bool `json:"reachable"`
	// Reason is the stable failure reason of the last check ("" when
	// healthy).
	Reason string `json:"reason,omitempty"`
	// Latency is how long the last probe took (in JSON, nanoseconds).
	Latency time.Duration `json:"latency"`
	// CheckedAt is when the last check finished, LastHealthyAt when one last
	// succeeded and UnhealthySince when the current unhealthy period began.
	CheckedAt      time.Time `json:"checked_at"`
	LastHealthyAt  time.Time `json:"last_healthy_at,omitzero"`
	UnhealthySince time.Time `json:"unhealthy_since,omitzero"`
	// ConsecutiveFailures counts failed checks since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Keys is the number of usable signing keys the IdP published.
	Keys int `json:"keys"`
	// Certificates are the certificates found, earliest expiry first.
	Certificates []sso.CertificateInfo `json:"certificates,omitempty"`
	// CertificateWarnings maps a certificate fingerprint to the smallest
	// expiry threshold (30, 7 or 1 days) already announced by an
	// EventCertificateExpiring, so each threshold is announced once.
	CertificateWarnings map[string]int `json:"-"`
}

// EarliestExpiry returns the NotAfter of the certificate that expires
// first, or the zero time when there is none.
func (h *Report) EarliestExpiry() time.Time {
	var t time.Time
	for _, c := range h.Certificates {
		if t.IsZero() || c.NotAfter.Before(t) {
			t = c.NotAfter
		}
	}
	return t
}

// Store keeps health check results and the claims that let several
// replicas share the checks. Every method is safe for concurrent use.
type Store interface {
	// ClaimHealthCheck atomically claims the next check of connID at now,
	// and succeeds (true) only when no claim for connID was made at or after
	// notBefore. Of several concurrent callers with the same notBefore at
	// most one wins.
	ClaimHealthCheck(ctx context.Context, connID string, now, notBefore time.Time) (bool, error)
	// PutHealth stores h, replacing the connection's previous result.
	PutHealth(ctx context.Context, h *Report) error
	// GetHealth returns the connection's last result, or ErrNotFound.
	GetHealth(ctx context.Context, connID string) (*Report, error)
	// DeleteHealth removes the connection's result and claim. Deleting a
	// missing result is not an error.
	DeleteHealth(ctx context.Context, connID string) error
}

// CertificateWarningDays are the thresholds, in days before a trusted
// certificate expires, at which EventCertificateExpiring is recorded.
var CertificateWarningDays = []int{30, 7, 1}

// EventLog records the checker's events and finds earlier expiry
// announcements; *audit.Trail implements it.
type EventLog interface {
	Record(ctx context.Context, e *sso.Event) error
	Query(ctx context.Context, q sso.EventQuery) ([]*sso.Event, int64, error)
}

// Config configures a Checker.
type Config struct {
	// Connections lists the active connections. Required.
	Connections sso.ConnectionStore
	// Store keeps results and claims. Required.
	Store Store
	// Probers check the IdPs, one per protocol (the saml and oidc packages
	// provide them). Connections of other protocols are skipped. Required.
	Probers map[sso.Protocol]sso.HealthProber
	// Auditor records EventConnectionUnhealthy, EventConnectionRecovered and
	// EventCertificateExpiring. Nil records no events.
	Auditor EventLog
	// Interval is the time between checks of one connection. Zero means 5
	// minutes; at least 10 seconds.
	Interval time.Duration
	// Timeout bounds one probe. Zero means 20 seconds.
	Timeout time.Duration
	// FailureThreshold is how many consecutive failed checks turn a
	// connection unhealthy. Zero means 2, so one dropped request does not
	// page anyone.
	FailureThreshold int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger receives background-work logs. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider and MeterProvider receive spans and metrics. Nil means
	// the global providers.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// TenantMetrics adds organization and connection IDs to metric
	// attributes (spans always carry them). Off by default to keep metric
	// cardinality bounded.
	TenantMetrics bool
}

// Checker periodically checks every active connection's IdP (metadata
// URL, or discovery and JWKS), records reachability, latency and
// certificate expiry through a HealthStore, and records audit events when a
// connection turns unhealthy, recovers, or has a certificate nearing expiry.
// Several replicas may run it against one store: a per-connection claim
// makes one replica check each connection per interval.
type Checker struct {
	cfg Config
	log *slog.Logger
	tel *telemetry.T
}

// New returns a HealthChecker.
func New(cfg Config) (*Checker, error) {
	switch {
	case cfg.Connections == nil:
		return nil, fmt.Errorf("%w: health: nil connection store", sso.ErrInvalidConfig)
	case cfg.Store == nil:
		return nil, fmt.Errorf("%w: health: nil health store", sso.ErrInvalidConfig)
	case len(cfg.Probers) == 0:
		return nil, fmt.Errorf("%w: health: no probers", sso.ErrInvalidConfig)
	}
	for p, pr := range cfg.Probers {
		if pr == nil {
			return nil, fmt.Errorf("%w: health: nil prober for %s", sso.ErrInvalidConfig, p)
		}
	}
	if cfg.Interval == 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.Interval < 10*time.Second {
		return nil, fmt.Errorf("%w: health: interval below 10s", sso.ErrInvalidConfig)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.FailureThreshold <= 0 {
		cfg.FailureThreshold = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Checker{cfg: cfg, log: cfg.Logger}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.tel = telemetry.New("sso", telemetry.Config{TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider, TenantMetrics: cfg.TenantMetrics})
	return h, nil
}

// Run checks the due connections at once and then every tenth of the
// interval (so a connection is checked about once per Interval whichever
// replica claims it) until ctx ends. It returns ctx.Err().
func (h *Checker) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.Interval / 10)
	defer t.Stop()
	for {
		if _, err := h.CheckDue(ctx); err != nil && ctx.Err() == nil {
			h.log.ErrorContext(ctx, "sso: health check pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// CheckDue checks every active connection not checked (by any replica)
// within the last Interval and returns how many it checked.
func (h *Checker) CheckDue(ctx context.Context) (int, error) {
	n := 0
	after := ""
	for ctx.Err() == nil {
		conns, err := h.cfg.Connections.ListActiveConnections(ctx, "", after, 100)
		if err != nil {
			return n, fmt.Errorf("sso: health: list connections: %w", err)
		}
		for _, c := range conns {
			if h.cfg.Probers[c.Protocol] == nil {
				continue
			}
			now := h.cfg.Now()
			ok, err := h.cfg.Store.ClaimHealthCheck(ctx, c.ID, now, now.Add(-h.cfg.Interval))
			if err != nil {
				return n, fmt.Errorf("sso: health: claim: %w", err)
			}
			if !ok {
				continue
			}
			if _, err := h.Check(ctx, c); err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				h.log.WarnContext(ctx, "sso: health check not recorded", "connection", c.ID, "org", c.OrgID, "err", err)
				continue
			}
			n++
		}
		if len(conns) < 100 {
			break
		}
		after = conns[len(conns)-1].ID
	}
	return n, ctx.Err()
}

// Check probes c now (without claiming it), stores the result and records
// the audit events its transitions call for. The returned error concerns
// storage only: an unreachable IdP is a result, not an error.
func (h *Checker) Check(ctx context.Context, c *sso.Connection) (*Report, error) {
	pr := h.cfg.Probers[c.Protocol]
	if pr == nil {
		return nil, fmt.Errorf("%w: health: no prober for protocol %q", sso.ErrInvalidInput, c.Protocol)
	}
	ctx, span := h.tel.Start(ctx, "sso.health.check", append(telemetry.Tenant(c.OrgID, c.ID), telemetry.KeyProtocol.String(string(c.Protocol)))...)
	prev, err := h.cfg.Store.GetHealth(ctx, c.ID)
	if err != nil && !errors.Is(err, sso.ErrNotFound) {
		telemetry.End(span, sso.ReasonOf(err), err)
		return nil, fmt.Errorf("sso: health: read previous result: %w", err)
	}
	start := h.cfg.Now()
	pctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	probe, perr := pr.ProbeConnection(pctx, c)
	cancel()
	now := h.cfg.Now()
	cur := &Report{ConnectionID: c.ID, OrgID: c.OrgID, Protocol: c.Protocol, CheckedAt: now, Latency: now.Sub(start)}
	if prev != nil {
		cur.LastHealthyAt, cur.UnhealthySince = prev.LastHealthyAt, prev.UnhealthySince
		cur.ConsecutiveFailures = prev.ConsecutiveFailures
		cur.CertificateWarnings = prev.CertificateWarnings
		// Keep the last known certificates while the IdP is unreachable:
		// their expiry still matters.
		cur.Certificates, cur.Keys = prev.Certificates, prev.Keys
	}
	prevStatus := Unknown
	if prev != nil {
		prevStatus = prev.Status
	}
	if perr != nil {
		cur.Reason = sso.ReasonOf(perr)
		if cur.Reason == "internal" {
			cur.Reason = "unreachable"
			if errors.Is(perr, context.DeadlineExceeded) {
				cur.Reason = "timeout"
			}
		}
		cur.ConsecutiveFailures++
		// Below the threshold the previous verdict stands (unknown for a
		// connection never checked).
		cur.Status = prevStatus
		if cur.ConsecutiveFailures >= h.cfg.FailureThreshold {
			cur.Status = Unhealthy
		}
	} else {
		cur.Status, cur.Reachable, cur.ConsecutiveFailures = Healthy, probe.Fetched, 0
		cur.LastHealthyAt, cur.UnhealthySince = now, time.Time{}
		cur.Keys = probe.Keys
		cur.Certificates = append([]sso.CertificateInfo(nil), probe.Certificates...)
		sort.SliceStable(cur.Certificates, func(i, j int) bool { return cur.Certificates[i].NotAfter.Before(cur.Certificates[j].NotAfter) })
	}
	if cur.Status == Unhealthy && prevStatus != Unhealthy {
		cur.UnhealthySince = now
	}
	events := h.transitions(c, prevStatus, cur, now)
	span.SetAttributes(attribute.String("ssokit.health.status", string(cur.Status)), attribute.Int64("ssokit.health.latency_ms", cur.Latency.Milliseconds()))
	if exp := cur.EarliestExpiry(); !exp.IsZero() {
		// Only the earliest expiry is recorded: one series per connection
		// with tenant metrics, one per protocol without.
		h.tel.CertDaysLeft.Record(ctx, exp.Sub(now).Hours()/24, h.tel.MetricAttrs(c.OrgID, c.ID,
			telemetry.KeyProtocol.String(string(c.Protocol))))
	}
	if err := h.cfg.Store.PutHealth(ctx, cur); err != nil {
		telemetry.End(span, sso.ReasonOf(err), err)
		return nil, fmt.Errorf("sso: health: store result: %w", err)
	}
	for _, e := range events {
		if h.cfg.Auditor == nil {
			break
		}
		if e.Type == sso.EventCertificateExpiring && h.announced(ctx, e) {
			continue
		}
		if err := h.cfg.Auditor.Record(ctx, e); err != nil {
			h.log.WarnContext(ctx, "sso: audit event not recorded", "type", e.Type, "connection", c.ID, "err", err)
		}
	}
	if perr != nil {
		telemetry.End(span, cur.Reason, perr)
	} else {
		telemetry.End(span, "", nil)
	}
	return cur, nil
}

// transitions returns the audit events of the change from prevStatus to
// cur, and updates cur.CertificateWarnings.
func (h *Checker) transitions(c *sso.Connection, prevStatus Status, cur *Report, now time.Time) []*sso.Event {
	var out []*sso.Event
	ev := func(typ, outcome, reason string, details map[string]string) {
		out = append(out, &sso.Event{
			ID: opaque.NewID("evt_"), OrgID: c.OrgID, Time: now.UTC(), Type: typ,
			Actor:  sso.Actor{Type: sso.ActorSystem},
			Target: sso.Target{Type: "connection", ID: c.ID}, Outcome: outcome, Reason: reason, Details: details,
		})
	}
	switch {
	case cur.Status == Unhealthy && prevStatus != Unhealthy:
		ev(EventConnectionUnhealthy, sso.OutcomeFailure, cur.Reason, map[string]string{
			"protocol": string(c.Protocol), "consecutive_failures": strconv.Itoa(cur.ConsecutiveFailures),
		})
	case cur.Status == Healthy && prevStatus == Unhealthy:
		ev(EventConnectionRecovered, sso.OutcomeSuccess, "", map[string]string{"protocol": string(c.Protocol)})
	}
	warned := map[string]int{}
	for _, ci := range cur.Certificates {
		threshold := 0
		left := ci.NotAfter.Sub(now)
		for _, d := range CertificateWarningDays {
			if left <= time.Duration(d)*24*time.Hour && (threshold == 0 || d < threshold) {
				threshold = d
			}
		}
		before := cur.CertificateWarnings[ci.Fingerprint]
		if threshold == 0 {
			continue
		}
		if before != 0 && before <= threshold {
			warned[ci.Fingerprint] = before
			continue
		}
		warned[ci.Fingerprint] = threshold
		outcome := sso.OutcomeSuccess
		if left <= 0 {
			outcome = sso.OutcomeFailure
		}
		ev(sso.EventCertificateExpiring, outcome, "", map[string]string{
			"fingerprint": ci.Fingerprint, "not_after": ci.NotAfter.UTC().Format(time.RFC3339),
			"threshold_days": strconv.Itoa(threshold), "days_left": strconv.Itoa(int(left.Hours() / 24)),
		})
	}
	// Forget certificates no longer present, so the map stays small.
	cur.CertificateWarnings = warned
	if len(warned) == 0 {
		cur.CertificateWarnings = nil
	}
	return out
}

// announced reports whether an EventCertificateExpiring for the same
// connection, certificate and threshold was already recorded in the last 40
// days, by this checker or by another component that announces expiry with
// the same details (the saml package's metadata refresh does), so a host
// running both is told once.
func (h *Checker) announced(ctx context.Context, e *sso.Event) bool {
	prior, _, err := h.cfg.Auditor.Query(ctx, sso.EventQuery{OrgID: e.OrgID, Type: sso.EventCertificateExpiring,
		Since: e.Time.Add(-40 * 24 * time.Hour), Limit: 1000})
	if err != nil {
		return false
	}
	for _, p := range prior {
		if p.Target.ID == e.Target.ID && p.Details["fingerprint"] == e.Details["fingerprint"] &&
			p.Details["threshold_days"] == e.Details["threshold_days"] {
			return true
		}
	}
	return false
}

// Health returns the connection's last result, or one with Status
// Unknown when it was never checked.
func (h *Checker) Health(ctx context.Context, c *sso.Connection) (*Report, error) {
	res, err := h.cfg.Store.GetHealth(ctx, c.ID)
	if errors.Is(err, sso.ErrNotFound) {
		return &Report{ConnectionID: c.ID, OrgID: c.OrgID, Protocol: c.Protocol, Status: Unknown}, nil
	}
	return res, err
}
