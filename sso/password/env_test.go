package password_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore/mempassword"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpassword"
)

// Every sso/mail Mailer is a password.Mailer.
var (
	_ password.Mailer = (*mail.DevMailer)(nil)
	_ password.Mailer = (*mail.SMTP)(nil)
)

// fastParams keep argon2 cheap in tests.
var fastParams = password.Params{Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

// issuer records grants and passes them to the real session manager.
type issuer struct {
	*session.Manager
	mu     sync.Mutex
	grants []*sso.SessionGrant
	// before, when set, runs once before the next session is issued: a
	// change committed after the login read the membership.
	before func()
}

func (i *issuer) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	i.mu.Lock()
	c := *g
	i.grants = append(i.grants, &c)
	before := i.before
	i.before = nil
	i.mu.Unlock()
	if before != nil {
		before()
	}
	return i.Manager.IssueSession(w, r, g)
}

func (i *issuer) last() *sso.SessionGrant {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.grants) == 0 {
		return nil
	}
	return i.grants[len(i.grants)-1]
}

// env is a Manager on one backend (memstore, SQLite or PostgreSQL) with
// a real session manager, SSO enforcement and audit trail, a development
// mailer and a settable clock.
type env struct {
	t       *testing.T
	ms      backend
	st      password.Store
	clock   *testkit.Clock
	mailer  *mail.DevMailer
	issuer  *issuer
	m       *password.Manager
	h       http.Handler
	sess    *session.Manager
	enforce *policy.Enforcer
	trail   *audit.Trail
}

// backend is the core and session store of an env.
type backend interface {
	sso.Store
	session.Store
}

// envFunc makes an env on one backend.
type envFunc func(t *testing.T, mod func(*password.Config)) *env

// newEnv makes an env on memstore.
func newEnv(t *testing.T, mod func(*password.Config)) *env { return newEnvOn(t, "memstore", mod) }

// backends runs f on memstore, SQLite and (when SSOKIT_TEST_POSTGRES is
// set; skipped with a message otherwise) PostgreSQL, in parallel subtests.
func backends(t *testing.T, f func(t *testing.T, newEnv envFunc)) {
	teststore.Each(t, func(t *testing.T, name string) {
		f(t, func(t *testing.T, mod func(*password.Config)) *env { return newEnvOn(t, name, mod) })
	})
}

// stores returns the backend and password store named.
func stores(t *testing.T, name string, now func() time.Time) (backend, password.Store) {
	t.Helper()
	ms, st := teststore.Open(t, name, now)
	if ms != nil {
		return ms, mempassword.New(ms)
	}
	return st, sqlpassword.New(st)
}

func newEnvOn(t *testing.T, name string, mod func(*password.Config)) *env {
	t.Helper()
	clock := testkit.NewClock(time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC))
	ms, pst := stores(t, name, clock.Now)
	sess, err := session.New(session.Config{Store: ms, Events: ms, Orgs: ms, Memberships: ms, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.New(audit.Config{Store: ms, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New(policy.Config{Store: ms, Auditor: trail, Revoker: sess, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ms: ms, st: pst, clock: clock, mailer: &mail.DevMailer{Now: clock.Now},
		issuer: &issuer{Manager: sess}, sess: sess, enforce: enf, trail: trail}
	cfg := password.Config{Store: e.st, Users: ms, Orgs: ms, Members: ms, Sessions: e.issuer, Revoker: sess,
		Enforcer: enf, Auditor: trail, Mailer: e.mailer, AppName: "Acme",
		VerifyURL: mustURL("https://app.acme.example/verify"), ResetURL: mustURL("https://app.acme.example/reset"),
		Params: fastParams, Policy: password.Policy{ContextWords: []string{"acme"}},
		RateLimit: 1e6, Burst: 1e6, MailsPerHour: 1000, Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	e.m, err = password.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h = sess.Load(e.m)
	return e
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// response is a recorded answer.
type response struct {
	code   int
	body   map[string]string
	raw    string
	header http.Header
}

// post sends a JSON POST from ip, with the session cookie when given.
func (e *env) post(path string, body map[string]string, ip string, cookie *http.Cookie) response {
	e.t.Helper()
	b, _ := json.Marshal(body)
	r := httptest.NewRequest("POST", "https://app.acme.example"+path, strings.NewReader(string(b)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.RemoteAddr = ip + ":4242"
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	res := response{code: w.Code, raw: w.Body.String(), header: w.Header()}
	_ = json.Unmarshal(w.Body.Bytes(), &res.body)
	return res
}

// sessionCookie returns the session cookie a response set, or nil.
func (r response) sessionCookie() *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Value != "" && c.MaxAge >= 0 {
			return c
		}
	}
	return nil
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// lastToken returns the token of the newest email to addr.
func (e *env) lastToken(addr string) string {
	e.t.Helper()
	msg, ok := e.mailer.Last(addr)
	if !ok {
		e.t.Fatalf("no email to %s", addr)
	}
	m := tokenRE.FindStringSubmatch(msg.Text)
	if m == nil {
		e.t.Fatalf("email to %s carries no token: %q", addr, msg.Text)
	}
	return m[1]
}

const goodPassword = "correct horse battery staple"

// user creates a verified user with a password.
func (e *env) user(email, pw string) *sso.User {
	e.t.Helper()
	u := &sso.User{ID: "usr_" + strings.Split(email, "@")[0], Email: email, EmailVerified: true}
	if err := e.ms.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	if err := e.m.SetPassword(context.Background(), u, pw); err != nil {
		e.t.Fatal(err)
	}
	e.org(strings.Split(email, "@")[0]+"-home", false, &sso.Membership{UserID: u.ID, Roles: []string{"member"}})
	return u
}

// org creates an organization with u as a member.
func (e *env) org(slug string, enforced bool, members ...*sso.Membership) *sso.Organization {
	e.t.Helper()
	ctx := context.Background()
	o := &sso.Organization{ID: "org_" + slug, Slug: slug, Name: slug}
	if enforced {
		o.Settings.SSOEnforced = true
		o.Settings.Features = o.Settings.Features.With("enforce_sso", "saml")
	}
	if err := e.ms.CreateOrg(ctx, o); err != nil {
		e.t.Fatal(err)
	}
	for _, m := range members {
		m.OrgID = o.ID
		if m.Status == "" {
			m.Status = sso.MembershipActive
		}
		if err := e.ms.CreateMembership(ctx, m); err != nil {
			e.t.Fatal(err)
		}
	}
	return o
}

// wantRefusal checks a response's status and reason.
func wantRefusal(t *testing.T, what string, r response, code int, reason string) {
	t.Helper()
	if r.code != code || r.body["error"] != reason {
		t.Errorf("%s: got %d %s, want %d %q", what, r.code, r.raw, code, reason)
	}
}
