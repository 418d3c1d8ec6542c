package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
)

// planCases are the store's read queries with representative arguments.
func planCases() map[string]struct {
	query string
	args  []any
} {
	type c = struct {
		query string
		args  []any
	}
	ev := func(q sso.EventQuery) c {
		query, args := eventsQuery(q)
		return c{query, args}
	}
	return map[string]c{
		"GetOrg":                 {qGetOrg, []any{"o"}},
		"GetOrgBySlug":           {qGetOrgBySlug, []any{"s"}},
		"ListOrgs":               {qListOrgs, []any{"o", 10}},
		"GetDomain":              {qGetDomain, []any{"o", "d"}},
		"ListDomains":            {qListDomains, []any{"o"}},
		"FindVerifiedDomain":     {qFindVerifiedDomain, []any{"d"}},
		"ListDomainsToCheck":     {qListDomainsToCheck, []any{int64(1), 10}},
		"GetConnection":          {qGetConnection, []any{"c"}},
		"ListConnections":        {qListConnections, []any{"o"}},
		"ListActiveConnections":  {qListActiveConnections, []any{"c", 10}},
		"ListActiveConnectionsP": {qListActiveConnectionsProto, []any{"saml", "c", 10}},
		"GetUser":                {qGetUser, []any{"u"}},
		"GetMembership":          {qGetMembership, []any{"o", "u"}},
		"ListMembers":            {qListMembers, []any{"o", "u", 10}},
		"ListUserMemberships":    {qListUserMemberships, []any{"u"}},
		"ListChangedMemberships": {qChangedMembers, []any{int64(1), int64(1), "o", "u", 10}},
		"FindMemberByEmail":      {qFindMemberByEmail, []any{"a@example.com", "o"}},
		"GetIdentity":            {qGetIdentity, []any{"o", "i", "s"}},
		"ListUserIdentities":     {qListUserIdentities, []any{"u"}},
		"LoadLogin":              {qLoadLogin, []any{"o", "i", "s", "example.com"}},
		"LoadLoginNoDomain":      {qLoadLogin, []any{"o", "i", "s", ""}},
		"FindSCIMToken":          {qFindSCIMToken, []any{"h"}},
		"ListSCIMTokens":         {qListSCIMTokens, []any{"o"}},
		"ListEvents":             ev(sso.EventQuery{OrgID: "o"}),
		"ListEventsType":         ev(sso.EventQuery{OrgID: "o", Type: "t"}),
		"ListEventsActor":        ev(sso.EventQuery{OrgID: "o", ActorID: "a"}),
		"ListEventsTime":         ev(sso.EventQuery{OrgID: "o", Since: time.Unix(1, 0), Until: time.Unix(2, 0)}),
	}
}

// TestQueryPlans checks that no read query scans a whole table: every lookup
// the flows make is served by an index.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	eachPlanConn(t, func(t *testing.T, ctx context.Context, conn *sql.Conn, d Dialect, explain string) {
		for name, c := range planCases() {
			plan := queryPlan(t, ctx, conn, explain+c.query, c.args)
			bad := false
			for _, line := range plan {
				if d == SQLite && strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, "USING") {
					bad = true
				}
				if d == Postgres && strings.Contains(line, "Seq Scan") {
					bad = true
				}
			}
			if bad {
				t.Errorf("%s scans a table:\n%s", name, strings.Join(plan, "\n"))
			}
		}
	})
}

// eachPlanConn runs f in a parallel subtest per dialect, on a connection
// to a freshly migrated database, with the dialect's EXPLAIN prefix. On
// PostgreSQL sequential scans are priced out, so the planner picks one
// only when no index serves the query. The PostgreSQL subtest skips when
// SSOKIT_TEST_POSTGRES is unset.
func eachPlanConn(t *testing.T, f func(t *testing.T, ctx context.Context, conn *sql.Conn, d Dialect, explain string)) {
	for _, d := range []struct {
		name string
		dia  Dialect
	}{{"sqlite", SQLite}, {"postgres", Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			var db *sql.DB
			explain := "EXPLAIN QUERY PLAN "
			if d.dia == Postgres {
				db, explain = testdb.Postgres(t), "EXPLAIN "
			} else {
				db = testdb.SQLite(t)
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
			f(t, ctx, conn, d.dia, explain)
		})
	}
}

func queryPlan(t *testing.T, ctx context.Context, conn *sql.Conn, query string, args []any) []string {
	t.Helper()
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var line string
		switch v := vals[len(vals)-1].(type) {
		case string:
			line = v
		case []byte:
			line = string(v)
		}
		out = append(out, strings.TrimSpace(line))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
