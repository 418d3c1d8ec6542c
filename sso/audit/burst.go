package audit

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/internal/eventid"
	"github.com/ssokit/ssokit/sso"
)

// EventLoginFailureBurst is recorded once per organization and window when
// an organization's failed logins in one window reach
// FailureBurst.Threshold.
const EventLoginFailureBurst = "login.failure_burst"

// Defaults of FailureBurst.
const (
	DefaultBurstThreshold = 20
	DefaultBurstWindow    = 5 * time.Minute
)

// FailureBurst configures the detection of failed-login bursts: when the
// Threshold-th sso.EventLoginFailed of an organization is recorded in one
// window (windows are fixed intervals of Window, aligned to the Unix
// epoch), an EventLoginFailureBurst is recorded, once per window even when
// several replicas notice it at the same time.
type FailureBurst struct {
	// Threshold is the number of failures that makes a burst. Zero means
	// 20; negative turns detection off.
	Threshold int
	// Window is the length of a window. Zero means 5 minutes.
	Window time.Duration
}

// noteFailure records an EventLoginFailureBurst when e, a failed login just
// appended, is at or past the threshold of its window. It costs one indexed
// query per failed login, and nothing for any other event.
func (a *Trail) noteFailure(ctx context.Context, e *sso.Event) error {
	n := a.burst.Threshold
	if n < 0 || e.Type != sso.EventLoginFailed || e.OrgID == "" {
		return nil
	}
	start := e.Time.UTC().Truncate(a.burst.Window)
	evs, err := a.store.ListEvents(ctx, sso.EventQuery{OrgID: e.OrgID, Type: sso.EventLoginFailed, Since: start,
		Until: start.Add(a.burst.Window), Limit: n})
	if err != nil || len(evs) < n {
		return err
	}
	b := &sso.Event{ID: eventid.Once(EventLoginFailureBurst, e.OrgID, start), OrgID: e.OrgID, Time: a.now().UTC(),
		Type: EventLoginFailureBurst, Actor: sso.Actor{Type: sso.ActorSystem}, Target: sso.Target{Type: "organization", ID: e.OrgID},
		Outcome: sso.OutcomeFailure, Reason: "failed_logins",
		Details: map[string]string{"window_start": start.Format(time.RFC3339), "window_seconds": strconv.Itoa(int(a.burst.Window / time.Second)),
			"threshold": strconv.Itoa(n)}}
	if err := a.store.AppendEvent(ctx, b); err != nil && !errors.Is(err, sso.ErrConflict) {
		return err
	}
	return nil
}

// EventStore returns the trail's store as an sso.EventStore whose
// AppendEvent also watches for failed-login bursts, as Record does, for a
// component that appends its events to a store directly rather than
// through Record (session.Config.Events: a refused organization switch is
// an sso.EventLoginFailed of the organization it tried to enter, and
// counts toward its burst like any other failed login). ListEvents is the
// store's.
func (a *Trail) EventStore() sso.EventStore { return burstStore{a} }

// burstStore is the store of a Trail with the burst check after each
// append.
type burstStore struct{ a *Trail }

// WrappedEventStore implements sso.EventStoreWrapper: the burst check
// concerns failed logins only.
func (b burstStore) WrappedEventStore() sso.EventStore { return b.a.store }

// AppendEvent implements sso.EventStore: the store's AppendEvent, then the
// burst check (whose failure is only logged: the event is stored).
func (b burstStore) AppendEvent(ctx context.Context, e *sso.Event) error {
	if err := b.a.store.AppendEvent(ctx, e); err != nil {
		return err
	}
	if err := b.a.noteFailure(ctx, e); err != nil {
		b.a.log.WarnContext(ctx, "audit: checking for a burst of failed logins", "org_id", e.OrgID, "err", err)
	}
	return nil
}

// ListEvents implements sso.EventStore.
func (b burstStore) ListEvents(ctx context.Context, q sso.EventQuery) ([]*sso.Event, error) {
	return b.a.store.ListEvents(ctx, q)
}
