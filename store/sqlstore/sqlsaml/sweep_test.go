package sqlsaml_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// stores returns a SAML store, its database and its clock, on SQLite and
// (when configured) PostgreSQL.
func stores(t *testing.T) map[string]func(t *testing.T) (*sqlsaml.Store, *sql.DB, *clock) {
	mk := func(t *testing.T, db *sql.DB, d sqlstore.Dialect) (*sqlsaml.Store, *sql.DB, *clock) {
		c := &clock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)} // whole seconds, as IdPs send
		st, err := sqlstore.New(db, d, sqlstore.WithClock(c.Now))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return sqlsaml.New(st), db, c
	}
	return map[string]func(t *testing.T) (*sqlsaml.Store, *sql.DB, *clock){
		"sqlite": func(t *testing.T) (*sqlsaml.Store, *sql.DB, *clock) { return mk(t, testdb.SQLite(t), sqlstore.SQLite) },
		"postgres": func(t *testing.T) (*sqlsaml.Store, *sql.DB, *clock) {
			return mk(t, testdb.Postgres(t), sqlstore.Postgres)
		},
	}
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeleteExpired checks that DeleteExpired removes expired requests and
// replay records and nothing live.
func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, db, c := mk(t)
			ctx := context.Background()
			now := c.Now()
			for i, exp := range []time.Time{now.Add(time.Minute), now.Add(time.Hour)} {
				req := &saml.AuthnRequestState{ID: fmt.Sprintf("_r%d", i), ConnectionID: "c", BindingHash: "h", CreatedAt: now, ExpiresAt: exp}
				if err := s.SaveAuthnRequest(ctx, req); err != nil {
					t.Fatal(err)
				}
				if err := s.MarkAssertionUsed(ctx, "idp", fmt.Sprintf("_a%d", i), exp); err != nil {
					t.Fatal(err)
				}
			}
			c.Advance(2 * time.Minute) // _r0 and _a0 expire
			n, err := s.DeleteExpired(ctx)
			if err != nil || n != 2 {
				t.Fatalf("DeleteExpired = %d, %v; want 2", n, err)
			}
			if r, s := count(t, db, "ssokit_saml_requests"), count(t, db, "ssokit_saml_replay"); r != 1 || s != 1 {
				t.Fatalf("%d requests and %d replay records left, want 1 and 1", r, s)
			}
			if _, err := s.TakeAuthnRequest(ctx, "_r1"); err != nil {
				t.Fatalf("live request: %v", err)
			}
			if err := s.MarkAssertionUsed(ctx, "idp", "_a1", now.Add(time.Hour)); !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("live replay record: got %v, want ErrConflict", err)
			}
			if n, err := s.DeleteExpired(ctx); err != nil || n != 0 {
				t.Fatalf("second DeleteExpired = %d, %v; want 0", n, err)
			}
		})
	}
}

// TestSweepOnWrites checks that expired records are swept on every 128th
// write (save or mark) of a Store, not on every login: with whole-second
// expiry times, as IdPs send them, the writes in between sweep nothing.
func TestSweepOnWrites(t *testing.T) {
	t.Parallel()
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, db, c := mk(t)
			ctx := context.Background()
			past := c.Now().Add(-time.Second)
			for i := range 127 {
				if err := s.MarkAssertionUsed(ctx, "idp", fmt.Sprintf("_a%d", i), past); err != nil {
					t.Fatal(err)
				}
			}
			if n := count(t, db, "ssokit_saml_replay"); n != 127 {
				t.Fatalf("%d replay records after 127 marks, want 127: a write swept", n)
			}
			req := &saml.AuthnRequestState{ID: "_r", ConnectionID: "c", BindingHash: "h", CreatedAt: c.Now(), ExpiresAt: c.Now().Add(time.Minute)}
			if err := s.SaveAuthnRequest(ctx, req); err != nil { // the 128th write
				t.Fatal(err)
			}
			if n := count(t, db, "ssokit_saml_replay"); n != 0 {
				t.Fatalf("%d replay records after the 128th write, want 0", n)
			}
			if n := count(t, db, "ssokit_saml_requests"); n != 1 {
				t.Fatalf("%d requests, want the live one", n)
			}
		})
	}
}
