package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

// TestStaleSessionsPlan checks that the session reconcile reads the
// memberships through their update-time index and the sessions through
// the user index: it runs on every replica every sweep.
func TestStaleSessionsPlan(t *testing.T) {
	t.Parallel()
	eachPlanConn(t, func(t *testing.T, ctx context.Context, conn *sql.Conn, dia Dialect, explain string) {
		plan := queryPlan(t, ctx, conn, explain+qStaleSessions(dia, true), []any{10, int64(1)})
		text := strings.Join(plan, "\n")
		for _, line := range plan {
			// json_each, the roles of one row, is a virtual table.
			if (dia == SQLite && strings.HasPrefix(strings.TrimSpace(line), "SCAN ") && !strings.Contains(line, "USING") &&
				!strings.Contains(line, "VIRTUAL TABLE")) || strings.Contains(line, "Seq Scan") {
				t.Errorf("the reconcile scans a table:\n%s", text)
			}
		}
		if !strings.Contains(text, "ssokit_memberships_updated") {
			t.Errorf("the reconcile does not use the memberships' update-time index:\n%s", text)
		}
	})
}
