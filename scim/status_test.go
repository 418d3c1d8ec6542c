package scim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

// countingStatus counts the status writes a Handler makes.
type countingStatus struct {
	backend
	st              scim.StatusStore
	touches, writes atomic.Int64
}

func (c *countingStatus) TouchSCIMToken(ctx context.Context, orgID, tokenID string, at time.Time, minGap time.Duration) error {
	c.touches.Add(1)
	return c.st.TouchSCIMToken(ctx, orgID, tokenID, at, minGap)
}

func (c *countingStatus) RecordSCIMFailure(ctx context.Context, orgID string, f scim.SyncFailure, keep int) error {
	c.writes.Add(1)
	return c.st.RecordSCIMFailure(ctx, orgID, f, keep)
}

func (c *countingStatus) SCIMSyncStatus(ctx context.Context, orgID string) (*scim.SyncStatus, error) {
	return c.st.SCIMSyncStatus(ctx, orgID)
}

func syncStatus(t *testing.T, e *env, orgID string) *scim.SyncStatus {
	t.Helper()
	st, err := e.h.SyncStatus(context.Background(), orgID)
	if err != nil {
		t.Fatalf("SyncStatus: %v", err)
	}
	return st
}

func tokenUse(st *scim.SyncStatus, id string) time.Time {
	for _, u := range st.Tokens {
		if u.TokenID == id {
			return u.LastUsedAt
		}
	}
	return time.Time{}
}

// TestTokenLastUsedDebounced: a token's last use is written at most once a
// minute, by this replica (in-process debounce) and by another one (the
// conditional UPDATE), and a request costs at most one status write.
func TestTokenLastUsedDebounced(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			cs := &countingStatus{backend: st, st: st.(scim.StatusStore)}
			clock := &fakeClock{t: time.Now().UTC().Truncate(time.Microsecond)}
			e := newEnvOn(t, cs, func(c *scim.Config) { c.Now = clock.now })
			t0 := clock.now()
			for i := 0; i < 5; i++ {
				e.do("GET", "/Users", "").want(t, http.StatusOK)
			}
			if n := cs.touches.Load(); n != 1 {
				t.Errorf("5 requests in a minute made %d token writes, want 1", n)
			}
			if got := tokenUse(syncStatus(t, e, e.org.ID), e.tokenID); !got.Equal(t0) {
				t.Errorf("last use %v, want %v", got, t0)
			}
			// Another replica within the minute: its own debounce lets the
			// write through, the store's condition refuses it.
			clock.add(30 * time.Second)
			e.replica().do("GET", "/Users", "").want(t, http.StatusOK)
			if got := tokenUse(syncStatus(t, e, e.org.ID), e.tokenID); !got.Equal(t0) {
				t.Errorf("last use moved within a minute to %v", got)
			}
			clock.add(31 * time.Second)
			before := cs.touches.Load() + cs.writes.Load()
			e.do("GET", "/Users?filter="+urlq(`userName eq "secret.person@acme.test"`), "").want(t, http.StatusOK)
			if n := cs.touches.Load() + cs.writes.Load() - before; n != 1 {
				t.Errorf("one request made %d status writes", n)
			}
			t1 := clock.now()
			st1 := syncStatus(t, e, e.org.ID)
			if got := tokenUse(st1, e.tokenID); !got.Equal(t1) {
				t.Errorf("last use %v after a minute, want %v", got, t1)
			}
			if !st1.LastRequestAt.Equal(t1) {
				t.Errorf("LastRequestAt %v, want %v", st1.LastRequestAt, t1)
			}
			// A failed request records the failure and writes nothing else.
			clock.add(2 * time.Minute)
			before = cs.touches.Load() + cs.writes.Load()
			e.do("GET", "/Users?filter="+urlq(`bogus eq "x"`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
			if n := cs.touches.Load() + cs.writes.Load() - before; n != 1 {
				t.Errorf("a failed request made %d status writes", n)
			}
		})
	}
}

// TestSyncStatus: counts, recent failures without personal data (newest
// first, the last MaxSyncFailures kept), 429s recorded once a minute, and
// no organization sees another's status.
func TestSyncStatus(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clock := &fakeClock{t: time.Now().UTC().Truncate(time.Microsecond)}
			syncStatusOn(t, newEnvOn(t, b.open(t), func(c *scim.Config) { c.Now = clock.now }), clock)
		})
	}
}

// syncStatusOn runs TestSyncStatus on e, whose clock is clock.
func syncStatusOn(t *testing.T, e *env, clock *fakeClock) {
	a := e.createUser("ann.private@acme.test")
	e.createUser("bo.private@acme.test")
	e.createGroup("eng", a)
	e.do("DELETE", "/Users/"+e.createUser("gone@acme.test"), "").want(t, http.StatusNoContent)

	e.do("GET", "/Users?filter="+urlq(`userName gt "ann.private@acme.test"`), "").wantErr(t, http.StatusBadRequest, "invalidFilter")
	clock.add(time.Second)
	e.do("PATCH", "/Users/user_does_not_exist_42", patchOps(`{"op":"replace","path":"active","value":false}`)).wantErr(t, http.StatusNotFound, "")
	clock.add(time.Second)
	e.do("POST", "/Users", `{"userName":"ann.private@acme.test"}`).wantErr(t, http.StatusConflict, "uniqueness")

	st := syncStatus(t, e, e.org.ID)
	if st.Users != 2 || st.Groups != 1 {
		t.Errorf("users %d groups %d, want 2 and 1", st.Users, st.Groups)
	}
	want := []scim.SyncFailure{
		{Status: 409, Reason: "uniqueness", Method: "POST", Route: "/Users"},
		{Status: 404, Reason: "Not Found", Method: "PATCH", Route: "/Users/{id}"},
		{Status: 400, Reason: "invalidFilter", Method: "GET", Route: "/Users"},
	}
	if len(st.Failures) != len(want) {
		t.Fatalf("failures %+v, want %d", st.Failures, len(want))
	}
	for i, w := range want {
		f := st.Failures[i]
		w.At = f.At
		if f != w {
			t.Errorf("failure %d = %+v, want %+v", i, f, w)
		}
		if f.At.IsZero() || (i > 0 && !f.At.Before(st.Failures[i-1].At)) {
			t.Errorf("failure %d at %v: not newest first", i, f.At)
		}
		if s := f.Reason + f.Route; strings.Contains(s, "private") || strings.Contains(s, "42") {
			t.Errorf("failure %d holds request data: %+v", i, f)
		}
	}
	// Only the newest MaxSyncFailures are kept.
	for i := 0; i < scim.MaxSyncFailures+5; i++ {
		clock.add(time.Millisecond)
		e.do("GET", "/Groups/missing", "").wantErr(t, http.StatusNotFound, "")
	}
	st = syncStatus(t, e, e.org.ID)
	if len(st.Failures) != scim.MaxSyncFailures {
		t.Errorf("%d failures kept, want %d", len(st.Failures), scim.MaxSyncFailures)
	}
	if !st.Failures[0].At.Equal(clock.now()) || st.Failures[0].Route != "/Groups/{id}" {
		t.Errorf("newest failure %+v, want the last request", st.Failures[0])
	}

	// Another organization's status shows nothing of this one.
	other := e.addOrg("other")
	otok, otokID := e.issue(other.ID)
	e.doTok(otok, "GET", "/Users/"+a, "").wantErr(t, http.StatusNotFound, "")
	ost := syncStatus(t, e, other.ID)
	if ost.Users != 0 || ost.Groups != 0 || len(ost.Failures) != 1 || len(ost.Tokens) != 1 || ost.Tokens[0].TokenID != otokID {
		t.Errorf("other org status %+v", ost)
	}
	if len(syncStatus(t, e, e.org.ID).Failures) != scim.MaxSyncFailures {
		t.Error("another organization's failure landed in this one")
	}
}

// TestSyncStatusRateLimited: refused requests are recorded once a minute.
func TestSyncStatusRateLimited(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Now().UTC()}
	e := newEnv(t, func(c *scim.Config) { c.Now = clock.now; c.RateLimit = 2 })
	for i := 0; i < 6; i++ {
		e.do("GET", "/Users", "")
	}
	st := syncStatus(t, e, e.org.ID)
	if len(st.Failures) != 1 || st.Failures[0].Status != http.StatusTooManyRequests {
		t.Errorf("failures %+v, want one 429", st.Failures)
	}
}

// TestSyncStatusUnsupported: a store without the capability is a config
// error at call time, not a panic.
func TestSyncStatusUnsupported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	h, err := scim.New(scim.Config{Store: struct{ scim.Store }{e.st}, Core: e.st, Revoker: e.rev, BaseURL: e.cfg.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.SyncStatus(context.Background(), e.org.ID); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Errorf("err %v, want ErrInvalidConfig", err)
	}
}
