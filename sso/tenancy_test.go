package sso_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
)

// env is a tenancy test fixture on memstore with a controllable clock.
type env struct {
	t   testing.TB
	st  *memstore.Store
	aud *sso.Auditor

	mu  sync.Mutex
	now time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	e.st = memstore.New(memstore.WithClock(e.clock))
	aud, err := sso.NewAuditor(sso.AuditorConfig{Store: e.st, Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	e.aud = aud
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

var ctx = context.Background()

// allFeatures is a plan with every feature on.
var allFeatures = sso.Features{SAML: true, OIDC: true, SCIM: true, EnforceSSO: true, EnforceMFA: true}

func (e *env) org(slug string, mut func(*sso.OrgSettings)) *sso.Organization {
	e.t.Helper()
	o := &sso.Organization{ID: sso.NewID("org_"), Slug: slug, Name: strings.ToUpper(slug), CreatedAt: e.clock()}
	o.Settings.Features = allFeatures
	o.Settings.AllowJIT = true
	if mut != nil {
		mut(&o.Settings)
	}
	if err := e.st.CreateOrg(ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// verified stores a verified domain for org directly.
func (e *env) verified(orgID, name string) {
	e.t.Helper()
	if err := e.st.CreateDomain(ctx, &sso.Domain{OrgID: orgID, Name: name, Token: sso.NewToken(32),
		State: sso.DomainVerified, VerifiedAt: e.clock(), LastCheckedAt: e.clock(), CreatedAt: e.clock()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) conn(orgID string, p sso.Protocol, status sso.ConnectionStatus, issuer string) *sso.Connection {
	e.t.Helper()
	c := &sso.Connection{ID: sso.NewID("conn_"), OrgID: orgID, Protocol: p, Status: status, DisplayName: issuer,
		CreatedAt: e.clock()}
	if p == sso.ProtocolSAML {
		c.SAML = &sso.SAMLConfig{IdPEntityID: issuer}
	} else {
		c.OIDC = &sso.OIDCConfig{Issuer: issuer}
	}
	if status == sso.ConnectionActive {
		c.LastTestOK = e.clock()
	}
	if err := e.st.CreateConnection(ctx, c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// member creates a user and an active membership.
func (e *env) member(orgID, email string, mut func(*sso.Membership)) *sso.User {
	e.t.Helper()
	u := &sso.User{ID: sso.NewID("usr_"), Email: email, EmailVerified: true, CreatedAt: e.clock()}
	m := &sso.Membership{OrgID: orgID, UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive,
		Source: sso.SourceAdmin, JoinedAt: e.clock()}
	if mut != nil {
		mut(m)
	}
	if err := e.st.Provision(ctx, u, m, nil); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) events(orgID, typ string) []*sso.Event {
	e.t.Helper()
	evs, err := e.st.ListEvents(ctx, sso.EventQuery{OrgID: orgID, Type: typ, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func (e *env) lastEvent(orgID, typ string) *sso.Event {
	e.t.Helper()
	evs := e.events(orgID, typ)
	if len(evs) == 0 {
		e.t.Fatalf("no %s event in org %s", typ, orgID)
	}
	return evs[len(evs)-1]
}

func (e *env) countMembers(orgID string) int {
	e.t.Helper()
	ms, err := e.st.ListMembers(ctx, orgID, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

// fakeStarter stands in for saml/oidc: it redirects to a fake IdP URL and
// records its calls.
type fakeStarter struct {
	mu    sync.Mutex
	calls []startCall
	err   error
}

type startCall struct {
	Conn string
	Opts sso.StartOptions
}

func (f *fakeStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.calls = append(f.calls, startCall{Conn: c.ID, Opts: opts})
	http.SetCookie(w, &http.Cookie{Name: "sso_state", Value: "s", Path: "/", HttpOnly: true})
	http.Redirect(w, r, "https://idp.example/authorize?conn="+url.QueryEscape(c.ID), http.StatusFound)
	return nil
}

func (f *fakeStarter) last(t *testing.T) startCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("starter not called")
	}
	return f.calls[len(f.calls)-1]
}

// fakeIssuer records session grants and sets a marker cookie.
type fakeIssuer struct {
	mu     sync.Mutex
	grants []*sso.SessionGrant
}

func (f *fakeIssuer) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grants = append(f.grants, g)
	http.SetCookie(w, &http.Cookie{Name: "session", Value: g.UserID, Path: "/", HttpOnly: true, Secure: true})
	return nil
}

func (f *fakeIssuer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.grants)
}

// fakeRevoker is a FAKE session.Manager (the session package lands in
// parallel): it records which users' sessions and API token families were
// revoked, and the time of each call.
type fakeRevoker struct {
	mu      sync.Mutex
	revoked map[string]time.Time
	now     func() time.Time
}

func (f *fakeRevoker) RevokeUser(_ context.Context, userID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.revoked == nil {
		f.revoked = map[string]time.Time{}
	}
	f.revoked[userID] = f.now()
	return nil
}

func (f *fakeRevoker) was(userID string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.revoked[userID]
	return at, ok
}

// fakeResolver answers TXT lookups from a map; fn, when set, overrides.
type fakeResolver struct {
	mu      sync.Mutex
	records map[string][]string
	fn      func(ctx context.Context, name string) ([]string, error)
}

func (f *fakeResolver) set(name string, recs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.records == nil {
		f.records = map[string][]string{}
	}
	f.records[name] = recs
}

func (f *fakeResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	f.mu.Lock()
	fn, recs, ok := f.fn, f.records[name], false
	if f.records != nil {
		_, ok = f.records[name]
	}
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, name)
	}
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return recs, nil
}

func (e *env) domains(res sso.TXTResolver, mut func(*sso.DomainsConfig)) *sso.Domains {
	e.t.Helper()
	cfg := sso.DomainsConfig{Store: e.st, Auditor: e.aud, Resolver: res, Now: e.clock,
		LookupTimeout: 200 * time.Millisecond}
	if mut != nil {
		mut(&cfg)
	}
	d, err := sso.NewDomains(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) completer(iss sso.SessionIssuer) *sso.LoginCompleter {
	e.t.Helper()
	c, err := sso.NewCompleter(sso.CompleterConfig{Store: e.st, Sessions: iss, Auditor: e.aud, Now: e.clock,
		DefaultReturnTo: "/app", TestReturnTo: "/admin/sso"})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) enforcer(rev sso.SessionRevoker) *sso.Enforcer {
	e.t.Helper()
	en, err := sso.NewEnforcer(sso.EnforcerConfig{Store: e.st, Auditor: e.aud, Revoker: rev, Now: e.clock})
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

// login runs a completion through HTTP and returns the response.
func (e *env) login(c *sso.LoginCompleter, l *sso.Login) (*httptest.ResponseRecorder, error) {
	r := httptest.NewRequest("POST", "https://app.example/sso/saml/acs/"+l.Connection.ID, nil)
	r.RemoteAddr = "198.51.100.7:4711"
	r.Header.Set("User-Agent", "test-browser")
	w := httptest.NewRecorder()
	err := c.Complete(w, r, l)
	return w, err
}

func profile(c *sso.Connection, subject, email string, verified bool) *sso.Profile {
	return &sso.Profile{Protocol: c.Protocol, OrgID: c.OrgID, ConnectionID: c.ID, Issuer: sso.IssuerOf(c),
		Subject: subject, Email: email, EmailVerified: verified}
}

func wantReason(t *testing.T, err error, sentinel error, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %v (%s)", sentinel, reason)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Fatalf("got %v, want errors.Is %v", err, sentinel)
	}
	if got := sso.ReasonOf(err); got != reason {
		t.Fatalf("got reason %q, want %q (err %v)", got, reason, err)
	}
}
