package stack_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
)

// This file measures what a SAML login costs the database: the statements
// and commits of one ACS POST (counted at the driver), and the throughput
// and tail latency of concurrent logins in one organization against the
// same load spread over 16, on a whole Stack over sqlstore.
//
//	SSOKIT_TEST_POSTGRES=... go test ./sso/stack -run TestSAMLLoginStatements -v
//	SSOKIT_TEST_POSTGRES=... go test ./sso/stack -run '^$' -bench SAMLLoginConcurrent -benchtime 480x -benchmem

// dbCounter counts what reaches the database through countingConnector:
// statements (each Exec, Query or Prepare), commits (each committed
// transaction, and each write statement run outside one, which commits on
// its own), and, while recording, the statements themselves.
type dbCounter struct {
	stmts, commits, trips atomic.Int64
	mu                    sync.Mutex
	recording             bool
	log                   []string
}

func (c *dbCounter) statement(q string, inTx bool) {
	c.stmts.Add(1)
	c.trips.Add(1)
	write := isWrite(q)
	if write && !inTx {
		c.commits.Add(1)
	}
	c.mu.Lock()
	if c.recording {
		line := strings.Join(strings.Fields(q), " ")
		if inTx {
			line = "  (tx) " + line
		} else if write {
			line = "(commit) " + line
		}
		c.log = append(c.log, line)
	}
	c.mu.Unlock()
}

// event records a transaction's BEGIN, COMMIT or ROLLBACK: a round trip
// but not a statement.
func (c *dbCounter) event(what string) {
	c.trips.Add(1)
	c.mu.Lock()
	if c.recording {
		c.log = append(c.log, what)
	}
	c.mu.Unlock()
}

// record starts a recording, and stop ends it and returns the statements,
// commits and round trips since, and the log.
func (c *dbCounter) record() (stop func() (stmts, commits, trips int64, log []string)) {
	c.mu.Lock()
	c.recording, c.log = true, nil
	c.mu.Unlock()
	s0, c0, t0 := c.stmts.Load(), c.commits.Load(), c.trips.Load()
	return func() (int64, int64, int64, []string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.recording = false
		return c.stmts.Load() - s0, c.commits.Load() - c0, c.trips.Load() - t0, c.log
	}
}

// isWrite reports whether q changes data (a bare SELECT, also one with FOR
// UPDATE, does not).
func isWrite(q string) bool {
	u := strings.ToUpper(q)
	f := strings.Fields(u)
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "INSERT", "UPDATE", "DELETE":
		return true
	case "WITH":
		return strings.Contains(u, "INSERT ") || strings.Contains(u, "UPDATE ") || strings.Contains(u, "DELETE ")
	}
	return false
}

type countingConnector struct {
	dsn string
	d   driver.Driver
	c   *dbCounter
}

func (cc countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := cc.d.Open(cc.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: cc.c}, nil
}

func (cc countingConnector) Driver() driver.Driver { return cc.d }

type countingConn struct {
	driver.Conn
	c    *dbCounter
	inTx bool
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.c.statement(q, c.inTx)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.c.statement(q, c.inTx)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.c.statement(q, c.inTx)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	c.c.event("  BEGIN")
	return &countingTx{Tx: tx, conn: c}, nil
}

func (c *countingConn) CheckNamedValue(v *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

type countingTx struct {
	driver.Tx
	conn *countingConn
}

func (t *countingTx) Commit() error {
	t.conn.inTx = false
	t.conn.c.commits.Add(1)
	t.conn.c.event("(commit) COMMIT")
	return t.Tx.Commit()
}

func (t *countingTx) Rollback() error {
	t.conn.inTx = false
	t.conn.c.event("  ROLLBACK")
	return t.Tx.Rollback()
}

// loginEnv is a Stack on a counted sqlstore database, with an in-process
// IdP and one SAML connection per organization; user u of organization o
// signs in as "u<u>@o<o>.test".
type loginEnv struct {
	stack *stack.Stack
	base  string
	idp   *ssotest.Server
	count *dbCounter
	orgs  int
}

func email(org, user int) string { return fmt.Sprintf("u%03d@o%02d.test", user, org) }
func connID(org int) string      { return fmt.Sprintf("conn_%02d", org) }

// newLoginEnv builds the environment on a fresh database of dialect d,
// with orgs organizations of users users each.
func newLoginEnv(tb testing.TB, d sqlstore.Dialect, orgs, users int) *loginEnv {
	tb.Helper()
	ctx := context.Background()
	e := &loginEnv{count: &dbCounter{}, orgs: orgs}
	var (
		plain *sql.DB
		conn  countingConnector
	)
	switch d {
	case sqlstore.Postgres:
		db, dsn := testdb.PostgresSchema(tb)
		plain, conn = db, countingConnector{dsn: dsn, d: stdlib.GetDefaultDriver(), c: e.count}
	default:
		dsn := sqlstore.SQLiteDSN(tb.TempDir() + "/login.db")
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		plain, conn = db, countingConnector{dsn: dsn, d: &sqlite.Driver{}, c: e.count}
	}
	setup, err := sqlstore.New(plain, d)
	if err != nil {
		tb.Fatal(err)
	}
	if err := setup.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	counted := sql.OpenDB(conn)
	counted.SetMaxIdleConns(32)
	tb.Cleanup(func() { counted.Close() })
	st, err := sqlstore.New(counted, d)
	if err != nil {
		tb.Fatal(err)
	}

	var idpUsers []ssotest.User
	for o := range orgs {
		for u := range users {
			idpUsers = append(idpUsers, ssotest.User{Email: email(o, u), GivenName: "U", FamilyName: fmt.Sprint(u), Subject: email(o, u)})
		}
	}
	e.idp = ssotest.NewServerWith(tb, ssotest.Config{Users: idpUsers})
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	tb.Cleanup(srv.Close)
	srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	e.base = srv.URL
	base, _ := url.Parse(srv.URL)
	e.stack, err = stack.New(ctx, stack.Config{
		Store: st, SAMLStore: sqlsaml.New(st), OIDCStore: sqloidc.New(st), SCIMStore: sqlscim.New(st), MFAStore: sqlmfa.New(st),
		BaseURL: base, SealKeyID: "k1", SealKeys: map[string][]byte{"k1": make([]byte, 32)},
		LocalLoginURL: "/password-login", DefaultReturnTo: "/app/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Dev:    stack.Dev{AllowInsecureCookie: true, AllowInsecureURLs: true, AllowPrivateAddresses: true},
	})
	if err != nil {
		tb.Fatal(err)
	}
	h = e.stack.Handler()
	now := time.Now().UTC()
	for o := range orgs {
		org := &sso.Organization{ID: fmt.Sprintf("org_%02d", o), Slug: fmt.Sprintf("o%02d", o), Name: "o", CreatedAt: now, UpdatedAt: now,
			Settings: sso.OrgSettings{AllowJIT: true, DefaultRole: "member", Features: sso.Features{"saml"}}}
		if err := st.CreateOrg(ctx, org); err != nil {
			tb.Fatal(err)
		}
		if err := st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: fmt.Sprintf("o%02d.test", o), Token: opaque.NewToken(16),
			State: sso.DomainVerified, VerifiedAt: now, LastCheckedAt: now, CreatedAt: now}); err != nil {
			tb.Fatal(err)
		}
		c := &sso.Connection{ID: connID(o), OrgID: org.ID, Protocol: saml.Protocol, Status: sso.ConnectionActive,
			DisplayName: "idp", LastTestOK: now, CreatedAt: now, UpdatedAt: now}
		if _, err := e.stack.SAML.Configure(ctx, c, &saml.ConnectionInput{MetadataURL: e.idp.URL() + "/saml/metadata"}); err != nil {
			tb.Fatal(err)
		}
		if err := st.CreateConnection(ctx, c); err != nil {
			tb.Fatal(err)
		}
		sp := e.stack.SAML.SPDetails(c)
		if err := e.idp.RegisterServiceProvider(ssotest.ServiceProvider{EntityID: sp.EntityID, ACSURLs: []string{sp.ACSURL}}); err != nil {
			tb.Fatal(err)
		}
	}
	return e
}

// pendingLogin is an SP-initiated login whose IdP response is minted,
// ready to be posted to the ACS.
type pendingLogin struct {
	client *http.Client
	acs    string
	form   url.Values
}

// start begins a login of user of org at the SP and has the IdP answer it.
func (e *loginEnv) start(tb testing.TB, org, user int) *pendingLogin {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(e.base + "/sso/saml/login/" + connID(org))
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode/100 != 3 {
		tb.Fatalf("login start: status %d, location %q", res.StatusCode, res.Header.Get("Location"))
	}
	req, err := ssotest.ParseAuthnRequest(loc.Query().Get("SAMLRequest"), true)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := e.idp.NewSAMLResponse(ssotest.SAMLResponseRequest{ServiceProvider: req.Issuer, User: email(org, user),
		InResponseTo: req.ID, RelayState: loc.Query().Get("RelayState")})
	if err != nil {
		tb.Fatal(err)
	}
	return &pendingLogin{client: c, acs: resp.ACSURL, form: resp.Form()}
}

// finish posts the response to the ACS and checks that a session cookie
// came back.
func (p *pendingLogin) finish() error {
	res, err := p.client.PostForm(p.acs, p.form)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode/100 != 3 {
		return fmt.Errorf("ACS: status %d: %.200s", res.StatusCode, body)
	}
	for _, c := range res.Cookies() {
		if strings.Contains(c.Name, "session") && c.Value != "" {
			return nil
		}
	}
	return fmt.Errorf("ACS: no session cookie in %v", res.Header.Values("Set-Cookie"))
}

// loginAll signs every user in once (the first, JIT login), 16 at a time.
func (e *loginEnv) loginAll(tb testing.TB, users int) {
	tb.Helper()
	var pending []*pendingLogin
	for o := range e.orgs {
		for u := range users {
			pending = append(pending, e.start(tb, o, u))
		}
	}
	if err := run(pending, 16, nil); err != nil {
		tb.Fatal(err)
	}
}

// run finishes the logins with workers concurrent workers, recording each
// one's latency into lat (when non-nil, indexed like logins).
func run(logins []*pendingLogin, workers int, lat []time.Duration) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(logins) {
					return
				}
				t0 := time.Now()
				if err := logins[i].finish(); err != nil {
					errs <- err
					return
				}
				if lat != nil {
					lat[i] = time.Since(t0)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// TestSAMLLoginStatements counts, at the driver, the statements and commits
// of the ACS POST of a first (JIT) SAML login and of a returning one, on
// SQLite and PostgreSQL, and logs them. It checks the parts of the login
// that must stay single statements: the replay cache is one upsert, the
// audit append one INSERT, and nothing on the login path locks or writes
// an organization's audit chain head or sweeps a table.
func TestSAMLLoginStatements(t *testing.T) {
	t.Parallel()
	for _, d := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			if d == sqlstore.Postgres {
				testdb.PostgresDSN(t)
			}
			t.Parallel()
			e := newLoginEnv(t, d, 1, 1)
			// The ceilings (statements, commits, round trips): a returning
			// login is at most 8 statements and 2 commits (the request and
			// its replay record together, then identity, session and audit
			// event together); a first login at most 12 statements and 4
			// commits. On PostgreSQL each of a returning login's two writes
			// is one statement, so it is 4 round trips in all.
			limits := map[string][3]int64{"first (JIT)": {12, 4, 18}, "returning": {8, 2, 12}}
			if d == sqlstore.Postgres {
				limits = map[string][3]int64{"first (JIT)": {9, 4, 11}, "returning": {4, 2, 4}}
			}
			measure := func(name string) []string {
				p := e.start(t, 0, 0)
				stop := e.count.record()
				err := p.finish()
				stmts, commits, trips, log := stop()
				if err != nil {
					t.Fatalf("%s login: %v", name, err)
				}
				t.Logf("%s login (ACS POST -> session cookie) on %s: %d statements, %d commits, %d round trips with BEGIN/COMMIT:\n%s",
					name, d, stmts, commits, trips, strings.Join(shortLines(log, 110), "\n"))
				if max := limits[name]; stmts > max[0] || commits > max[1] || trips > max[2] {
					t.Errorf("%s login: %d statements, %d commits and %d round trips, want at most %d, %d and %d",
						name, stmts, commits, trips, max[0], max[1], max[2])
				}
				return log
			}
			for _, log := range [][]string{measure("first (JIT)"), measure("returning")} {
				var replay, events int
				for _, q := range log {
					switch {
					case strings.Contains(q, "ssokit_event_heads"):
						t.Errorf("the login touches the audit chain head: %s", q)
					case sweep.MatchString(q):
						t.Errorf("the login sweeps expired rows: %s", q)
					case strings.Contains(q, "ssokit_saml_replay"):
						replay++
					case strings.Contains(q, "INTO ssokit_events"):
						events++
					}
				}
				if replay != 1 {
					t.Errorf("the replay cache took %d statements, want 1", replay)
				}
				if events < 1 {
					t.Errorf("no audit event was appended")
				}
			}
		})
	}
}

// sweep matches a bulk delete of expired rows, which a login must not run.
var sweep = regexp.MustCompile(`DELETE FROM \w+ WHERE [^;]*\bIN \( ?SELECT [^;]*expires_at <=`)

// shortLines returns lines cut to at most n bytes each, for a log.
func shortLines(lines []string, n int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) > n {
			l = l[:n] + "..."
		}
		out[i] = l
	}
	return out
}

// BenchmarkSAMLLoginConcurrent posts returning users' SAML responses to the
// ACS of a Stack on PostgreSQL from 16 (or 4) concurrent clients, with the
// users in one organization or spread over 16, and reports logins/s, p50
// and p99 latency, and the database statements and commits per login
// (including the background sealing of audit events, which Run does).
// Signing the responses and starting the logins happen before the timer.
// Use -benchtime 480x: every iteration is one login of a prepared set.
func BenchmarkSAMLLoginConcurrent(b *testing.B) {
	for _, bc := range []struct {
		name        string
		orgs, conc  int
		usersPerOrg int
	}{
		{"orgs=1/conc=16", 1, 16, 128},
		{"orgs=16/conc=16", 16, 16, 32},
		{"orgs=1/conc=4", 1, 4, 128},
	} {
		b.Run(bc.name, func(b *testing.B) {
			testdb.PostgresDSN(b)
			e := newLoginEnv(b, sqlstore.Postgres, bc.orgs, bc.usersPerOrg)
			e.loginAll(b, bc.usersPerOrg)
			ctx, cancel := context.WithCancel(context.Background())
			var bg sync.WaitGroup
			// The audit sealer, where the Stack has one; the rest of Run
			// (metadata refresh, DNS re-checks, health probes) is left out.
			if r, ok := any(e.stack.Auditor).(interface{ Run(context.Context) error }); ok {
				bg.Go(func() { _ = r.Run(ctx) })
			}
			defer func() { cancel(); bg.Wait() }()
			logins := make([]*pendingLogin, b.N)
			for i := range logins {
				o := i % bc.orgs
				logins[i] = e.start(b, o, (i/bc.orgs)%bc.usersPerOrg)
			}
			lat := make([]time.Duration, b.N)
			s0, c0, r0 := e.count.stmts.Load(), e.count.commits.Load(), e.count.trips.Load()
			b.ReportAllocs()
			b.ResetTimer()
			t0 := time.Now()
			if err := run(logins, bc.conc, lat); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(t0)
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / float64(time.Millisecond) }
			n := float64(b.N)
			b.ReportMetric(n/elapsed.Seconds(), "logins/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(e.count.stmts.Load()-s0)/n, "stmts/login")
			b.ReportMetric(float64(e.count.commits.Load()-c0)/n, "commits/login")
			b.ReportMetric(float64(e.count.trips.Load()-r0)/n, "trips/login")
		})
	}
}
