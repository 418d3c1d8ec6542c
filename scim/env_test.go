package scim_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/scimtoken"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memscim"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

// recordingRevoker stands in for session.Manager (TestSCIMEndsOnlyItsOrgSessions
// uses the real one): it records every RevokeOrgSessions call (user and
// organization) and when it happened, and every RevokeUser call, which a
// directory must never make, apart.
type recordingRevoker struct {
	mu     sync.Mutex
	calls  []string
	orgs   []string
	at     []time.Time
	global []string
	err    error
}

func (r *recordingRevoker) RevokeUser(_ context.Context, userID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.global = append(r.global, userID)
	return r.err
}

func (r *recordingRevoker) RevokeOrgSessions(_ context.Context, orgID, userID, _ string, _ ...sso.AuthMethod) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.calls = append(r.calls, userID)
	r.orgs = append(r.orgs, orgID)
	r.at = append(r.at, time.Now())
	return 0, nil
}

// wantOnly fails the test unless every revocation was confined to orgID.
func (r *recordingRevoker) wantOnly(t testing.TB, orgID string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.global) != 0 {
		t.Errorf("the directory ended every organization's sessions of %v", r.global)
	}
	for _, o := range r.orgs {
		if o != orgID {
			t.Errorf("a revocation in organization %s, want only %s", o, orgID)
		}
	}
}

func (r *recordingRevoker) revoked(userID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if c == userID {
			n++
		}
	}
	return n
}

// recordingSyncer is a fake sso.MembershipSyncer (the real one,
// session.Manager, is tested in package session): it records a copy of
// every membership it is handed, and fails with err when set.
type recordingSyncer struct {
	mu    sync.Mutex
	calls []sso.Membership
	err   error
}

func (s *recordingSyncer) SyncMembership(_ context.Context, m *sso.Membership) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := *m
	c.Roles = append([]string(nil), m.Roles...)
	s.calls = append(s.calls, c)
	return s.err
}

// of returns the memberships synced for userID, in order.
func (s *recordingSyncer) of(userID string) []sso.Membership {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sso.Membership
	for _, c := range s.calls {
		if c.UserID == userID {
			out = append(out, c)
		}
	}
	return out
}

type backend interface {
	scim.Store
	scim.CoreStore
	scim.RateStore
	sso.Store
}

// scimStore is the SCIM part of a backend.
type scimStore interface {
	scim.Store
	scim.Seeker
	scim.RateStore
	scim.StatusStore
	scim.EventWriter
}

// coreAndSCIM is a backend: a core store and the SCIM store on the same
// state.
type coreAndSCIM struct {
	sso.Store
	scimStore
}

// SetMembershipRoles is the core store's scim.RolesWriter (memstore and
// sqlstore have it), which the embedded interface would hide.
func (c coreAndSCIM) SetMembershipRoles(ctx context.Context, orgID, userID string, roles []string, at time.Time) error {
	return c.Store.(scim.RolesWriter).SetMembershipRoles(ctx, orgID, userID, roles, at)
}

// newMem returns a backend on a fresh memstore.
func newMem() backend {
	ms := memstore.New()
	return coreAndSCIM{ms, memscim.New(ms)}
}

type env struct {
	t       testing.TB
	st      backend
	h       *scim.Handler
	srv     *httptest.Server
	rev     *recordingRevoker
	org     *sso.Organization
	token   string
	tokenID string
	base    string
	events  *hookLog
	cfg     scim.Config
}

type hookLog struct {
	mu  sync.Mutex
	log []string
}

func (l *hookLog) add(s string) { l.mu.Lock(); l.log = append(l.log, s); l.mu.Unlock() }
func (l *hookLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.log...)
}

type envOpt func(*scim.Config)

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	return newEnvOn(t, newMem(), opts...)
}

func newEnvOn(t testing.TB, st backend, opts ...envOpt) *env {
	t.Helper()
	e := &env{t: t, st: st, rev: &recordingRevoker{}, events: &hookLog{}}
	e.org = e.addOrg("acme")
	e.token, e.tokenID = e.issue(e.org.ID)
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + "/scim/v2"
	bu, _ := url.Parse(e.base)
	cfg := scim.Config{
		Store: st, Core: st, Revoker: e.rev, BaseURL: bu, RateLimit: 100000,
		Hooks: scim.Hooks{
			UserCreated:     func(_ context.Context, u *scim.User) { e.events.add("created:" + u.ID) },
			UserUpdated:     func(_ context.Context, u *scim.User) { e.events.add("updated:" + u.ID) },
			UserDeactivated: func(_ context.Context, u *scim.User) { e.events.add("deactivated:" + u.ID) },
			UserReactivated: func(_ context.Context, u *scim.User) { e.events.add("reactivated:" + u.ID) },
			GroupChanged: func(_ context.Context, g *scim.Group, _ []string, deleted bool) {
				e.events.add("group:" + g.ID)
			},
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := scim.New(cfg)
	if err != nil {
		t.Fatalf("scim.New: %v", err)
	}
	e.h, e.cfg = h, cfg
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", h))
	return e
}

// replica returns an env for a second Handler (another replica of the
// host) with the same configuration, store, organization and token.
func (e *env) replica() *env {
	e.t.Helper()
	r := *e
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	e.t.Cleanup(r.srv.Close)
	r.base = r.srv.URL + "/scim/v2"
	h, err := scim.New(e.cfg)
	if err != nil {
		e.t.Fatalf("scim.New: %v", err)
	}
	r.h = h
	mux.Handle("/scim/v2/", http.StripPrefix("/scim/v2", h))
	return &r
}

func (e *env) addOrg(slug string) *sso.Organization {
	e.t.Helper()
	o := &sso.Organization{ID: opaque.NewID("org_"), Slug: slug, Name: slug, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	o.Settings.Features = o.Settings.Features.With("scim")
	if err := e.st.CreateOrg(context.Background(), o); err != nil {
		e.t.Fatalf("CreateOrg: %v", err)
	}
	return o
}

func (e *env) issue(orgID string) (string, string) {
	e.t.Helper()
	plain, tok, err := scimtoken.Issue(context.Background(), e.st, orgID, "test", time.Now())
	if err != nil {
		e.t.Fatalf("IssueSCIMToken: %v", err)
	}
	return plain, tok.ID
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r *resp) str(path ...string) string {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (e *env) do(method, path, body string) *resp { return e.doTok(e.token, method, path, body) }

func (e *env) doTok(token, method, path, body string) *resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) *resp {
	e.t.Helper()
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := &resp{status: res.StatusCode, header: res.Header, raw: string(b)}
	if ct := res.Header.Get("Content-Type"); ct != "application/scim+json" {
		e.t.Errorf("%s %s: Content-Type %q, want application/scim+json", req.Method, req.URL.Path, ct)
	}
	if len(bytes.TrimSpace(b)) > 0 {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&r.body); err != nil {
			e.t.Errorf("%s %s: body is not JSON: %v: %q", req.Method, req.URL.Path, err, b)
		}
	}
	if res.StatusCode >= 500 && res.StatusCode != http.StatusServiceUnavailable {
		e.t.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, res.StatusCode, b)
	}
	return r
}

// wantErr asserts a SCIM error response with status and scimType.
func (r *resp) wantErr(t testing.TB, status int, scimType string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	schemas, _ := r.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Errorf("error schemas = %v", r.body["schemas"])
	}
	if got := r.str("status"); got != itoa(status) {
		t.Errorf("error status field %q, want %q", got, itoa(status))
	}
	if got := r.str("scimType"); got != scimType {
		t.Errorf("scimType %q, want %q (%s)", got, scimType, r.raw)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func (r *resp) want(t testing.TB, status int) *resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

func (r *resp) total() int {
	n, _ := r.body["totalResults"].(json.Number)
	v, _ := n.Int64()
	return int(v)
}

func (r *resp) resources() []map[string]any {
	list, _ := r.body["Resources"].([]any)
	var out []map[string]any
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// createUser creates a user and returns its ID.
func (e *env) createUser(userName string, extra ...string) string {
	e.t.Helper()
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":` + q(userName) +
		`,"name":{"givenName":"Given","familyName":"Family"},"emails":[{"value":` + q(userName) + `,"type":"work","primary":true}],"active":true`
	for _, x := range extra {
		body += "," + x
	}
	body += "}"
	r := e.do("POST", "/Users", body).want(e.t, http.StatusCreated)
	return r.str("id")
}

func (e *env) createGroup(name string, members ...string) string {
	e.t.Helper()
	var ms []string
	for _, m := range members {
		ms = append(ms, `{"value":`+q(m)+`}`)
	}
	r := e.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":`+q(name)+`,"members":[`+strings.Join(ms, ",")+`]}`).want(e.t, http.StatusCreated)
	return r.str("id")
}

func q(s string) string { b, _ := json.Marshal(s); return string(b) }

func (e *env) membership(userID string) *sso.Membership {
	e.t.Helper()
	m, err := e.st.GetMembership(context.Background(), e.org.ID, userID)
	if err != nil {
		e.t.Fatalf("GetMembership: %v", err)
	}
	return m
}

func urlq(s string) string { return url.QueryEscape(s) }

// backends are the stores every handler test runs on: memstore, SQLite and
// (when SSOKIT_TEST_POSTGRES is set) PostgreSQL.
func backends() []struct {
	name string
	open func(t testing.TB) backend
} {
	return []struct {
		name string
		open func(t testing.TB) backend
	}{
		{"memstore", func(t testing.TB) backend { return newMem() }},
		{"sqlite", func(t testing.TB) backend { return openSQL(t, testdb.SQLite(t), sqlstore.SQLite) }},
		{"postgres", func(t testing.TB) backend { return openSQL(t, testdb.Postgres(t), sqlstore.Postgres) }},
	}
}

func openSQL(t testing.TB, db *sql.DB, d sqlstore.Dialect) backend {
	t.Helper()
	s, err := sqlstore.New(db, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return coreAndSCIM{s, sqlscim.New(s)}
}

// forEachBackend runs fn on a fresh env per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env), opts ...envOpt) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnvOn(t, b.open(t), opts...))
		})
	}
}
