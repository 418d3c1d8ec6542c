package sqlemailcode_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/emailcode/emailcodetest"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlemailcode"
)

func open(t *testing.T, db *sql.DB, d sqlstore.Dialect, now func() time.Time) (*sqlstore.Store, *sqlemailcode.Store) {
	t.Helper()
	st, err := sqlstore.New(db, d, sqlstore.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st, sqlemailcode.New(st)
}

func TestConformanceSQLite(t *testing.T) {
	emailcodetest.Run(t, func(t *testing.T) emailcodetest.Stores {
		st, ec := open(t, testdb.SQLite(t), sqlstore.SQLite, time.Now)
		return emailcodetest.Stores{Store: ec, Users: st}
	})
}

func TestConformancePostgres(t *testing.T) {
	testdb.PostgresDSN(t)
	emailcodetest.Run(t, func(t *testing.T) emailcodetest.Stores {
		db := testdb.Postgres(t)
		db.SetMaxOpenConns(4) // the server allows 100 connections in all
		st, ec := open(t, db, sqlstore.Postgres, time.Now)
		return emailcodetest.Stores{Store: ec, Users: st}
	})
}

// TestDeleteExpired checks that the sweep removes expired challenges and
// stale counters, and keeps live ones.
func TestDeleteExpired(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	_, st := open(t, testdb.SQLite(t), sqlstore.SQLite, clock.Now)
	ctx := context.Background()
	now := clock.Now()
	for _, c := range []*emailcode.Challenge{
		{ID: "live", LinkHash: "l1", Email: "u@x.example", CreatedAt: now, ExpiresAt: now.Add(time.Minute)},
		{ID: "dead", LinkHash: "l2", Email: "u@x.example", CreatedAt: now, ExpiresAt: now.Add(-time.Second)},
	} {
		if err := st.CreateChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Count(ctx, "idle", now.Add(-25*time.Hour), now.Add(-26*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Count(ctx, "busy", now, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := st.DeleteExpired(ctx)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2 rows", n, err)
	}
	if _, err := st.GetChallenge(ctx, "live"); err != nil {
		t.Errorf("the live challenge was swept: %v", err)
	}
	if n, _ := st.Count(ctx, "busy", now, now.Add(-time.Hour)); n != 2 {
		t.Errorf("the busy counter was swept: count %d, want 2", n)
	}
}
