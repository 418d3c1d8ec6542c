package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// clock is the shared settable test clock.
type clock = testkit.Clock

func newClock() *clock { return testkit.NewClock(time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)) }

// countingStore counts the writes that reach the session and token stores.
type countingStore struct {
	*memstore.Store
	writes  atomic.Int64
	reads   atomic.Int64
	touches atomic.Int64
}

func (c *countingStore) CreateSession(ctx context.Context, s *session.Session, limit int) ([]*session.Session, error) {
	c.writes.Add(1)
	return c.Store.CreateSession(ctx, s, limit)
}
func (c *countingStore) FindSession(ctx context.Context, hash string) (*session.Session, error) {
	c.reads.Add(1)
	return c.Store.FindSession(ctx, hash)
}
func (c *countingStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	c.writes.Add(1)
	c.touches.Add(1)
	return c.Store.TouchSession(ctx, id, at)
}
func (c *countingStore) DeleteSession(ctx context.Context, id string) error {
	c.writes.Add(1)
	return c.Store.DeleteSession(ctx, id)
}
func (c *countingStore) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	c.writes.Add(1)
	return c.Store.DeleteUserSessions(ctx, userID)
}
func (c *countingStore) CreateRefreshToken(ctx context.Context, t *session.RefreshToken) error {
	c.writes.Add(1)
	return c.Store.CreateRefreshToken(ctx, t)
}
func (c *countingStore) GetRefreshToken(ctx context.Context, hash string) (*session.RefreshToken, error) {
	c.reads.Add(1)
	return c.Store.GetRefreshToken(ctx, hash)
}
func (c *countingStore) RotateRefreshToken(ctx context.Context, old string, next *session.RefreshToken) error {
	c.writes.Add(1)
	return c.Store.RotateRefreshToken(ctx, old, next)
}
func (c *countingStore) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	c.writes.Add(1)
	return c.Store.RevokeFamily(ctx, id, at)
}
func (c *countingStore) RevokeSessionTokens(ctx context.Context, id string, at time.Time) error {
	c.writes.Add(1)
	return c.Store.RevokeSessionTokens(ctx, id, at)
}
func (c *countingStore) RevokeUserTokens(ctx context.Context, id string, at time.Time) error {
	c.writes.Add(1)
	return c.Store.RevokeUserTokens(ctx, id, at)
}
func (c *countingStore) SetRevocation(ctx context.Context, s string, at, until time.Time) error {
	c.writes.Add(1)
	return c.Store.SetRevocation(ctx, s, at, until)
}

type env struct {
	t     testing.TB
	m     *session.Manager
	st    *countingStore
	clock *clock
	srv   *httptest.Server
	cfg   session.Config
}

const (
	orgA = "org_a"
	orgB = "org_b"
)

// newEnv returns a Manager on a memstore with ES256 tokens, two
// organizations and a user alice who is a member of both, and a TLS test
// server running app(m).
func newEnv(t testing.TB, mutate ...func(*session.Config)) *env {
	t.Helper()
	c := newClock()
	ms := memstore.New(memstore.WithClock(c.Now))
	st := &countingStore{Store: ms}
	ctx := context.Background()
	for _, id := range []string{orgA, orgB} {
		if err := ms.CreateOrg(ctx, &sso.Organization{ID: id, Slug: strings.ReplaceAll(id, "_", "-"), Name: id}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob", "mallory"} {
		if err := ms.CreateUser(ctx, &sso.User{ID: u, Email: u + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, mem := range []sso.Membership{
		{OrgID: orgA, UserID: "alice", Roles: []string{"admin"}, Status: sso.MembershipActive},
		{OrgID: orgB, UserID: "alice", Roles: []string{"viewer"}, Status: sso.MembershipActive},
		{OrgID: orgA, UserID: "bob", Roles: []string{"member"}, Status: sso.MembershipActive},
		{OrgID: orgB, UserID: "mallory", Roles: []string{"member"}, Status: sso.MembershipActive},
	} {
		if err := ms.CreateMembership(ctx, &mem); err != nil {
			t.Fatal(err)
		}
	}
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	cfg := session.Config{
		Store: st, Tokens: st, Revocations: st, Events: ms, Orgs: ms, Memberships: ms,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test", Now: c.Now,
	}
	for _, f := range mutate {
		f(&cfg)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, m: m, st: st, clock: c, cfg: cfg}
	e.srv = httptest.NewTLSServer(app(m, c.Now))
	t.Cleanup(e.srv.Close)
	return e
}

// app is a small host application: /login issues a session for ?user=&org=,
// /me requires one, /elevate records MFA, /switch changes organization,
// /logout ends the session, /token is the token endpoint.
func app(m *session.Manager, now func() time.Time) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		err := m.IssueSession(w, r, &sso.SessionGrant{UserID: q.Get("user"), OrgID: q.Get("org"),
			ConnectionID: "conn_1", Method: sso.AuthMethod("saml"), Roles: []string{"admin"}})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/me", http.StatusSeeOther)
	})
	mux.Handle("GET /me", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		_ = json.NewEncoder(w).Encode(p)
	})))
	mux.Handle("POST /elevate", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.ElevateMFA(w, r, now()); err != nil {
			http.Error(w, "x", http.StatusInternalServerError)
		}
	})))
	mux.Handle("POST /switch", m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.SwitchOrg(w, r, r.URL.Query().Get("org")); err != nil {
			http.Error(w, sso.ReasonOf(err), http.StatusForbidden)
		}
	})))
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Logout(w, r); err != nil {
			http.Error(w, "x", http.StatusInternalServerError)
		}
	})
	mux.Handle("POST /token", m.TokenHandler(session.TokenHandlerOptions{}))
	mux.Handle("GET /jwks", m.JWKSHandler())
	return m.Load(m.LoadBearer(mux))
}

// browser returns a client with a cookie jar that does not follow
// redirects.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := e.srv.Client()
	return &http.Client{Transport: c.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) do(c *http.Client, method, path string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (e *env) login(c *http.Client, user, org string) {
	e.t.Helper()
	if resp := e.do(c, "POST", "/login?user="+user+"&org="+org); resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: status %d", resp.StatusCode)
	}
}

// cookie returns the session cookie value in c's jar.
func (e *env) cookie(c *http.Client) string {
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == e.m.CookieName() {
			return ck.Value
		}
	}
	return ""
}

// withCookie returns a fresh client presenting only the given cookie value.
func (e *env) withCookie(v string) *http.Client {
	c := e.browser()
	u, _ := url.Parse(e.srv.URL)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: e.m.CookieName(), Value: v, Path: "/"}})
	return c
}

// me returns GET /me's status and principal.
func (e *env) me(c *http.Client) (int, *sso.Principal) {
	e.t.Helper()
	resp := e.do(c, "GET", "/me")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusUnauthorized && strings.TrimSpace(string(body)) != `{"error":"unauthorized"}` &&
			strings.TrimSpace(string(body)) != `{"error":"reauthentication_required"}` {
			e.t.Fatalf("401 body leaks detail: %s", body)
		}
		return resp.StatusCode, nil
	}
	var p sso.Principal
	if err := json.Unmarshal(body, &p); err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, &p
}

// events returns the audit events of org with the given type.
func (e *env) events(org, typ string) []*sso.Event {
	e.t.Helper()
	evs, err := e.st.ListEvents(context.Background(), sso.EventQuery{OrgID: org, Type: typ})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// sessionFor issues a session directly (without HTTP) and returns it.
func (e *env) sessionFor(user, org string) *session.Session {
	e.t.Helper()
	r := httptest.NewRequest("POST", "/login", nil)
	s, err := e.m.Issue(httptest.NewRecorder(), r, &sso.SessionGrant{UserID: user, OrgID: org, Method: sso.AuthMethod("oidc"), Roles: []string{"member"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// wantReason asserts err is a *sso.ValidationError with the reason.
func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var ve *sso.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v, want *sso.ValidationError with reason %q", err, reason)
	}
	if ve.Reason != reason {
		t.Fatalf("reason = %q, want %q (%v)", ve.Reason, reason, err)
	}
}

func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func newFuzzEnv(f *testing.F) *env { return newEnv(f) }
