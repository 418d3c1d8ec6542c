package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// createLoginSessionOnce is CreateLoginSession on PostgreSQL as a single
// statement of data-modifying CTEs, so a login's writes cost one round
// trip and one commit instead of a transaction's BEGIN, four or five
// statements and COMMIT. The writes chain so that they happen together or
// not at all: the session is inserted only when the identity update
// changed its row, the event and the evictions only when the session was
// inserted. With w.Member, every write also waits on the membership's
// share lock and requires it active with the login's roles; with w.Org,
// every write requires the organization as the login read it; with
// w.Evicted, each evicted session's audit event is inserted too. The
// statement returns the new session (kind 0) and the evicted ones (kind 1,
// oldest first).
//
// With a limit, the statement also counts the login in the user's head
// row (upsertSessionHead) and writes nothing else unless the count it
// finds is the one its snapshot read: the statement reads the sessions
// committed when it started, and a login of the same user that committed
// since would be missing from the sessions it counts against the limit.
// done is false when the statement wrote nothing, because of such a
// login or because the identity is gone; the caller then runs the
// transaction, which waits for the head row's lock before it reads.
func (s *Store) createLoginSessionOnce(ctx context.Context, ss *session.Session, limit int, w *sso.LoginWrites) (evicted []*session.Session, done bool, err error) {
	q, args, err := loginOnceSQL(ss, limit, w)
	if err != nil {
		return nil, false, err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, sqlbase.Wrap(err)
	}
	defer rows.Close()
	created := false
	for rows.Next() {
		var kind int
		e, err := scanSession(kindScanner{rows, &kind})
		if err != nil {
			return nil, false, sqlbase.Wrap(err)
		}
		if kind == 0 {
			created = true
			continue
		}
		evicted = append(evicted, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, sqlbase.Wrap(err)
	}
	if !created {
		return nil, false, nil
	}
	return evicted, true, nil
}

// kindScanner scans a leading kind column, then the columns its caller
// asks for.
type kindScanner struct {
	rows interface{ Scan(...any) error }
	kind *int
}

func (k kindScanner) Scan(dest ...any) error {
	return k.rows.Scan(append([]any{k.kind}, dest...)...)
}

// loginOnceSQL builds createLoginSessionOnce's statement and arguments.
func loginOnceSQL(ss *session.Session, limit int, w *sso.LoginWrites) (string, []any, error) {
	var (
		b    strings.Builder
		args []any
	)
	// params appends vs and returns their placeholders.
	params := func(vs ...any) string {
		ph := make([]string, len(vs))
		for i, v := range vs {
			args = append(args, v)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		return strings.Join(ph, ", ")
	}
	b.WriteString("WITH ")
	// guards are the conditions of the first writes; the others follow
	// the session's insert.
	var guards []string
	if limit > 0 {
		// seen is the user's count as the statement's snapshot has it;
		// head is the count after this login, from the latest row (an
		// upsert waits for a login holding the row and then updates the
		// row it committed). They come first, so upsertSessionHead's $1
		// and $2 are the user and the organization.
		args = append(args, ss.UserID, ss.OrgID)
		b.WriteString(`seen AS (SELECT n FROM ssokit_session_heads WHERE user_id = $1 AND org_id = $2),
head AS (` + upsertSessionHead + ` RETURNING n),
fresh AS (SELECT 1 FROM head WHERE n = COALESCE((SELECT n FROM seen), 0) + 1), `)
		guards = append(guards, "EXISTS (SELECT 1 FROM fresh)")
	}
	if w.Org != nil {
		// Unlocked: an organization's settings change rarely, and a lock
		// on its row would queue every login of a busy organization.
		guards = append(guards, fmt.Sprintf("EXISTS (SELECT 1 FROM ssokit_orgs WHERE id = %s AND updated_at = %s)",
			params(w.Org.ID), params(sqlbase.TS(w.Org.UpdatedAt))))
	}
	if w.Member != nil {
		roles, err := rolesJSON(w.Member.Roles)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, `mem AS (%s), `, memberRowSQL(Postgres,
			params(ss.OrgID), params(ss.UserID), params(w.Member.OrgID), params(w.Member.UserID), params(roles), params(w.Member.BreakGlass)))
		guards = append(guards, "EXISTS (SELECT 1 FROM mem)")
	}
	if w.Identity != nil {
		ia := identityArgs(w.Identity)
		fmt.Fprintf(&b, `ident AS (UPDATE ssokit_identities SET (org_id, connection_id, issuer, subject, user_id, created_at, last_login_at)
	= (%s) WHERE id = %s%s RETURNING 1), `, params(ia[1:]...), params(ia[0]), where(" AND ", guards))
		guards = append(guards, "EXISTS (SELECT 1 FROM ident)")
	}
	fmt.Fprintf(&b, `sess AS (INSERT INTO ssokit_sessions (%s) SELECT %s%s RETURNING %s)`,
		sessionCols, params(sessionArgs(ss)...), where(" WHERE ", guards), sessionCols)
	if w.Event != nil {
		ea, err := sqlbase.EventArgs(w.Event)
		if err != nil {
			return "", nil, err
		}
		fmt.Fprintf(&b, `, ev AS (INSERT INTO ssokit_events (%s) SELECT %s, '', '' FROM sess)`, sqlbase.EventInsertCols, params(ea...))
	}
	if limit > 0 {
		fmt.Fprintf(&b, `, gone AS (DELETE FROM ssokit_sessions WHERE EXISTS (SELECT 1 FROM sess) AND id IN (
	SELECT id FROM ssokit_sessions WHERE user_id = %s AND org_id = %s AND id <> %s
	ORDER BY created_at DESC, id DESC OFFSET %s) RETURNING %s)`,
			params(ss.UserID), params(ss.OrgID), params(ss.ID), params(limit-1), sessionCols)
	}
	if limit > 0 && w.Evicted != nil {
		ea, err := sqlbase.EventArgs(w.Evicted)
		if err != nil {
			return "", nil, err
		}
		// The event's ID and target are derived per evicted session, as
		// sso.EvictionEventID does.
		ph := make([]string, len(ea))
		for i, v := range ea {
			if i != 7 { // target_id
				ph[i] = params(v)
			}
		}
		ph[0] = fmt.Sprintf(`'evt_' || substr(encode(sha256(convert_to(%s::text || ':' || id, 'UTF8')), 'hex'), 1, 32)`, ph[0])
		ph[7] = "id"
		fmt.Fprintf(&b, `, evg AS (INSERT INTO ssokit_events (%s) SELECT %s, '', '' FROM gone)`, sqlbase.EventInsertCols, strings.Join(ph, ", "))
	}
	b.WriteString(`
SELECT 0 AS kind, ` + sessionCols + ` FROM sess`)
	if limit > 0 {
		b.WriteString(`
UNION ALL SELECT 1, ` + sessionCols + ` FROM gone ORDER BY kind, created_at, id`)
	}
	return b.String(), args, nil
}

// where joins conds with AND after lead, or is "" without conditions.
func where(lead string, conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return lead + strings.Join(conds, " AND ")
}

// storedRoles is a membership's roles column with an empty or null list
// as []: compared as jsonb on PostgreSQL, and as text on SQLite, where the
// column holds the compact encoding rolesJSON makes.
var storedRoles = jsonList("roles")

// memberRowSQL selects the membership (org, user) when it is the one a
// login read (wantOrg, wantUser), active, with the roles rolesJSON encoded
// in roles and the break-glass flag breakGlass; each argument is a
// placeholder. On PostgreSQL the row is
// share-locked, so a suspension or role change waits for the login, and
// one committed meanwhile is seen by the lock's recheck of the row.
func memberRowSQL(d Dialect, org, user, wantOrg, wantUser, roles, breakGlass string) string {
	stored, lock := storedRoles, ""
	if d == Postgres {
		stored, roles, lock = storedRoles+"::jsonb", roles+"::jsonb", " FOR SHARE"
	}
	return `SELECT 1 FROM ssokit_memberships WHERE org_id = ` + org + ` AND user_id = ` + user +
		` AND org_id = ` + wantOrg + ` AND user_id = ` + wantUser + ` AND status = 'active' AND ` + stored + ` = ` + roles + ` AND break_glass = ` + breakGlass + lock
}

// rolesJSON encodes roles for comparison with storedRolesJSON.
func rolesJSON(roles []string) (string, error) {
	if len(roles) == 0 {
		return "[]", nil
	}
	return sqlbase.ToJSON(roles)
}
