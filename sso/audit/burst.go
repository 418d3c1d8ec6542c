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
