package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// CursorStore keeps the durable cursors of Subscriptions: for each
// subscription name and organization, the Seq of the last event handled.
// memwebhook and sqlwebhook stores implement it.
type CursorStore interface {
	// Cursors returns name's cursors by organization ID (absent means 0).
	Cursors(ctx context.Context, name string) (map[string]int64, error)
	// AdvanceCursor moves name's cursor of orgID from from to to; when the
	// stored cursor is no longer from it writes nothing and fails with
	// sso.ErrConflict.
	AdvanceCursor(ctx context.Context, name, orgID string, from, to int64) error
}

// OrgLister pages through the organizations (sso.OrgStore does).
type OrgLister interface {
	ListOrgs(ctx context.Context, afterID string, limit int) ([]*sso.Organization, error)
}

// SubscriptionConfig configures a Subscription.
type SubscriptionConfig struct {
	// Name identifies the subscription's cursors: a Subscription with the
	// same name resumes where it stopped, also after a restart. Required.
	Name string
	// Handle is called with each event, in Seq order per organization. An
	// error stops the organization's batch; the event is handled again at
	// the next pass. Required.
	Handle func(ctx context.Context, e *sso.Event) error
	// Types filters the events handled; empty means every event. Events of
	// other types advance the cursor without a call.
	Types []string
	// Events is the audit trail (the outbox) read; Orgs lists the
	// organizations; Cursors keeps the cursors. Required.
	Events  sso.EventStore
	Orgs    OrgLister
	Cursors CursorStore
	// PollInterval is the wait between passes that found nothing. Zero
	// means 1s.
	PollInterval time.Duration
	// BatchSize caps the events read per organization and pass. Zero
	// means 100.
	BatchSize int
	// Logger logs failed passes. Nil means slog.Default().
	Logger *slog.Logger
}

// Subscription feeds the host's own code, in process, from the audit trail
// (the same outbox webhooks read), with a durable cursor per organization:
// every event reaches Handle at least once, in Seq order within its
// organization, across restarts. Events of different organizations are
// not ordered with respect to each other. Subscriptions of the same name
// on several replicas share the cursors: each event is handled by one of
// them, and, when they race for a batch, by both; the loser then reads
// again from the winner's cursor and may see events it already handled.
// After a failed Handle, the event and those after it come again. Handle
// should therefore be idempotent, keyed on the event ID.
type Subscription struct {
	cfg SubscriptionConfig
}

// NewSubscription validates cfg and returns a Subscription; Run it.
func NewSubscription(cfg SubscriptionConfig) (*Subscription, error) {
	switch {
	case cfg.Name == "" || len(cfg.Name) > 100:
		return nil, fmt.Errorf("%w: webhook: subscription name must be 1-100 characters", sso.ErrInvalidConfig)
	case cfg.Handle == nil || cfg.Events == nil || cfg.Orgs == nil || cfg.Cursors == nil:
		return nil, fmt.Errorf("%w: webhook: subscription needs Handle, Events, Orgs and Cursors", sso.ErrInvalidConfig)
	case cfg.PollInterval < 0 || cfg.BatchSize < 0 || cfg.BatchSize > 1000:
		return nil, fmt.Errorf("%w: webhook: subscription PollInterval and BatchSize (at most 1000) must not be negative", sso.ErrInvalidConfig)
	}
	setDefault(&cfg.PollInterval, DefaultPollInterval)
	setDefault(&cfg.BatchSize, DefaultBatchSize)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Types = slices.Clone(cfg.Types)
	return &Subscription{cfg: cfg}, nil
}

// Run polls until ctx ends and returns ctx.Err(). A failed pass (a store
// error, or an error of Handle) is logged and retried after PollInterval.
func (s *Subscription) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		more, err := s.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			s.cfg.Logger.WarnContext(ctx, "webhook: subscription pass failed", "subscription", s.cfg.Name, "err", err)
		}
		wait := s.cfg.PollInterval
		if more && err == nil {
			wait = 0
		}
		t.Reset(wait)
	}
}

// Poll runs one pass over every organization: it hands the events after
// each organization's cursor (one batch each) to Handle and moves the
// cursor past those handled. It reports whether an organization has more.
func (s *Subscription) Poll(ctx context.Context) (bool, error) {
	cursors, err := s.cfg.Cursors.Cursors(ctx, s.cfg.Name)
	if err != nil {
		return false, err
	}
	more := false
	var errs []error
	after := ""
	for {
		orgs, err := s.cfg.Orgs.ListOrgs(ctx, after, endpointPage)
		if err != nil {
			return more, err
		}
		for _, o := range orgs {
			full, err := s.pollOrg(ctx, o.ID, cursors[o.ID])
			if err != nil {
				if ctx.Err() != nil {
					return more, err
				}
				errs = append(errs, fmt.Errorf("webhook: subscription %s, organization %s: %w", s.cfg.Name, o.ID, err))
			}
			more = more || full
		}
		if len(orgs) < endpointPage {
			return more, errors.Join(errs...)
		}
		after = orgs[len(orgs)-1].ID
	}
}

// pollOrg handles one batch of orgID's events after cursor and reports
// whether the batch was full.
func (s *Subscription) pollOrg(ctx context.Context, orgID string, cursor int64) (bool, error) {
	evs, err := s.cfg.Events.ListEvents(ctx, sso.EventQuery{OrgID: orgID, AfterSeq: cursor, Limit: s.cfg.BatchSize})
	if err != nil || len(evs) == 0 {
		return false, err
	}
	done := cursor
	var herr error
	for _, e := range evs {
		if len(s.cfg.Types) == 0 || slices.Contains(s.cfg.Types, e.Type) {
			if herr = s.cfg.Handle(ctx, e); herr != nil {
				break
			}
		}
		done = e.Seq
	}
	if done > cursor {
		err := s.cfg.Cursors.AdvanceCursor(ctx, s.cfg.Name, orgID, cursor, done)
		if errors.Is(err, sso.ErrConflict) {
			return true, herr // another replica moved it; read again
		}
		if err != nil {
			return false, errors.Join(herr, err)
		}
	}
	return herr == nil && len(evs) == s.cfg.BatchSize, herr
}
