package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
)

// TestSealerQueryPlans checks that the sealer's reads search an index
// rather than scanning the events table or a whole index of it, so a pass
// costs in proportion to the unsealed events, not to the trail.
func TestSealerQueryPlans(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		dia  Dialect
	}{{"sqlite", SQLite}, {"postgres", Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.SQLite(t)
			explain := "EXPLAIN QUERY PLAN "
			if d.dia == Postgres {
				db = testdb.Postgres(t)
				explain = "EXPLAIN "
			}
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
			if d.dia == Postgres {
				if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
			}
			pendingOrgsQuery := qPendingOrgs
			if d.dia == SQLite {
				pendingOrgsQuery = qPendingOrgsSQLite
			}
			for name, c := range map[string]struct {
				query string
				args  []any
			}{
				"PendingOrgs": {pendingOrgsQuery, []any{pendingOrgs}},
				"HasPending":  {qHasPending, []any{"o"}},
				"Pending":     {qPending, []any{"o", sealBatch}},
			} {
				plan := queryPlan(t, ctx, conn, explain+c.query, c.args)
				for _, line := range plan {
					// A SQLite SCAN of the partial index reads unsealed
					// events only.
					if (d.dia == SQLite && strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, "ssokit_events_unsealed")) ||
						(d.dia == Postgres && strings.Contains(line, "Seq Scan")) {
						t.Errorf("%s scans the events:\n%s", name, strings.Join(plan, "\n"))
					}
				}
				t.Logf("%s:\n%s", name, strings.Join(plan, "\n"))
			}
		})
	}
}
