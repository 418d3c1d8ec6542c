package session_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// countingConnector opens connections whose statements are counted, so the
// test measures the queries that really reach the database.
type countingConnector struct {
	dsn string
	d   driver.Driver
	n   *atomic.Int64
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.d }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.Add(1)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.n.Add(1)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
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

// TestOneQueryPerAuthenticatedRequest asserts, with the statements counted
// at the driver, that an authenticated request through Load costs exactly
// one indexed query on SQLite and PostgreSQL, and two (read + last-seen
// write) once per TouchInterval.
func TestOneQueryPerAuthenticatedRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		dialect sqlstore.Dialect
	}{{"SQLite", sqlstore.SQLite}, {"PostgreSQL", sqlstore.Postgres}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var (
				plain *sql.DB
				conn  countingConnector
				n     atomic.Int64
			)
			if tc.dialect == sqlstore.Postgres {
				db, dsn := testdb.PostgresSchema(t)
				plain, conn = db, countingConnector{dsn: dsn, d: stdlib.GetDefaultDriver(), n: &n}
			} else {
				dir := t.TempDir()
				dsn := sqlstore.SQLiteDSN(dir + "/s.db")
				db, err := sql.Open("sqlite", dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				plain, conn = db, countingConnector{dsn: dsn, d: &sqlite.Driver{}, n: &n}
			}
			setup, _ := sqlstore.New(plain, tc.dialect)
			if err := setup.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			counted := sql.OpenDB(conn)
			t.Cleanup(func() { counted.Close() })
			c := newClock()
			st, _ := sqlstore.New(counted, tc.dialect, sqlstore.WithClock(c.Now))
			events := memstore.New()
			m, err := session.New(session.Config{Store: st, Events: events, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			if _, err := m.Issue(w, httptest.NewRequest("POST", "/", nil), &sso.SessionGrant{UserID: "alice", OrgID: orgA}); err != nil {
				t.Fatal(err)
			}
			cookie := w.Result().Cookies()[0]
			h := m.Load(m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
			request := func() {
				r := httptest.NewRequest("GET", "/", nil)
				r.AddCookie(cookie)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
			}
			request() // warm the pool
			before := n.Load()
			const reqs = 20
			for i := 0; i < reqs; i++ {
				c.Advance(time.Second)
				request()
			}
			if got := n.Load() - before; got != reqs {
				t.Fatalf("%d queries for %d authenticated requests, want exactly %d", got, reqs, reqs)
			}
			c.Advance(session.DefaultTouchInterval)
			before = n.Load()
			request()
			if got := n.Load() - before; got != 2 {
				t.Fatalf("%d queries for the request that refreshes last-seen, want 2", got)
			}

			// The lookup is served by the token-hash index.
			var plan []string
			if tc.dialect == sqlstore.Postgres {
				pc, err := plain.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				if _, err := pc.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
				rows, err := pc.QueryContext(ctx, "EXPLAIN SELECT id FROM ssokit_sessions WHERE token_hash = 'x'")
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var s string
					rows.Scan(&s)
					plan = append(plan, s)
				}
				rows.Close()
			} else {
				rows, err := plain.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT id FROM ssokit_sessions WHERE token_hash = 'x'")
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var a, b, cc int
					var s string
					rows.Scan(&a, &b, &cc, &s)
					plan = append(plan, s)
				}
				rows.Close()
			}
			if p := strings.Join(plan, " "); !strings.Contains(p, "ssokit_sessions_token_hash") {
				t.Fatalf("session lookup plan does not use the token-hash index: %s", p)
			}
		})
	}
}
