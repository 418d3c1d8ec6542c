// Package ssoenv is the shared fixture of the core services' tests: an
// in-memory store with a controllable clock, helpers that create
// organizations, domains, connections and members, and fakes for the
// interfaces the services call out through (a protocol Starter, a session
// issuer and revoker, a DNS resolver). It is test support only, beside internal/testkit (whose clock it uses):
// it imports the services and memstore, which the protocol packages' own
// tests cannot, so it is a package of its own.
package ssoenv

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

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
)

// Env is a tenancy test fixture on memstore with a controllable clock.
type Env struct {
	t   testing.TB
	St  *memstore.Store
	Aud *audit.Trail

	clk *testkit.Clock
}

// New returns a fixture on a fresh memstore whose clock starts at
// 2026-03-01 12:00 UTC and moves only with Advance.
func New(t testing.TB) *Env {
	t.Helper()
	e := &Env{t: t, clk: testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	e.St = memstore.New(memstore.WithClock(e.Clock))
	aud, err := audit.New(audit.Config{Store: e.St, Now: e.Clock})
	if err != nil {
		t.Fatal(err)
	}
	e.Aud = aud
	return e
}

// Clock returns the fixture's current time.
func (e *Env) Clock() time.Time { return e.clk.Now() }

// Advance moves the clock forward by d.
func (e *Env) Advance(d time.Duration) { e.clk.Advance(d) }

// Ctx is the background context of the fixtures.
var Ctx = context.Background()

// AllFeatures is a plan with every feature on.
var AllFeatures = sso.Features{"saml", "oidc", "scim", "enforce_sso", "enforce_mfa"}

// Org creates an organization with every feature and JIT on; mut edits
// its settings first.
func (e *Env) Org(slug string, mut func(*sso.OrgSettings)) *sso.Organization {
	e.t.Helper()
	o := &sso.Organization{ID: opaque.NewID("org_"), Slug: slug, Name: strings.ToUpper(slug), CreatedAt: e.Clock()}
	o.Settings.Features = AllFeatures
	o.Settings.AllowJIT = true
	if mut != nil {
		mut(&o.Settings)
	}
	if err := e.St.CreateOrg(Ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// Verified stores a verified domain for org directly.
func (e *Env) Verified(orgID, name string) {
	e.t.Helper()
	if err := e.St.CreateDomain(Ctx, &sso.Domain{OrgID: orgID, Name: name, Token: opaque.NewToken(32),
		State: sso.DomainVerified, VerifiedAt: e.Clock(), LastCheckedAt: e.Clock(), CreatedAt: e.Clock()}); err != nil {
		e.t.Fatal(err)
	}
}

// Conn creates a connection of protocol p with the given status and
// issuer.
func (e *Env) Conn(orgID string, p sso.Protocol, status sso.ConnectionStatus, issuer string) *sso.Connection {
	e.t.Helper()
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: orgID, Protocol: p, Status: status, DisplayName: issuer,
		CreatedAt: e.Clock()}
	if p == saml.Protocol {
		c.Config = &saml.ConnectionConfig{IdPEntityID: issuer}
	} else {
		c.Config = &oidc.ConnectionConfig{Issuer: issuer}
	}
	if status == sso.ConnectionActive {
		c.LastTestOK = e.Clock()
	}
	if err := e.St.CreateConnection(Ctx, c); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// Member creates a user and an active membership.
func (e *Env) Member(orgID, email string, mut func(*sso.Membership)) *sso.User {
	e.t.Helper()
	u := &sso.User{ID: opaque.NewID("usr_"), Email: email, EmailVerified: true, CreatedAt: e.Clock()}
	m := &sso.Membership{OrgID: orgID, UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive,
		Source: sso.SourceAdmin, JoinedAt: e.Clock()}
	if mut != nil {
		mut(m)
	}
	if err := e.St.Provision(Ctx, u, m, nil); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// Events returns orgID's events of type typ (all types when empty).
func (e *Env) Events(orgID, typ string) []*sso.Event {
	e.t.Helper()
	evs, err := e.St.ListEvents(Ctx, sso.EventQuery{OrgID: orgID, Type: typ, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// LastEvent returns orgID's newest event of type typ, failing the test
// when there is none.
func (e *Env) LastEvent(orgID, typ string) *sso.Event {
	e.t.Helper()
	evs := e.Events(orgID, typ)
	if len(evs) == 0 {
		e.t.Fatalf("no %s event in org %s", typ, orgID)
	}
	return evs[len(evs)-1]
}

// CountMembers returns how many members orgID has.
func (e *Env) CountMembers(orgID string) int {
	e.t.Helper()
	ms, err := e.St.ListMembers(Ctx, orgID, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

// FakeStarter stands in for saml/oidc: it redirects to a fake IdP URL and
// records its calls.
type FakeStarter struct {
	mu    sync.Mutex
	calls []StartCall
	Err   error
}

// StartCall is one call of FakeStarter.StartLogin.
type StartCall struct {
	Conn string
	Opts sso.StartOptions
}

// StartLogin records the call and redirects to a fake IdP.
func (f *FakeStarter) StartLogin(w http.ResponseWriter, r *http.Request, c *sso.Connection, opts sso.StartOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	f.calls = append(f.calls, StartCall{Conn: c.ID, Opts: opts})
	http.SetCookie(w, &http.Cookie{Name: "sso_state", Value: "s", Path: "/", HttpOnly: true})
	http.Redirect(w, r, "https://idp.example/authorize?conn="+url.QueryEscape(c.ID), http.StatusFound)
	return nil
}

// Last returns the latest call, failing the test when there was none.
func (f *FakeStarter) Last(t *testing.T) StartCall {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("starter not called")
	}
	return f.calls[len(f.calls)-1]
}

// FakeIssuer records session grants and sets a marker cookie.
type FakeIssuer struct {
	mu     sync.Mutex
	Grants []*sso.SessionGrant
}

// IssueSession records g and sets a marker cookie.
func (f *FakeIssuer) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Grants = append(f.Grants, g)
	http.SetCookie(w, &http.Cookie{Name: "session", Value: g.UserID, Path: "/", HttpOnly: true, Secure: true})
	return nil
}

// Count returns how many sessions were issued.
func (f *FakeIssuer) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.Grants)
}

// FakeRevoker is a FAKE session.Manager (the session package lands in
// parallel): it records which users' sessions and API token families were
// revoked, and the time of each call.
type FakeRevoker struct {
	mu      sync.Mutex
	revoked map[string]time.Time
	Now     func() time.Time
}

// RevokeUser records when userID was revoked.
func (f *FakeRevoker) RevokeUser(_ context.Context, userID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.revoked == nil {
		f.revoked = map[string]time.Time{}
	}
	f.revoked[userID] = f.Now()
	return nil
}

// Was returns when userID was revoked, if it was.
func (f *FakeRevoker) Was(userID string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.revoked[userID]
	return at, ok
}

// FakeResolver answers TXT lookups from a map; fn, when set, overrides.
type FakeResolver struct {
	mu      sync.Mutex
	records map[string][]string
	Fn      func(Ctx context.Context, name string) ([]string, error)
}

// Set makes name answer recs.
func (f *FakeResolver) Set(name string, recs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.records == nil {
		f.records = map[string][]string{}
	}
	f.records[name] = recs
}

// LookupTXT answers from Fn, else from the records set, else NXDOMAIN.
func (f *FakeResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	f.mu.Lock()
	fn, recs, ok := f.Fn, f.records[name], false
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

// Domains returns a domain manager on the fixture's store, auditor and
// clock; mut edits its Config first.
func (e *Env) Domains(res domains.TXTResolver, mut func(*domains.Config)) *domains.Manager {
	e.t.Helper()
	cfg := domains.Config{Store: e.St, Auditor: e.Aud, Resolver: res, Now: e.Clock,
		LookupTimeout: 200 * time.Millisecond}
	if mut != nil {
		mut(&cfg)
	}
	d, err := domains.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// Completer returns a login completer issuing sessions through iss.
func (e *Env) Completer(iss sso.SessionIssuer) *login.Completer {
	e.t.Helper()
	c, err := login.New(login.Config{Store: e.St, Sessions: iss, Auditor: e.Aud, Now: e.Clock,
		DefaultReturnTo: "/app", TestReturnTo: "/admin/sso"})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// Enforcer returns an SSO enforcement service revoking through rev.
func (e *Env) Enforcer(rev sso.SessionRevoker) *policy.Enforcer {
	e.t.Helper()
	en, err := policy.New(policy.Config{Store: e.St, Auditor: e.Aud, Revoker: rev, Now: e.Clock})
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

// Login runs a completion through HTTP and returns the response.
func (e *Env) Login(c *login.Completer, l *sso.Login) (*httptest.ResponseRecorder, error) {
	r := httptest.NewRequest("POST", "https://app.example/sso/saml/acs/"+l.Connection.ID, nil)
	r.RemoteAddr = "198.51.100.7:4711"
	r.Header.Set("User-Agent", "test-browser")
	w := httptest.NewRecorder()
	err := c.Complete(w, r, l)
	return w, err
}

// Profile returns the verified profile of subject at connection c.
func Profile(c *sso.Connection, subject, email string, verified bool) *sso.Profile {
	return &sso.Profile{Protocol: c.Protocol, OrgID: c.OrgID, ConnectionID: c.ID, Issuer: c.Issuer(),
		Subject: subject, Email: email, EmailVerified: verified}
}

// WantReason fails the test unless err wraps sentinel (when non-nil) and
// carries the stable reason.
func WantReason(t *testing.T, err error, sentinel error, reason string) {
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

// Calls returns how many logins f started.
func (f *FakeStarter) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}
