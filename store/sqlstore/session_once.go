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
// inserted. The statement returns the new session (kind 0) and the evicted
// ones (kind 1, oldest first).
func (s *Store) createLoginSessionOnce(ctx context.Context, ss *session.Session, limit int, w *sso.LoginWrites) ([]*session.Session, error) {
	q, args, err := loginOnceSQL(ss, limit, w)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	var (
		created bool
		evicted []*session.Session
	)
	for rows.Next() {
		var kind int
		e, err := scanSession(kindScanner{rows, &kind})
		if err != nil {
			return nil, sqlbase.Wrap(err)
		}
		if kind == 0 {
			created = true
			continue
		}
		evicted = append(evicted, e)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	if !created {
		// Only a missing identity row leaves the session uninserted.
		return nil, fmt.Errorf("sqlstore: identity: %w", sso.ErrNotFound)
	}
	return evicted, nil
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
	guard := ""
	if w.Identity != nil {
		ia := identityArgs(w.Identity)
		fmt.Fprintf(&b, `ident AS (UPDATE ssokit_identities SET (org_id, connection_id, issuer, subject, user_id, created_at, last_login_at)
	= (%s) WHERE id = %s RETURNING 1), `, params(ia[1:]...), params(ia[0]))
		guard = " WHERE EXISTS (SELECT 1 FROM ident)"
	}
	fmt.Fprintf(&b, `sess AS (INSERT INTO ssokit_sessions (%s) SELECT %s%s RETURNING %s)`,
		sessionCols, params(sessionArgs(ss)...), guard, sessionCols)
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
	b.WriteString(`
SELECT 0 AS kind, ` + sessionCols + ` FROM sess`)
	if limit > 0 {
		b.WriteString(`
UNION ALL SELECT 1, ` + sessionCols + ` FROM gone ORDER BY kind, created_at, id`)
	}
	return b.String(), args, nil
}
