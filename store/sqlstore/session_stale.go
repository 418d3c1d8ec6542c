package sqlstore

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ session.StaleSessionLister = (*Store)(nil)

// staleRoles is true for a session (s) carrying a role its membership (m)
// does not hold, per dialect: both columns are JSON arrays of strings.
var staleRoles = map[Dialect]string{
	Postgres: `NOT (` + jsonList("s.roles") + `::jsonb <@ ` + jsonList("m.roles") + `::jsonb)`,
	SQLite: `EXISTS (SELECT 1 FROM json_each(` + jsonList("s.roles") + `) r
		WHERE r.value NOT IN (SELECT value FROM json_each(` + jsonList("m.roles") + `)))`,
}

// sessionOfMember joins a session (s) to its membership (m). On
// PostgreSQL the memberships' keys have the "C" collation and the
// sessions' the database's: the comparison takes the sessions', so that
// their user index serves it.
var sessionOfMember = map[Dialect]string{
	Postgres: `s.user_id = m.user_id COLLATE "default" AND s.org_id = m.org_id COLLATE "default"`,
	SQLite:   `s.user_id = m.user_id AND s.org_id = m.org_id`,
}

// jsonList is column as a JSON array, [] when empty or null.
func jsonList(column string) string {
	return `COALESCE(NULLIF(NULLIF(` + column + `, ''), 'null'), '[]')`
}

// ListStaleSessions implements session.StaleSessionLister through the
// memberships' update-time index and the sessions' user index. A first
// pass (since zero) reads every membership, and every session with an
// organization for the ones whose membership is gone, through its own
// statement, so that PostgreSQL's plan of the later, incremental one (a
// few memberships through the index) never follows the first's.
func (s *Store) ListStaleSessions(ctx context.Context, since time.Time, limit int) ([]*session.Session, error) {
	if since.IsZero() {
		return s.listSessions(ctx, qStaleSessions(s.dialect, false), limit)
	}
	return s.listSessions(ctx, qStaleSessions(s.dialect, true), limit, sqlbase.TS(since))
}

// qStaleSessions is ListStaleSessions' query: $1 the limit, and $2 the
// time since which memberships are read when incremental. The first pass
// adds the sessions whose membership no longer exists.
func qStaleSessions(d Dialect, incremental bool) string {
	since, orphans := "", ""
	if incremental {
		since = "m.updated_at >= $2 AND "
	} else {
		orphans = `
		UNION ALL
		SELECT s.id FROM ssokit_sessions s WHERE s.org_id <> '' AND NOT EXISTS (
			SELECT 1 FROM ssokit_memberships m WHERE ` + sessionOfMember[d] + `)`
	}
	return `SELECT ` + sessionCols + ` FROM ssokit_sessions WHERE id IN (SELECT id FROM (
		SELECT s.id FROM ssokit_memberships m JOIN ssokit_sessions s ON ` + sessionOfMember[d] + `
		WHERE ` + since + `(m.status <> 'active' OR ` + staleRoles[d] + `)` + orphans + `) stale LIMIT $1)
	ORDER BY created_at, id`
}
