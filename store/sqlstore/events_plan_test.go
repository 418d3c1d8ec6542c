package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// TestSealerQueryPlans checks that the sealer's reads search an index
// rather than scanning the events table or a whole index of it, so a pass
// costs in proportion to the unsealed events, not to the trail.
func TestSealerQueryPlans(t *testing.T) {
	t.Parallel()
	eachPlanConn(t, func(t *testing.T, ctx context.Context, conn *sql.Conn, dia Dialect, explain string) {
		pendingOrgsQuery := qPendingOrgs
		if dia == SQLite {
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
				if (dia == SQLite && strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, "ssokit_events_unsealed")) ||
					(dia == Postgres && strings.Contains(line, "Seq Scan")) {
					t.Errorf("%s scans the events:\n%s", name, strings.Join(plan, "\n"))
				}
			}
			t.Logf("%s:\n%s", name, strings.Join(plan, "\n"))
		}
	})
}
