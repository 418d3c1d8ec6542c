package domains

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Domain verification defaults.
const (
	// DefaultChallengePrefix is the label under which the TXT record lives:
	// _ssokit-challenge.<domain>.
	DefaultChallengePrefix = "_ssokit-challenge"
	// ChallengeValuePrefix starts the TXT record's value.
	ChallengeValuePrefix = "ssokit-verify="
	// maxTXTRecords bounds how many TXT records are examined per lookup.
	maxTXTRecords = 256
)

// EventDomainRecheckMissed is recorded when a verified domain's periodic
// DNS re-check failed.
const EventDomainRecheckMissed = "domain.recheck_missed"

// TXTResolver looks up TXT records. Each returned string is one record with
// its character-strings concatenated, as *net.Resolver returns them.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Store is what Domains needs from storage.
type Store interface {
	sso.DomainStore
	sso.OrgStore
}

// Config configures a Domains manager.
type Config struct {
	// Store keeps the domains. Required.
	Store Store
	// Auditor records domain events. Nil records nothing.
	Auditor sso.EventRecorder
	// Resolver looks up TXT records. Nil means net.DefaultResolver. Use a
	// validating (DNSSEC) resolver in production where available.
	Resolver TXTResolver
	// LookupTimeout bounds one DNS lookup. Zero means 5 seconds.
	LookupTimeout time.Duration
	// ChallengePrefix is the record label. Empty means
	// DefaultChallengePrefix. It must start with "_".
	ChallengePrefix string
	// TokenTTL is how long a pending domain's token may be used. Zero means
	// 7 days; adding the domain again issues a fresh token.
	TokenTTL time.Duration
	// BlockedDomains extends the embedded list of public and disposable mail
	// domains that no organization may claim.
	BlockedDomains []string
	// RecheckInterval is how often Run re-verifies each verified domain.
	// Zero means 24 hours.
	RecheckInterval time.Duration
	// FailureThreshold is how many consecutive missed re-verifications mark
	// a domain failed (routing off). Zero means 3.
	FailureThreshold int
	// GracePeriod is the least time between the first miss and marking the
	// domain failed. Zero means 72 hours.
	GracePeriod time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs background work. Nil means slog.Default().
	Logger *slog.Logger
	// TracerProvider receives a span per DNS verification. Nil means the
	// global provider.
	TracerProvider trace.TracerProvider
}

// Manager manages organizations' email domains and their DNS TXT
// verification.
type Manager struct {
	cfg     Config
	blocked map[string]bool
	log     *slog.Logger
	tel     *telemetry.T
}

// New returns a Domains manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: domains: nil store", sso.ErrInvalidConfig)
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = 5 * time.Second
	}
	if cfg.ChallengePrefix == "" {
		cfg.ChallengePrefix = DefaultChallengePrefix
	}
	if !strings.HasPrefix(cfg.ChallengePrefix, "_") || strings.ContainsAny(cfg.ChallengePrefix, ". ") || len(cfg.ChallengePrefix) > 63 {
		return nil, fmt.Errorf("%w: domains: challenge prefix %q must be one label starting with '_'", sso.ErrInvalidConfig, cfg.ChallengePrefix)
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 7 * 24 * time.Hour
	}
	if cfg.RecheckInterval <= 0 {
		cfg.RecheckInterval = 24 * time.Hour
	}
	if cfg.FailureThreshold <= 0 {
		cfg.FailureThreshold = 3
	}
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = 72 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Manager{cfg: cfg, blocked: map[string]bool{}, log: cfg.Logger,
		tel: telemetry.New("sso", telemetry.Config{TracerProvider: cfg.TracerProvider})}
	if d.log == nil {
		d.log = slog.Default()
	}
	for _, b := range cfg.BlockedDomains {
		n, err := normalize.Domain(b)
		if err != nil {
			return nil, fmt.Errorf("%w: domains: blocked domain %q: %v", sso.ErrInvalidConfig, b, err)
		}
		d.blocked[n] = true
	}
	return d, nil
}

// Blocked reports whether a normalized domain may never be claimed: a public
// suffix, a public or disposable mail domain (embedded list or the host's
// BlockedDomains), or a subdomain of one.
func (d *Manager) Blocked(name string) bool {
	if normalize.IsPublicSuffix(name) || normalize.IsPublicMailDomain(name) {
		return true
	}
	for n := name; n != ""; {
		if d.blocked[n] {
			return true
		}
		i := strings.IndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[i+1:]
	}
	return false
}

// domainErr returns a refused domain operation: a *ValidationError with a
// stable Reason ("public_suffix", "public_mail_domain",
// "claimed_by_other_org", "token_expired", "record_not_found",
// "record_mismatch", "dns_unavailable") wrapping the matching sentinel
// (ErrInvalidInput, ErrConflict, ErrExpired, ErrUnavailable).
func domainErr(reason string, sentinel error, cause error) error {
	err := sentinel
	if cause != nil {
		err = fmt.Errorf("%w: %v", sentinel, cause)
	}
	return &sso.ValidationError{Reason: reason, Err: err}
}

// Add claims a domain for orgID and returns it pending, with a fresh token.
// Adding a pending or failed domain again issues a new token; adding a
// domain the organization has verified returns it unchanged.
func (d *Manager) Add(ctx context.Context, orgID, name string) (*sso.Domain, error) {
	n, err := normalize.Domain(name)
	if err != nil {
		return nil, err
	}
	if _, err := d.cfg.Store.GetOrg(ctx, orgID); err != nil {
		return nil, err
	}
	switch {
	case normalize.IsPublicSuffix(n):
		return nil, domainErr("public_suffix", sso.ErrInvalidInput, fmt.Errorf("%q is a public suffix", n))
	case d.Blocked(n):
		return nil, domainErr("public_mail_domain", sso.ErrInvalidInput, fmt.Errorf("%q is a public or disposable mail domain", n))
	}
	if v, err := d.cfg.Store.FindVerifiedDomain(ctx, n); err == nil && v.OrgID != orgID {
		return nil, domainErr("claimed_by_other_org", sso.ErrConflict, nil)
	} else if err != nil && !errors.Is(err, sso.ErrNotFound) {
		return nil, err
	}
	now := d.cfg.Now().UTC()
	existing, err := d.cfg.Store.GetDomain(ctx, orgID, n)
	switch {
	case err == nil && existing.State == sso.DomainVerified:
		return existing, nil
	case err == nil:
		existing.Token = opaque.NewToken(32)
		existing.State = sso.DomainPending
		existing.CreatedAt = now
		existing.ConsecutiveFailures = 0
		existing.FailingSince = time.Time{}
		if err := d.change(ctx, func(s Store) error { return s.UpdateDomain(ctx, existing) },
			d.event(EventAdded, existing, sso.OutcomeSuccess, "token_renewed", nil)); err != nil {
			return nil, err
		}
		return existing, nil
	case !errors.Is(err, sso.ErrNotFound):
		return nil, err
	}
	dom := &sso.Domain{OrgID: orgID, Name: n, Token: opaque.NewToken(32), State: sso.DomainPending, CreatedAt: now}
	if err := d.change(ctx, func(s Store) error { return s.CreateDomain(ctx, dom) },
		d.event(EventAdded, dom, sso.OutcomeSuccess, "", nil)); err != nil {
		return nil, err
	}
	return dom, nil
}

// Record returns the DNS record that proves control of dom: its owner name
// and TXT value.
func (d *Manager) Record(dom *sso.Domain) (name, value string) {
	return d.cfg.ChallengePrefix + "." + dom.Name, ChallengeValuePrefix + dom.Token
}

// Get returns orgID's domain name.
func (d *Manager) Get(ctx context.Context, orgID, name string) (*sso.Domain, error) {
	n, err := normalize.Domain(name)
	if err != nil {
		return nil, err
	}
	return d.cfg.Store.GetDomain(ctx, orgID, n)
}

// List returns orgID's domains.
func (d *Manager) List(ctx context.Context, orgID string) ([]*sso.Domain, error) {
	return d.cfg.Store.ListDomains(ctx, orgID)
}

// Remove deletes orgID's domain name; routing and linking stop at once.
func (d *Manager) Remove(ctx context.Context, orgID, name string) error {
	dom, err := d.Get(ctx, orgID, name)
	if err != nil {
		return err
	}
	return d.change(ctx, func(s Store) error { return s.DeleteDomain(ctx, orgID, dom.Name) },
		d.event(EventRemoved, dom, sso.OutcomeSuccess, "", nil))
}

// check looks up dom's challenge record and reports whether it carries
// dom's token: nil when it does, otherwise an error with a stable reason.
func (d *Manager) check(ctx context.Context, dom *sso.Domain) (err error) {
	ctx, span := d.tel.Start(ctx, "sso.domain.verify", telemetry.KeyOrg.String(dom.OrgID))
	defer func() { telemetry.End(span, sso.ReasonOf(err), err) }()
	name, want := d.Record(dom)
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LookupTimeout)
	defer cancel()
	recs, err := d.cfg.Resolver.LookupTXT(ctx, name)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return domainErr("record_not_found", sso.ErrInvalidInput, nil)
		}
		return domainErr("dns_unavailable", sso.ErrUnavailable, err)
	}
	if len(recs) == 0 {
		return domainErr("record_not_found", sso.ErrInvalidInput, nil)
	}
	if len(recs) > maxTXTRecords {
		recs = recs[:maxTXTRecords]
	}
	for _, r := range recs {
		if len(r) == len(want) && subtle.ConstantTimeCompare([]byte(r), []byte(want)) == 1 {
			return nil
		}
	}
	return domainErr("record_mismatch", sso.ErrInvalidInput, nil)
}

// Verify checks orgID's domain now. On success the domain becomes verified
// and starts routing; a domain another organization verified first yields
// ErrConflict. A pending token older than TokenTTL yields ErrExpired.
func (d *Manager) Verify(ctx context.Context, orgID, name string) (*sso.Domain, error) {
	dom, err := d.Get(ctx, orgID, name)
	if err != nil {
		return nil, err
	}
	now := d.cfg.Now().UTC()
	if dom.State == sso.DomainPending && now.Sub(dom.CreatedAt) > d.cfg.TokenTTL {
		err := domainErr("token_expired", sso.ErrExpired, nil)
		d.audit(ctx, EventFailed, dom, sso.OutcomeFailure, sso.ReasonOf(err), nil)
		return nil, err
	}
	dom.LastCheckedAt = now
	if err := d.check(ctx, dom); err != nil {
		d.audit(ctx, EventFailed, dom, sso.OutcomeFailure, sso.ReasonOf(err), nil)
		if dom.State != sso.DomainPending {
			// A manual check of a verified domain counts like a periodic one.
			if uerr := d.miss(ctx, dom, err, now); uerr != nil {
				return nil, uerr
			}
		}
		return nil, err
	}
	if err := d.markVerified(ctx, dom, now); err != nil {
		return nil, err
	}
	return dom, nil
}

func (d *Manager) markVerified(ctx context.Context, dom *sso.Domain, now time.Time) error {
	prev := *dom
	was := dom.State
	dom.State = sso.DomainVerified
	dom.VerifiedAt = now
	dom.LastCheckedAt = now
	dom.ConsecutiveFailures = 0
	dom.FailingSince = time.Time{}
	var evs []*sso.Event
	if was != sso.DomainVerified {
		evs = append(evs, d.event(EventVerified, dom, sso.OutcomeSuccess, "", nil))
	}
	if err := d.change(ctx, func(s Store) error { return s.UpdateDomain(ctx, dom) }, evs...); err != nil {
		if errors.Is(err, sso.ErrConflict) {
			err = domainErr("claimed_by_other_org", sso.ErrConflict, nil)
			d.audit(ctx, EventFailed, dom, sso.OutcomeFailure, sso.ReasonOf(err), nil)
			// Another organization holds the name: the domain keeps its
			// state, and its check is recorded so that Recheck takes it up
			// again only after RecheckInterval.
			*dom = prev
			dom.LastCheckedAt = now
			if uerr := d.cfg.Store.UpdateDomain(ctx, dom); uerr != nil {
				d.log.ErrorContext(ctx, "sso: domain check time not saved", "domain", dom.Name, "err", uerr)
			}
		}
		return err
	}
	return nil
}

// miss records a failed re-verification of a verified or failed domain and
// turns routing off once FailureThreshold misses have happened over at
// least GracePeriod.
func (d *Manager) miss(ctx context.Context, dom *sso.Domain, cause error, now time.Time) error {
	dom.LastCheckedAt = now
	dom.ConsecutiveFailures++
	if dom.FailingSince.IsZero() {
		dom.FailingSince = now
	}
	turnOff := dom.State == sso.DomainVerified && dom.ConsecutiveFailures >= d.cfg.FailureThreshold &&
		now.Sub(dom.FailingSince) >= d.cfg.GracePeriod
	if turnOff {
		dom.State = sso.DomainFailed
	}
	details := map[string]string{"consecutive_failures": fmt.Sprint(dom.ConsecutiveFailures)}
	evs := []*sso.Event{d.event(EventDomainRecheckMissed, dom, sso.OutcomeFailure, sso.ReasonOf(cause), details)}
	if turnOff {
		evs = append(evs, d.event(EventFailed, dom, sso.OutcomeFailure, "routing_disabled", details),
			d.event(EventLost, dom, sso.OutcomeFailure, sso.ReasonOf(cause), details))
	}
	return d.change(ctx, func(s Store) error { return s.UpdateDomain(ctx, dom) }, evs...)
}

// Recheck re-verifies up to limit verified or failed domains last checked
// more than RecheckInterval ago, and returns how many it checked. A
// domain whose record is back is verified again.
func (d *Manager) Recheck(ctx context.Context, limit int) (int, error) {
	now := d.cfg.Now().UTC()
	doms, err := d.cfg.Store.ListDomainsToCheck(ctx, now.Add(-d.cfg.RecheckInterval), limit)
	if err != nil {
		return 0, err
	}
	sysCtx := sso.WithAuditInfo(ctx, sso.AuditInfo{Actor: sso.Actor{Type: sso.ActorSystem, ID: "domain-recheck"}})
	for i, dom := range doms {
		if ctx.Err() != nil {
			return i, ctx.Err()
		}
		if cerr := d.check(ctx, dom); cerr != nil {
			if err := d.miss(sysCtx, dom, cerr, now); err != nil {
				d.log.ErrorContext(ctx, "sso: domain recheck", "domain", dom.Name, "err", err)
			}
			continue
		}
		if err := d.markVerified(sysCtx, dom, now); err != nil {
			d.log.ErrorContext(ctx, "sso: domain recheck", "domain", dom.Name, "err", err)
		}
	}
	return len(doms), nil
}

// Run re-verifies domains until ctx ends, waking every RecheckInterval/24
// (at least once a minute, at most once an hour) to check the domains that
// are due. It returns ctx's error.
func (d *Manager) Run(ctx context.Context) error {
	tick := min(max(d.cfg.RecheckInterval/24, time.Minute), time.Hour)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		for {
			n, err := d.Recheck(ctx, 100)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				d.log.ErrorContext(ctx, "sso: domain recheck", "err", err)
				break
			}
			if n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (d *Manager) audit(ctx context.Context, typ string, dom *sso.Domain, outcome, reason string, details map[string]string) {
	record.Quietly(ctx, d.cfg.Auditor, d.event(typ, dom, outcome, reason, details), d.log.ErrorContext)
}

func (d *Manager) event(typ string, dom *sso.Domain, outcome, reason string, details map[string]string) *sso.Event {
	return &sso.Event{OrgID: dom.OrgID, Type: typ, Target: sso.Target{Type: "domain", ID: dom.Name},
		Outcome: outcome, Reason: reason, Details: details}
}

// change runs fn, a write of one domain, with the events describing it:
// in one transaction when the store is an audit.EventBinder (a verified
// domain is never marked lost without domain.verification_lost, nor the
// event recorded for a write that failed), else fn and then the events.
func (d *Manager) change(ctx context.Context, fn func(s Store) error, evs ...*sso.Event) error {
	return record.Change[Store, sso.Store](ctx, d.cfg.Store, d.cfg.Auditor, d.cfg.Now(), evs, d.log.ErrorContext, fn)
}
