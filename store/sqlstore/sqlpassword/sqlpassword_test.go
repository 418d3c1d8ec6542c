package sqlpassword_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/password/passwordtest"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpassword"
)

func open(t *testing.T, db *sql.DB, d sqlstore.Dialect, now func() time.Time) *sqlpassword.Store {
	t.Helper()
	st, err := sqlstore.New(db, d, sqlstore.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sqlpassword.New(st)
}

func TestConformanceSQLite(t *testing.T) {
	passwordtest.Run(t, func(t *testing.T) password.Store { return open(t, testdb.SQLite(t), sqlstore.SQLite, time.Now) })
}

func TestConformancePostgres(t *testing.T) {
	testdb.PostgresDSN(t)
	passwordtest.Run(t, func(t *testing.T) password.Store { return open(t, testdb.Postgres(t), sqlstore.Postgres, time.Now) })
}

// TestDeleteExpired checks that the sweep removes expired tokens and idle
// throttle counters, and keeps live ones.
func TestDeleteExpired(t *testing.T) {
	clock := testkit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	st := open(t, testdb.SQLite(t), sqlstore.SQLite, clock.Now)
	ctx := context.Background()
	now := clock.Now()
	for _, tk := range []*password.Token{
		{Hash: "live", Kind: password.TokenReset, UserID: "u", Email: "u@x.example", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{Hash: "dead", Kind: password.TokenReset, UserID: "u", Email: "u@x.example", CreatedAt: now, ExpiresAt: now.Add(-time.Second)},
	} {
		if err := st.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordFailure(ctx, "idle", now.Add(-25*time.Hour), now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordFailure(ctx, "busy", now, now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := st.DeleteExpired(ctx)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpired = %d, %v; want 2 rows", n, err)
	}
	if _, err := st.TakeToken(ctx, password.TokenReset, "live"); err != nil {
		t.Errorf("the live token was swept: %v", err)
	}
	if n, _, _ := st.Failures(ctx, "busy"); n != 1 {
		t.Errorf("the busy counter was swept: %d", n)
	}
}
