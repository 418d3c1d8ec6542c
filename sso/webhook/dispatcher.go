package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Defaults of Config and Endpoint.
const (
	DefaultPollInterval     = time.Second
	DefaultLease            = 2 * time.Minute
	DefaultBackoffBase      = 5 * time.Second
	DefaultBackoffMax       = 10 * time.Hour
	DefaultMaxAttempts      = 16
	DefaultDisableAfter     = 72 * time.Hour
	DefaultWorkers          = 8
	DefaultTimeout          = 10 * time.Second
	MaxTimeout              = 30 * time.Second
	DefaultMaxResponseBytes = 64 << 10
	DefaultBatchSize        = 100
	MaxBatchSize            = 1000
)

// Config configures a Dispatcher.
type Config struct {
	// Store keeps endpoints, deliveries and the attempt log. Required.
	Store Store
	// Events is the audit trail the Dispatcher reads. Required.
	Events sso.EventStore
	// Sealer seals signing secrets at rest. Required.
	Sealer sso.Sealer
	// Auditor records EventEndpointDisabled. Required.
	Auditor sso.EventRecorder
	// HTTPClient is the base client; only its *http.Transport is used (see
	// internal/egress). Nil means a default transport.
	HTTPClient *http.Client
	// AllowPrivateAddresses lets endpoints be private, loopback or
	// link-local addresses. Off by default, against SSRF.
	AllowPrivateAddresses bool
	// AllowInsecureURLs accepts plain http endpoint URLs on loopback, for
	// development.
	AllowInsecureURLs bool
	// PollInterval is how often idle loops look for work. Zero means 1s.
	PollInterval time.Duration
	// Lease is how long a claimed delivery stays with its worker before
	// another may take it over (after a crash). Zero means 2 minutes.
	Lease time.Duration
	// BackoffBase and BackoffMax shape the retry delay: attempt n waits a
	// uniformly random time in [0, min(BackoffMax, BackoffBase*2^(n-1))).
	// Zero means 5s and 10h.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxAttempts is how many attempts a delivery gets before it fails.
	// Zero means 16.
	MaxAttempts int
	// DisableAfter disables an endpoint whose attempts have all failed for
	// this long. Zero means 72 hours.
	DisableAfter time.Duration
	// MaxConsecutiveFailures, when positive, also disables an endpoint
	// after that many failed attempts in a row.
	MaxConsecutiveFailures int
	// Workers is how many deliveries one Dispatcher sends at once. Zero
	// means 8.
	Workers int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger logs failed passes. Nil means slog.Default().
	Logger *slog.Logger
}

// Dispatcher fans events out to endpoints and delivers them. Several
// Dispatchers (replicas) may run on one store at once. It is safe for
// concurrent use.
type Dispatcher struct {
	cfg    Config
	client *http.Client
	owner  string
	// jitter maps a backoff ceiling to the delay actually used.
	jitter func(time.Duration) time.Duration
}

// New validates cfg and returns a Dispatcher.
func New(cfg Config) (*Dispatcher, error) {
	var errs []error
	if cfg.Store == nil || cfg.Events == nil || cfg.Sealer == nil || cfg.Auditor == nil {
		errs = append(errs, errors.New("Store, Events, Sealer and Auditor are required"))
	}
	if cfg.PollInterval < 0 || cfg.Lease < 0 || cfg.BackoffBase < 0 || cfg.BackoffMax < 0 ||
		cfg.MaxAttempts < 0 || cfg.DisableAfter < 0 || cfg.MaxConsecutiveFailures < 0 || cfg.Workers < 0 {
		errs = append(errs, errors.New("durations and counts must not be negative"))
	}
	setDefault(&cfg.Workers, DefaultWorkers)
	base := cfg.HTTPClient
	if base == nil {
		// Keep a connection per worker alive between deliveries.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Workers
		base = &http.Client{Transport: tr}
	}
	client, err := egress.New(egress.Options{Base: base, AllowPrivate: cfg.AllowPrivateAddresses,
		AllowHTTP: cfg.AllowInsecureURLs, Timeout: MaxTimeout, MaxRedirects: -1})
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: webhook: %w", sso.ErrInvalidConfig, errors.Join(errs...))
	}
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.Lease, DefaultLease)
	setDefault(&cfg.BackoffBase, DefaultBackoffBase)
	setDefault(&cfg.BackoffMax, DefaultBackoffMax)
	setDefault(&cfg.MaxAttempts, DefaultMaxAttempts)
	setDefault(&cfg.DisableAfter, DefaultDisableAfter)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dispatcher{cfg: cfg, client: client, owner: opaque.NewID("wdp_"),
		jitter: func(d time.Duration) time.Duration { return rand.N(d) }}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// backoff returns the delay before the attempt after the n-th failed one:
// full jitter over an exponential ceiling.
func (d *Dispatcher) backoff(n int) time.Duration {
	ceil := d.cfg.BackoffMax
	if n-1 < 40 {
		if c := d.cfg.BackoffBase << (n - 1); c > 0 && c < ceil {
			ceil = c
		}
	}
	if ceil <= 0 {
		return 0
	}
	return d.jitter(ceil)
}

// Run fans out, delivers and streams until ctx ends, then returns
// ctx.Err(). Failed passes are logged and retried at the next poll. When
// ctx ends, requests in flight run to their answer or their endpoint's
// timeout and their outcome is recorded before Run returns, so a graceful
// stop neither loses nor repeats a delivery; after a crash, a delivery in
// flight is retried once its lease (Config.Lease) ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	done := make(chan struct{}, 3)
	for _, loop := range []func(context.Context) (bool, error){d.FanOut, d.Deliver, d.Stream} {
		go func() {
			defer func() { done <- struct{}{} }()
			d.loop(ctx, loop)
		}()
	}
	for range 3 {
		<-done
	}
	return ctx.Err()
}

// loop runs pass until ctx ends, at once again while it reports more work
// and after PollInterval otherwise.
func (d *Dispatcher) loop(ctx context.Context, pass func(context.Context) (bool, error)) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		more, err := pass(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.WarnContext(ctx, "webhook: pass failed", "err", err)
		}
		wait := d.cfg.PollInterval
		if more && err == nil {
			wait = 0
		}
		t.Reset(wait)
	}
}

// endpointFailed counts a failed attempt and disables the endpoint, with
// an audit event, once it has failed for DisableAfter or
// MaxConsecutiveFailures attempts in a row.
func (d *Dispatcher) endpointFailed(ctx context.Context, e *Endpoint) error {
	now := d.cfg.Now()
	n, since, err := d.cfg.Store.RecordFailure(ctx, e.ID, now)
	if err != nil {
		return err
	}
	var reason string
	switch {
	case d.cfg.MaxConsecutiveFailures > 0 && n >= d.cfg.MaxConsecutiveFailures:
		reason = fmt.Sprintf("%d consecutive failed attempts", n)
	case !since.IsZero() && now.Sub(since) >= d.cfg.DisableAfter:
		reason = fmt.Sprintf("every attempt failed since %s", since.UTC().Format(time.RFC3339))
	default:
		return nil
	}
	// The event is stored with the switch (only when it changed the
	// endpoint) when the Store is an EventBinder.
	ev := &sso.Event{OrgID: e.OrgID, Type: EventEndpointDisabled,
		Actor: sso.Actor{Type: sso.ActorSystem}, Target: sso.Target{Type: "webhook_endpoint", ID: e.ID},
		Outcome: sso.OutcomeSuccess, Reason: reason, Details: map[string]string{"url": e.URL, "kind": string(e.Kind)}}
	if _, bound := d.cfg.Store.(EventBinder); bound {
		changed := false
		err := d.change(ctx, func(s Store) error {
			var err error
			changed, err = s.SetEnabled(ctx, e.ID, false, reason, now)
			return err
		}, ev)
		if err == nil && changed {
			d.cfg.Logger.WarnContext(ctx, "webhook: endpoint disabled", "endpoint", e.ID, "org", e.OrgID, "reason", reason)
		}
		return err
	}
	changed, err := d.cfg.Store.SetEnabled(ctx, e.ID, false, reason, now)
	if err != nil || !changed {
		return err
	}
	d.cfg.Logger.WarnContext(ctx, "webhook: endpoint disabled", "endpoint", e.ID, "org", e.OrgID, "reason", reason)
	return d.cfg.Auditor.Record(ctx, ev)
}
