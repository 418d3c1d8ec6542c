package scim

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Directory sync status, for an admin portal: when each SCIM token was
// last used, how many users and groups the directory has synced, and the
// organization's recent failed requests.

// Sync status bounds.
const (
	// TokenUseGranularity is how stale a token's recorded last use may
	// be: a token is written back at most once per this interval.
	TokenUseGranularity = time.Minute
	// MaxSyncFailures is how many recent failures an organization keeps.
	MaxSyncFailures = 20
	// maxDebounced bounds the entries of the in-process debounce.
	maxDebounced = 10000
)

// StatusStore is the optional capability of a Store to keep the sync
// status. When Config.Store implements it, the Handler records a token's
// last use at most once per TokenUseGranularity, and every failed request
// of an authenticated organization; [Handler.SyncStatus] reads them. A
// request costs at most one statement of it. memscim and sqlscim
// implement it. Every method is safe for concurrent use and sees one
// organization only.
type StatusStore interface {
	// TouchSCIMToken sets the last use of the token tokenID of orgID to
	// at, in one statement, unless the stored last use is after
	// at-minGap. An unknown token is no error.
	TouchSCIMToken(ctx context.Context, orgID, tokenID string, at time.Time, minGap time.Duration) error
	// RecordSCIMFailure adds f to the organization's failures, keeping
	// the newest keep of them, in one statement. Of failures recorded at
	// the same moment one may replace another.
	RecordSCIMFailure(ctx context.Context, orgID string, f SyncFailure, keep int) error
	// SCIMSyncStatus returns the organization's live users and groups,
	// the last use of each of its tokens that is not revoked (newest
	// token first) and its failures, newest first.
	SCIMSyncStatus(ctx context.Context, orgID string) (*SyncStatus, error)
}

// SyncFailure is a failed SCIM request. It holds no personal data: the
// route is the endpoint's pattern, without resource IDs or query.
type SyncFailure struct {
	At time.Time `json:"at"`
	// Status is the HTTP status of the SCIM error.
	Status int `json:"status"`
	// Reason is the SCIM scimType, or the HTTP status text when the error
	// has none.
	Reason string `json:"reason"`
	// Method and Route name the endpoint, e.g. "PATCH" and "/Users/{id}".
	Method string `json:"method"`
	Route  string `json:"route"`
}

// TokenUse is when a SCIM token was last used (at TokenUseGranularity).
type TokenUse struct {
	TokenID    string    `json:"tokenId"`
	LastUsedAt time.Time `json:"lastUsedAt"`
}

// SyncStatus is the directory sync status of one organization, ready to
// be encoded as JSON for an admin API.
type SyncStatus struct {
	// Users and Groups count the live users and the groups synced.
	Users  int `json:"users"`
	Groups int `json:"groups"`
	// LastRequestAt is the latest last use of any token (zero if none was
	// ever used).
	LastRequestAt time.Time  `json:"lastRequestAt"`
	Tokens        []TokenUse `json:"tokens"`
	// Failures are the recent failed requests, newest first.
	Failures []SyncFailure `json:"failures"`
}

// SyncStatus returns the directory sync status of orgID, for an admin
// portal. It fails with sso.ErrInvalidConfig (wrapped) when Config.Store
// does not implement StatusStore.
func (h *Handler) SyncStatus(ctx context.Context, orgID string) (*SyncStatus, error) {
	if h.status == nil {
		return nil, fmt.Errorf("%w: scim: the store keeps no sync status", sso.ErrInvalidConfig)
	}
	st, err := h.status.SCIMSyncStatus(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, t := range st.Tokens {
		if t.LastUsedAt.After(st.LastRequestAt) {
			st.LastRequestAt = t.LastUsedAt
		}
	}
	return st, nil
}

// debounce lets a key through at most once per interval, in this process.
type debounce struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// allow reports whether key may pass at now, and if so records it.
func (d *debounce) allow(key string, now time.Time, every time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.last[key]; ok && now.Sub(t) < every && !now.Before(t) {
		return false
	}
	if d.last == nil {
		d.last = map[string]time.Time{}
	}
	if len(d.last) >= maxDebounced {
		for k, t := range d.last {
			if now.Sub(t) >= every {
				delete(d.last, k)
			}
		}
		if len(d.last) >= maxDebounced {
			clear(d.last)
		}
	}
	d.last[key] = now
	return true
}

// forget undoes allow, so that the next request tries again.
func (d *debounce) forget(key string) {
	d.mu.Lock()
	delete(d.last, key)
	d.mu.Unlock()
}

// noteRequest records the outcome of an authenticated request of org with
// token tokenID: a failure (err non-nil) is recorded, else the token's use
// is touched, at most once per TokenUseGranularity. It costs at most one
// store statement; a failure of the status store is logged, never
// returned.
func (h *Handler) noteRequest(ctx context.Context, r *http.Request, orgID, tokenID string, err error) {
	now := h.now().UTC()
	if err != nil {
		h.announceFailure(ctx, r, orgID, AsError(err), now)
	}
	if h.status == nil {
		return
	}
	if err != nil {
		se := AsError(err)
		if se.Status == http.StatusTooManyRequests && !h.limited.allow(orgID, now, TokenUseGranularity) {
			return // a flood of refused requests is recorded once a minute
		}
		reason := se.ScimType
		if reason == "" {
			reason = http.StatusText(se.Status)
		}
		method, route := r.Method, routeOf(r)
		f := SyncFailure{At: now, Status: se.Status, Reason: reason, Method: method, Route: route}
		if werr := h.status.RecordSCIMFailure(context.WithoutCancel(ctx), orgID, f, MaxSyncFailures); werr != nil {
			h.log.WarnContext(ctx, "scim: recording a failed request", "org_id", orgID, "err", werr)
		}
		return
	}
	if !h.touched.allow(tokenID, now, TokenUseGranularity) {
		return
	}
	if werr := h.status.TouchSCIMToken(context.WithoutCancel(ctx), orgID, tokenID, now, TokenUseGranularity); werr != nil {
		h.touched.forget(tokenID)
		h.log.WarnContext(ctx, "scim: recording a token's use", "org_id", orgID, "err", werr)
	}
}

// routeOf returns the pattern of the route r matched, without its method
// ("/Users/{id}"), or "/" for none.
func routeOf(r *http.Request) string {
	p := r.Pattern
	for i := 0; i < len(p); i++ {
		if p[i] == ' ' {
			return p[i+1:]
		}
	}
	if p == "" {
		return "/"
	}
	return p
}
