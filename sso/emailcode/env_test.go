package emailcode_test

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
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore/mememailcode"
	"github.com/ssokit/ssokit/store/sqlstore/sqlemailcode"
)

// Every sso/mail Mailer is an emailcode.Mailer.
var (
	_ emailcode.Mailer = (*mail.DevMailer)(nil)
	_ emailcode.Mailer = (*mail.SMTP)(nil)
)

const cookieName = "__Host-ssokit_email"

// issuer records grants and passes them to the real session manager.
type issuer struct {
	*session.Manager
	mu     sync.Mutex
	grants []*sso.SessionGrant
}

func (i *issuer) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	i.mu.Lock()
	c := *g
	i.grants = append(i.grants, &c)
	i.mu.Unlock()
	return i.Manager.IssueSession(w, r, g)
}

func (i *issuer) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.grants)
}

func (i *issuer) last() *sso.SessionGrant {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.grants) == 0 {
		return nil
	}
	return i.grants[len(i.grants)-1]
}

// env is a Manager on memstore with a real session manager, SSO
// enforcement and audit trail, a development mailer and a settable clock.
type env struct {
	t      *testing.T
	ms     backend
	ecs    emailcode.Store
	clock  *testkit.Clock
	mailer *mail.DevMailer
	issuer *issuer
	m      *emailcode.Manager
	h      http.Handler
	trail  *audit.Trail
}

func newEnv(t *testing.T, mod func(*emailcode.Config)) *env { return newEnvOn(t, "memstore", mod) }

// backend is the core and session store of an env.
type backend interface {
	sso.Store
	session.Store
}

// envFunc makes an env on one backend.
type envFunc func(t *testing.T, mod func(*emailcode.Config)) *env

// backends runs f on memstore, SQLite and (when SSOKIT_TEST_POSTGRES is
// set) PostgreSQL, in parallel subtests.
func backends(t *testing.T, f func(t *testing.T, newEnv envFunc)) {
	teststore.Each(t, func(t *testing.T, name string) {
		f(t, func(t *testing.T, mod func(*emailcode.Config)) *env { return newEnvOn(t, name, mod) })
	})
}

// stores returns the backend and emailcode store named.
func stores(t *testing.T, name string, now func() time.Time) (backend, emailcode.Store) {
	t.Helper()
	ms, st := teststore.Open(t, name, now)
	if ms != nil {
		return ms, mememailcode.New(ms)
	}
	return st, sqlemailcode.New(st)
}

func newEnvOn(t *testing.T, name string, mod func(*emailcode.Config)) *env {
	t.Helper()
	clock := testkit.NewClock(time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC))
	ms, ecs := stores(t, name, clock.Now)
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
	e := &env{t: t, ms: ms, ecs: ecs, clock: clock, mailer: &mail.DevMailer{Now: clock.Now}, issuer: &issuer{Manager: sess}, trail: trail}
	base, _ := url.Parse("https://app.acme.example/auth/email")
	cfg := emailcode.Config{Store: ecs, Users: ms, Orgs: ms, Members: ms, Sessions: e.issuer,
		Enforcer: enf, Auditor: trail, Mailer: e.mailer, BaseURL: base, AppName: "Acme",
		RateLimit: 1e6, Burst: 1e6, RequestsPerHour: 1000, IPRequestsPerHour: 1000, Now: clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	e.m, err = emailcode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h = sess.Load(http.StripPrefix("/auth/email", e.m))
	return e
}

// browser keeps one browser's cookies and client address.
type browser struct {
	e       *env
	ip      string
	cookies map[string]*http.Cookie
}

func (e *env) browser(ip string) *browser {
	return &browser{e: e, ip: ip, cookies: map[string]*http.Cookie{}}
}

// response is a recorded answer.
type response struct {
	code   int
	body   map[string]string
	raw    string
	header http.Header
}

// do sends r from b, keeping the cookies the answer sets.
func (b *browser) do(r *http.Request) response {
	b.e.t.Helper()
	r.RemoteAddr = b.ip + ":4242"
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.e.h.ServeHTTP(w, r)
	res := response{code: w.Code, raw: w.Body.String(), header: w.Header()}
	_ = json.Unmarshal(w.Body.Bytes(), &res.body)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return res
}

// post sends a JSON POST.
func (b *browser) post(path string, body map[string]string) response {
	b.e.t.Helper()
	j, _ := json.Marshal(body)
	r := httptest.NewRequest("POST", "https://app.acme.example/auth/email"+path, strings.NewReader(string(j)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(r)
}

// form sends a same-origin form POST.
func (b *browser) form(path string, v url.Values) response {
	b.e.t.Helper()
	r := httptest.NewRequest("POST", "https://app.acme.example/auth/email"+path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(r)
}

// get sends a GET of an absolute URL.
func (b *browser) get(u string) response {
	b.e.t.Helper()
	return b.do(httptest.NewRequest("GET", u, nil))
}

// signedIn reports whether b holds a session cookie.
func (b *browser) signedIn() bool {
	for name := range b.cookies {
		if name != cookieName {
			return true
		}
	}
	return false
}

func (b *browser) request(email string) response {
	b.e.t.Helper()
	res := b.post("/request", map[string]string{"email": email, "return_to": "/app"})
	b.e.m.Wait()
	return res
}

var (
	codeRE = regexp.MustCompile(`code is (\d+)`)
	linkRE = regexp.MustCompile(`https://\S+/link\?token=[A-Za-z0-9_-]+`)
)

// mailTo returns the code and link of the newest email to addr.
func (e *env) mailTo(addr string) (code, link string) {
	e.t.Helper()
	e.m.Wait()
	msg, ok := e.mailer.Last(addr)
	if !ok {
		e.t.Fatalf("no email to %s", addr)
	}
	c, l := codeRE.FindStringSubmatch(msg.Text), linkRE.FindString(msg.Text)
	if c == nil || l == "" {
		e.t.Fatalf("email to %s carries no code or link: %q", addr, msg.Text)
	}
	return c[1], l
}

// mails returns how many emails went to addr.
func (e *env) mails(addr string) int {
	e.m.Wait()
	n := 0
	for _, m := range e.mailer.Messages() {
		if m.To == addr {
			n++
		}
	}
	return n
}

// user creates a verified user who is an active member of a home org.
func (e *env) user(email string) *sso.User {
	e.t.Helper()
	u := &sso.User{ID: "usr_" + strings.Split(email, "@")[0], Email: email, EmailVerified: true, CreatedAt: e.clock.Now()}
	if err := e.ms.CreateUser(context.Background(), u); err != nil {
		e.t.Fatal(err)
	}
	e.org(strings.Split(email, "@")[0]+"-home", false, &sso.Membership{UserID: u.ID, Roles: []string{"member"}})
	return u
}

// org creates an organization with the members given.
func (e *env) org(slug string, enforced bool, members ...*sso.Membership) *sso.Organization {
	e.t.Helper()
	ctx := context.Background()
	o := &sso.Organization{ID: "org_" + slug, Slug: slug, Name: slug,
		Settings: sso.OrgSettings{Features: sso.Features{emailcode.FeatureCode, emailcode.FeatureLink}}}
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

// events returns the audit events of orgID ("" for the events of no
// organization) of type typ.
func (e *env) events(orgID, typ string) []*sso.Event {
	e.t.Helper()
	evs, err := e.ms.ListEvents(context.Background(), sso.EventQuery{OrgID: orgID})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []*sso.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// wantRefusal checks a response's status and reason.
func wantRefusal(t *testing.T, what string, r response, code int, reason string) {
	t.Helper()
	if r.code != code || r.body["error"] != reason {
		t.Errorf("%s: got %d %s, want %d %q", what, r.code, r.raw, code, reason)
	}
}

// findVerified looks up the verified user of email.
func findVerified(e *env, email string) (*sso.User, error) {
	return e.ecs.FindVerifiedUser(context.Background(), email)
}

// httptestRequest builds a same-host request with a JSON body.
func httptestRequest(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, "https://app.acme.example/auth/email"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// slowMailer is a DevMailer that takes d per message, like a remote SMTP
// server.
type slowMailer struct {
	*mail.DevMailer
	d time.Duration
}

func (s slowMailer) Send(ctx context.Context, m emailcode.Message) error {
	time.Sleep(s.d)
	return s.DevMailer.Send(ctx, m)
}

// newEnvWithSlowMailer is newEnvOn(store) whose Mailer takes d per
// message.
func newEnvWithSlowMailer(t *testing.T, store string, d time.Duration) *env {
	var dev *mail.DevMailer
	e := newEnvOn(t, store, func(c *emailcode.Config) {
		dev = c.Mailer.(*mail.DevMailer)
		c.Mailer = slowMailer{DevMailer: dev, d: d}
	})
	return e
}
