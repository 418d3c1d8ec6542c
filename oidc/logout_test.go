package oidc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// fakeSessionEnder records the IdPLogout values it receives and answers
// with n or err. It stands in for session.Manager, which the lead wires
// to Config.Sessions outside this package; the session package's own
// tests cover which sessions a given IdPLogout ends.
type fakeSessionEnder struct {
	mu    sync.Mutex
	calls []sso.IdPLogout
	n     int
	err   error
}

func (f *fakeSessionEnder) EndIdPSessions(_ context.Context, l *sso.IdPLogout) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *l)
	return f.n, f.err
}

func (f *fakeSessionEnder) received() []sso.IdPLogout {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sso.IdPLogout(nil), f.calls...)
}

var _ sso.IdPSessionEnder = (*fakeSessionEnder)(nil)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sessionsSetup returns a harness whose back-channel logout ends sessions
// through ender (no OnLogout hook), with its log.
func sessionsSetup(t *testing.T, ender *fakeSessionEnder) (*harness, *mockOP, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h, op := setupOne(t, func(c *Config) {
		c.OnLogout, c.Sessions = nil, ender
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	return h, op, logs
}

// postLogoutRaw posts a logout token and returns the recorded response.
func (h *harness) postLogoutRaw(connID, tok string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/backchannel-logout/"+connID, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.rp.ServeHTTP(rec, req)
	return rec
}

// T-O.17: with Config.Sessions and no hook, a verified logout token ends
// the sessions it names by default: exactly the connection's sessions of
// its sub, narrowed to its sid. The answer is 200 also when none matched
// (Back-Channel Logout 1.0 section 2.7: already logged out is success).
func TestTO17_BackChannelLogoutEndsSessions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(c map[string]any)
		ended int
		want  sso.IdPLogout
	}{
		{name: "sub-only", edit: func(c map[string]any) { delete(c, "sid") }, ended: 2,
			want: sso.IdPLogout{OrgID: "org_a", ConnectionID: "conn_a", Subject: "user-123"}},
		{name: "sid-only", edit: func(c map[string]any) { delete(c, "sub") }, ended: 1,
			want: sso.IdPLogout{OrgID: "org_a", ConnectionID: "conn_a", SessionIndexes: []string{"sid-1"}}},
		{name: "sub-and-sid", edit: func(c map[string]any) {}, ended: 1,
			want: sso.IdPLogout{OrgID: "org_a", ConnectionID: "conn_a", Subject: "user-123", SessionIndexes: []string{"sid-1"}}},
		{name: "no-session-matched", edit: func(c map[string]any) {}, ended: 0,
			want: sso.IdPLogout{OrgID: "org_a", ConnectionID: "conn_a", Subject: "user-123", SessionIndexes: []string{"sid-1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ender := &fakeSessionEnder{n: tc.ended}
			h, op, logs := sessionsSetup(t, ender)
			hd, c := op.logoutToken()
			tc.edit(c)
			rec := h.postLogoutRaw("conn_a", signJWT(hd, c, op.signKey, nil))
			if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, Cache-Control %q; want 200 no-store", rec.Code, rec.Header().Get("Cache-Control"))
			}
			if got := ender.received(); len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
				t.Fatalf("EndIdPSessions got %+v, want [%+v]", got, tc.want)
			}
			if l := logs.String(); !strings.Contains(l, "level=INFO") || !strings.Contains(l, "ended="+strconv.Itoa(tc.ended)) {
				t.Fatalf("no info log with the ended count: %s", l)
			}
		})
	}
}

// T-O.17: a failed EndIdPSessions is a failed logout, answered 400 with
// error logout_failed (section 2.8), and logged with its cause.
func TestTO17_BackChannelLogoutSessionStoreFails(t *testing.T) {
	t.Parallel()
	ender := &fakeSessionEnder{err: errors.New("session store down")}
	h, op, logs := sessionsSetup(t, ender)
	hd, c := op.logoutToken()
	rec := h.postLogoutRaw("conn_a", signJWT(hd, c, op.signKey, nil))
	if rec.Code != http.StatusBadRequest || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q; want 400 no-store", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if body := strings.TrimSpace(rec.Body.String()); body != `{"error":"logout_failed"}` {
		t.Fatalf("body %s, want error logout_failed", body)
	}
	if n := len(ender.received()); n != 1 {
		t.Fatalf("EndIdPSessions called %d times, want 1", n)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "session store down") {
		t.Fatalf("failure not logged with its cause: %s", l)
	}
}

// T-O.17: an invalid logout token ends no session on the default path.
func TestTO17_BackChannelLogoutSessionsRejectInvalid(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		edit   func(h, c map[string]any)
		reason string
	}{
		"wrong-iss":  {func(h, c map[string]any) { c["iss"] = "https://evil.example" }, ReasonIssuerMismatch},
		"alg-none":   {func(h, c map[string]any) { h["alg"] = "none" }, ReasonAlgNotAllowed},
		"with-nonce": {func(h, c map[string]any) { c["nonce"] = "n" }, ReasonLogoutTokenInvalid},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ender := &fakeSessionEnder{n: 1}
			h, op, _ := sessionsSetup(t, ender)
			hd, c := op.logoutToken()
			tc.edit(hd, c)
			status, err := h.postLogout("conn_a", signJWT(hd, c, op.signKey, nil))
			if status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", status)
			}
			wantReason(t, err, tc.reason)
			if got := ender.received(); len(got) != 0 {
				t.Fatalf("EndIdPSessions called with %+v", got)
			}
		})
	}
	t.Run("replayed-jti", func(t *testing.T) {
		t.Parallel()
		ender := &fakeSessionEnder{n: 1}
		h, op, _ := sessionsSetup(t, ender)
		hd, c := op.logoutToken()
		tok := signJWT(hd, c, op.signKey, nil)
		if rec := h.postLogoutRaw("conn_a", tok); rec.Code != http.StatusOK {
			t.Fatalf("first delivery: status %d", rec.Code)
		}
		status, err := h.postLogout("conn_a", tok)
		if status != http.StatusBadRequest {
			t.Fatalf("replay: status %d, want 400", status)
		}
		wantReason(t, err, ReasonReplayed)
		if n := len(ender.received()); n != 1 {
			t.Fatalf("EndIdPSessions called %d times, want 1", n)
		}
	})
}

// The OnLogout hook, when set, replaces Sessions; with neither
// the route stays 404 (TestT_O_17_BackChannelLogout/no-hook-404).
func TestTO17_BackChannelLogoutHookReplacesSessions(t *testing.T) {
	t.Parallel()
	ender := &fakeSessionEnder{n: 1}
	h, op := setupOne(t, func(c *Config) { c.Sessions = ender })
	hd, c := op.logoutToken()
	if rec := h.postLogoutRaw("conn_a", signJWT(hd, c, op.signKey, nil)); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if h.logouts.Load() != 1 || len(ender.received()) != 0 {
		t.Fatalf("hook calls %d, Sessions calls %d; want 1 and 0", h.logouts.Load(), len(ender.received()))
	}
}
