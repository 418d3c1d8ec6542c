package session_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// boundStore is what a Manager of these tests runs on: memstore and
// sqlstore alike.
type boundStore interface {
	sso.Store
	session.Store
	session.TokenStore
	session.RevocationStore
}

// boundEnv is a Manager with API tokens on one back-end, with alice a
// member of orgA, a 30-minute idle and 2-hour absolute session timeout.
type boundEnv struct {
	t     *testing.T
	m     *session.Manager
	st    boundStore
	clock *testkit.Clock
}

const (
	boundIdle     = 30 * time.Minute
	boundAbsolute = 2 * time.Hour
)

func newBoundEnv(t *testing.T, backend string) *boundEnv {
	t.Helper()
	c := newClock()
	var st boundStore
	if mem, sql := teststore.Open(t, backend, c.Now); mem != nil {
		st = mem
	} else {
		st = sql
	}
	ctx := context.Background()
	if err := st.CreateOrg(ctx, &sso.Organization{ID: orgA, Slug: "org-a", Name: orgA}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, &sso.User{ID: "alice", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateMembership(ctx, &sso.Membership{OrgID: orgA, UserID: "alice", Roles: []string{"admin"}, Status: sso.MembershipActive}); err != nil {
		t.Fatal(err)
	}
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{
		Store: st, Tokens: st, Revocations: st, Events: st, Orgs: st, Memberships: st,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test", Now: c.Now,
		IdleTimeout: boundIdle, AbsoluteTimeout: boundAbsolute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &boundEnv{t: t, m: m, st: st, clock: c}
}

// login issues a session for alice in orgA and returns it with its cookie.
func (e *boundEnv) login() (*session.Session, *http.Cookie) {
	e.t.Helper()
	w := httptest.NewRecorder()
	s, err := e.m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthPassword, Roles: []string{"admin"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return s, w.Result().Cookies()[0]
}

func (e *boundEnv) tokens(s *session.Session) *session.TokenPair {
	e.t.Helper()
	p, err := e.m.IssueTokens(context.Background(), s, session.TokenOptions{ClientID: "app"})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *boundEnv) refresh(token string) (*session.TokenPair, error) {
	return e.m.Refresh(context.Background(), token, session.RefreshOptions{ClientID: "app"})
}

// mustRefresh refreshes token and returns the new pair.
func (e *boundEnv) mustRefresh(token, when string) *session.TokenPair {
	e.t.Helper()
	p, err := e.refresh(token)
	if err != nil {
		e.t.Fatalf("refresh %s: %v", when, err)
	}
	return p
}

// familyRevoked reports whether the family of the refresh token reads back
// revoked.
func (e *boundEnv) familyRevoked(token string) bool {
	e.t.Helper()
	rt, err := e.st.GetRefreshToken(context.Background(), opaque.Hash(token))
	if err != nil {
		e.t.Fatal(err)
	}
	return !rt.RevokedAt.IsZero()
}

// wantSessionEnded asserts that refreshing token fails because its session
// ended, that the family is revoked by it, and that the family stays dead.
func (e *boundEnv) wantSessionEnded(token string) {
	e.t.Helper()
	_, err := e.refresh(token)
	wantReason(e.t, err, session.ReasonSessionEnded)
	if !e.familyRevoked(token) {
		e.t.Fatal("the family of a token refused for its ended session is not revoked")
	}
	_, err = e.refresh(token)
	wantReason(e.t, err, session.ReasonRevoked)
}

// wantFamilyExpired asserts that token is refused because its family
// expired: a family issued from a session expires with the session's
// absolute expiry.
func (e *boundEnv) wantFamilyExpired(token string) {
	e.t.Helper()
	_, err := e.refresh(token)
	wantReason(e.t, err, session.ReasonExpired)
}

// cookieValid reports whether the cookie still names a valid session.
func (e *boundEnv) cookieValid(c *http.Cookie) bool {
	e.t.Helper()
	r := httptest.NewRequest("GET", "https://app.test/me", nil)
	r.AddCookie(c)
	_, err := e.m.Current(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		e.t.Fatal(err)
	}
	return err == nil
}

// TestRefreshEndsWithIdleSession is the idle token client: the browser
// session it was issued from times out without activity, and its refresh
// token must stop with it instead of living on for the refresh TTL.
func TestRefreshEndsWithIdleSession(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		e := newBoundEnv(t, backend)
		s, _ := e.login()
		p := e.tokens(s)
		e.clock.Advance(boundIdle + time.Second)
		e.wantSessionEnded(p.RefreshToken)
		if _, err := e.m.VerifyAccessToken(context.Background(), p.AccessToken); err == nil {
			t.Fatal("an access token of the timed-out session is still accepted after its refresh was refused")
		}
	})
}

// keepRefreshing refreshes tok every step (less than the idle timeout)
// while the next step stays before until, asserting that each refresh
// succeeds and moves the session's LastSeenAt, and returns the newest
// refresh token and the number of refreshes.
func (e *boundEnv) keepRefreshing(s *session.Session, tok string, step time.Duration, until time.Time) (string, int) {
	e.t.Helper()
	n := 0
	for ; e.clock.Now().Add(step).Before(until); n++ {
		e.clock.Advance(step)
		tok = e.mustRefresh(tok, "within the idle timeout").RefreshToken
		got, err := e.st.GetSession(context.Background(), s.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		if !got.LastSeenAt.Equal(e.clock.Now()) {
			e.t.Fatalf("refresh %d: LastSeenAt = %v, want %v: a refresh counts as activity", n, got.LastSeenAt, e.clock.Now())
		}
	}
	return tok, n
}

// TestRefreshKeepsSessionAlive: a client that only uses tokens keeps the
// session alive as long as it refreshes within the idle timeout, as page
// views would (the browser session is still valid after several idle
// timeouts without a page view), but never past the absolute expiry.
func TestRefreshKeepsSessionAlive(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		e := newBoundEnv(t, backend)
		s, cookie := e.login()
		step := boundIdle - 5*time.Minute
		tok, n := e.keepRefreshing(s, e.tokens(s).RefreshToken, step, s.ExpiresAt)
		if time.Duration(n)*step <= 2*boundIdle {
			t.Fatalf("only %d refreshes: the test must span several idle timeouts", n)
		}
		if !e.cookieValid(cookie) {
			t.Fatal("the browser session idled out although its token client kept refreshing")
		}
		e.clock.Set(s.ExpiresAt)
		e.wantFamilyExpired(tok)
		if e.cookieValid(cookie) {
			t.Fatal("the session outlived its absolute expiry")
		}
	})
}

// TestRefreshEndsAtAbsoluteExpiry: a session kept alive by page views ends
// at its absolute expiry, and its refresh token stops with it (the family
// was issued to expire then).
func TestRefreshEndsAtAbsoluteExpiry(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		e := newBoundEnv(t, backend)
		s, cookie := e.login()
		p := e.tokens(s)
		h := e.m.Load(e.m.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		for e.clock.Now().Add(boundIdle / 2).Before(s.ExpiresAt) {
			e.clock.Advance(boundIdle / 2)
			r := httptest.NewRequest("GET", "https://app.test/me", nil)
			r.AddCookie(cookie)
			w := httptest.NewRecorder()
			if h.ServeHTTP(w, r); w.Code != http.StatusOK {
				t.Fatalf("page view at %v: status %d", e.clock.Now(), w.Code)
			}
		}
		e.clock.Set(s.ExpiresAt)
		if e.cookieValid(cookie) {
			t.Fatal("the session outlived its absolute expiry")
		}
		e.wantFamilyExpired(p.RefreshToken)
	})
}

// TestRefreshEndsWithDeletedSession: a session row that disappeared
// without the Manager ending it (a sweep, an operator, a store's own
// expiry) ends its refresh families on their next use, all of them.
func TestRefreshEndsWithDeletedSession(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		e := newBoundEnv(t, backend)
		s, _ := e.login()
		p, other := e.tokens(s), e.tokens(s)
		if err := e.st.DeleteSession(context.Background(), s.ID); err != nil {
			t.Fatal(err)
		}
		e.wantSessionEnded(p.RefreshToken)
		if !e.familyRevoked(other.RefreshToken) {
			t.Fatal("another family of the deleted session is still live")
		}
		_, err := e.refresh(other.RefreshToken)
		wantReason(t, err, session.ReasonRevoked)
	})
}

// TestRefreshOfUnboundFamily: a family stored without a session (none of
// this package's grants makes one, a host's own TokenStore writes may)
// refreshes as before, whatever the session timeouts.
func TestRefreshOfUnboundFamily(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		e := newBoundEnv(t, backend)
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		bearer := base64.RawURLEncoding.EncodeToString(b[:])
		now := e.clock.Now()
		if err := e.st.CreateRefreshToken(context.Background(), &session.RefreshToken{
			Hash: opaque.Hash(bearer), FamilyID: opaque.NewID("fam_"), UserID: "alice", OrgID: orgA,
			ClientID: "app", CreatedAt: now, ExpiresAt: now.Add(session.DefaultRefreshTokenTTL),
		}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(boundAbsolute + time.Hour)
		e.mustRefresh(bearer, "of a family without a session")
	})
}

// sessionCalls counts the session-store calls a refresh makes.
type sessionCalls struct {
	*memstore.Store
	gets, touches atomic.Int64
}

func (c *sessionCalls) GetSession(ctx context.Context, id string) (*session.Session, error) {
	c.gets.Add(1)
	return c.Store.GetSession(ctx, id)
}

func (c *sessionCalls) TouchSession(ctx context.Context, id string, at time.Time) error {
	c.touches.Add(1)
	return c.Store.TouchSession(ctx, id, at)
}

// TestRefreshSessionRoundTrips: checking the session costs a refresh one
// read by ID, and its activity one last-seen write at most once per
// TouchInterval, as for a page view.
func TestRefreshSessionRoundTrips(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	calls := &sessionCalls{Store: e.st.Store}
	cfg := e.cfg
	cfg.Store = calls
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.IssueTokens(context.Background(), e.sessionFor("alice", orgA), session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(wantTouches int64) {
		t.Helper()
		gets, touches := calls.gets.Load(), calls.touches.Load()
		p, err := m.Refresh(context.Background(), tok.RefreshToken, session.RefreshOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tok = p
		if got := calls.gets.Load() - gets; got != 1 {
			t.Fatalf("%d session reads for a refresh, want 1", got)
		}
		if got := calls.touches.Load() - touches; got != wantTouches {
			t.Fatalf("%d last-seen writes for a refresh, want %d", got, wantTouches)
		}
	}
	e.clock.Advance(session.DefaultTouchInterval)
	refresh(1)
	e.clock.Advance(session.DefaultTouchInterval / 2)
	refresh(0)
}
