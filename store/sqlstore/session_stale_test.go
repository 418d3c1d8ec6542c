package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
)

// TestStaleSessionsPlan checks that the session reconcile reads the
// memberships through their update-time index and the sessions through
// the user index: it runs on every replica every sweep.
func TestStaleSessionsPlan(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		open func(t *testing.T) *sql.DB
		dia  Dialect
	}{
		{"sqlite", func(t *testing.T) *sql.DB { return testdb.SQLite(t) }, SQLite},
		{"postgres", func(t *testing.T) *sql.DB { return testdb.Postgres(t) }, Postgres},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := d.open(t)
			s, err := New(db, d.dia)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			explain := "EXPLAIN QUERY PLAN "
			if d.dia == Postgres {
				if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
				explain = "EXPLAIN "
			}
			plan := queryPlan(t, ctx, conn, explain+qStaleSessions(d.dia), []any{int64(1), 10})
			text := strings.Join(plan, "\n")
			for _, line := range plan {
				// json_each, the roles of one row, is a virtual table.
				if (d.dia == SQLite && strings.HasPrefix(strings.TrimSpace(line), "SCAN ") && !strings.Contains(line, "USING") &&
					!strings.Contains(line, "VIRTUAL TABLE")) || strings.Contains(line, "Seq Scan") {
					t.Errorf("the reconcile scans a table:\n%s", text)
				}
			}
			if !strings.Contains(text, "ssokit_memberships_updated") {
				t.Errorf("the reconcile does not use the memberships' update-time index:\n%s", text)
			}
		})
	}
}
