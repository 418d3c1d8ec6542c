package scim

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/internal/eventid"
	"github.com/ssokit/ssokit/sso"
)

// SyncFailureWindow is how often at most EventSyncFailed is recorded per
// organization: once per window of this length, aligned to the Unix epoch.
const SyncFailureWindow = time.Hour

// announceFailure records EventSyncFailed for the first failure of orgID
// in the current window. Replicas derive the same event ID, so the store
// keeps one; a replica that already announced the window costs nothing.
func (h *Handler) announceFailure(ctx context.Context, r *http.Request, orgID string, se *Error, now time.Time) {
	if se.Status == http.StatusNotFound || orgID == "" {
		return
	}
	start := now.Truncate(SyncFailureWindow)
	key := orgID + "|" + strconv.FormatInt(start.Unix(), 10)
	if !h.failed.allow(key, now, SyncFailureWindow) {
		return
	}
	reason := se.ScimType
	if reason == "" {
		reason = http.StatusText(se.Status)
	}
	e := &sso.Event{ID: eventid.Once(EventSyncFailed, orgID, start), OrgID: orgID, Type: EventSyncFailed,
		Actor: sso.Actor{Type: sso.ActorSCIM}, Target: sso.Target{Type: "directory", ID: orgID},
		Outcome: sso.OutcomeFailure, Reason: reason,
		Details: map[string]string{"status": strconv.Itoa(se.Status), "method": r.Method, "route": routeOf(r),
			"window_start": start.Format(time.RFC3339)}}
	e.FillDefaults(ctx, now)
	err := h.cfg.Core.AppendEvent(context.WithoutCancel(ctx), e)
	if err != nil && !errors.Is(err, sso.ErrConflict) {
		h.failed.forget(key)
		h.log.WarnContext(ctx, "scim: recording a failed sync", "org_id", orgID, "err", err)
	}
}
