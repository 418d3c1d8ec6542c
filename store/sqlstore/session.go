package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var (
	_ session.Store           = (*Store)(nil)
	_ session.TokenStore      = (*Store)(nil)
	_ session.RevocationStore = (*Store)(nil)
	_ session.Sweeper         = (*Store)(nil)
)

const sessionCols = `id, token_hash, user_id, org_id, connection_id, method, roles, mfa, mfa_at, auth_at,
	created_at, last_seen_at, expires_at, idle_timeout, ip, user_agent, idp_session_index, idp_subject, idp_logout_hint`

func sessionList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseSessionList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("sqlstore: decode list: %w", err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

func scanSession(row interface{ Scan(...any) error }) (*session.Session, error) {
	var (
		ss                                      session.Session
		method, roles                           string
		mfaAt, authAt, created, seen, exp, idle int64
	)
	if err := row.Scan(&ss.ID, &ss.TokenHash, &ss.UserID, &ss.OrgID, &ss.ConnectionID, &method, &roles, &ss.MFA,
		&mfaAt, &authAt, &created, &seen, &exp, &idle, &ss.IP, &ss.UserAgent, &ss.IdPSessionIndex, &ss.IdPSubject, &ss.IdPLogoutHint); err != nil {
		return nil, err
	}
	var err error
	if ss.Roles, err = parseSessionList(roles); err != nil {
		return nil, err
	}
	ss.Method = sso.AuthMethod(method)
	ss.MFAAt, ss.AuthAt = sqlbase.FromTS(mfaAt), sqlbase.FromTS(authAt)
	ss.CreatedAt, ss.LastSeenAt, ss.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(seen), sqlbase.FromTS(exp)
	ss.IdleTimeout = time.Duration(idle) * time.Microsecond
	return &ss, nil
}

// CreateSession implements session.Store.
func (s *Store) CreateSession(ctx context.Context, ss *session.Session, limit int) ([]*session.Session, error) {
	return s.CreateLoginSession(ctx, ss, limit, nil)
}

// CreateLoginSession implements session.LoginWriter: the identity update,
// the session with its evictions and the audit event in one transaction.
// On PostgreSQL the transaction is one statement (createLoginSessionOnce).
func (s *Store) CreateLoginSession(ctx context.Context, ss *session.Session, limit int, w *sso.LoginWrites) ([]*session.Session, error) {
	if w != nil && w.Identity != nil {
		if err := w.Identity.Validate(); err != nil {
			return nil, err
		}
	}
	if s.dialect == Postgres && w != nil {
		evicted, done, err := s.createLoginSessionOnce(ctx, ss, limit, w)
		if done || err != nil {
			return evicted, err
		}
		// Another login of the user committed while the statement ran, or
		// the identity is gone: the transaction decides, under the lock.
	}
	return s.createLoginSessionTx(ctx, ss, limit, w)
}

// createLoginSessionTx is CreateLoginSession as a transaction of several
// statements. On PostgreSQL with a limit it first locks the user's head
// row in the organization (lockSessionHead).
func (s *Store) createLoginSessionTx(ctx context.Context, ss *session.Session, limit int, w *sso.LoginWrites) ([]*session.Session, error) {
	var evicted []*session.Session
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		var err error
		if s.dialect == Postgres && limit > 0 {
			if err := lockSessionHead(ctx, tx, ss); err != nil {
				return err
			}
		}
		if w != nil && w.Identity != nil {
			if err := updateIdentity(ctx, tx, w.Identity); err != nil {
				return err
			}
		}
		var (
			member *sso.Membership
			org    *sso.Organization
		)
		if w != nil {
			member, org = w.Member, w.Org
		}
		if evicted, err = s.createSession(ctx, tx, ss, limit, member, org); err != nil {
			return err
		}
		if w == nil {
			return nil
		}
		if w.Event != nil {
			if err := insertEvent(ctx, tx, w.Event); err != nil {
				return err
			}
		}
		if w.Evicted != nil {
			for _, e := range evicted {
				if err := insertEvent(ctx, tx, w.EvictionEvent(e.ID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return evicted, nil
}

// sessionArgs are the values of sessionCols for ss.
func sessionArgs(ss *session.Session) []any {
	return []any{ss.ID, ss.TokenHash, ss.UserID, ss.OrgID, ss.ConnectionID, string(ss.Method), sessionList(ss.Roles), ss.MFA,
		sqlbase.TS(ss.MFAAt), sqlbase.TS(ss.AuthAt), sqlbase.TS(ss.CreatedAt), sqlbase.TS(ss.LastSeenAt), sqlbase.TS(ss.ExpiresAt),
		ss.IdleTimeout.Microseconds(), ss.IP, ss.UserAgent, ss.IdPSessionIndex, ss.IdPSubject, ss.IdPLogoutHint}
}

// upsertSessionHead counts a login of a user in an organization with a
// session limit in the user's row of ssokit_session_heads, creating it at
// 1. The row stays locked until the login commits, so logins of one user
// serialize on it and each counts the sessions of the ones before it.
// ($1 is the user, $2 the organization.)
const upsertSessionHead = `INSERT INTO ssokit_session_heads (user_id, org_id, n) VALUES ($1, $2, 1)
	ON CONFLICT (user_id, org_id) DO UPDATE SET n = ssokit_session_heads.n + 1`

// lockSessionHead takes the lock of ss's user in ss's organization for tx
// (PostgreSQL). Each statement of a READ COMMITTED transaction reads the
// rows committed when it starts, so without the lock two logins would
// each count the user's sessions without the other's and both keep theirs,
// leaving more than the limit; with it, the second waits for the first to
// commit and its later statements see the first's session.
func lockSessionHead(ctx context.Context, tx *sql.Tx, ss *session.Session) error {
	_, err := tx.ExecContext(ctx, upsertSessionHead, ss.UserID, ss.OrgID)
	return sqlbase.Wrap(err)
}

// sameOrg fails with sso.ErrOrgChanged unless the stored organization
// o.ID still has o's UpdatedAt (sso.LoginWrites.Org).
func sameOrg(ctx context.Context, tx *sql.Tx, o *sso.Organization) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM ssokit_orgs WHERE id = $1 AND updated_at = $2`, o.ID, sqlbase.TS(o.UpdatedAt)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return sso.OrgChanged(o.ID)
	}
	return sqlbase.Wrap(err)
}

// createSession inserts ss in tx and deletes the user's sessions in its
// organization past the newest limit, returning them oldest first. With
// member, ss is inserted only while its membership as stored is member,
// active with the same roles and break-glass flag
// (sso.LoginWrites.Member), and otherwise nothing is and the error wraps
// sso.ErrMembershipChanged; on PostgreSQL the membership's row stays
// share-locked until tx ends, so a suspension or role change waits for the
// session. With org, ss is inserted only while the organization's
// updated_at is org's (sso.LoginWrites.Org), else the error wraps
// sso.ErrOrgChanged. Both checks are in the INSERT itself.
func (s *Store) createSession(ctx context.Context, tx *sql.Tx, ss *session.Session, limit int, member *sso.Membership, org *sso.Organization) ([]*session.Session, error) {
	q, args := `INSERT INTO ssokit_sessions (`+sessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`, sessionArgs(ss)
	var conds []string
	if member != nil {
		roles, err := rolesJSON(member.Roles)
		if err != nil {
			return nil, err
		}
		conds = append(conds, `EXISTS (`+memberRowSQL(s.dialect, "$4", "$3", "$20", "$21", "$22", "$23")+`)`)
		args = append(args, member.OrgID, member.UserID, roles, member.BreakGlass)
	}
	if org != nil {
		n := len(args)
		conds = append(conds, fmt.Sprintf(`EXISTS (SELECT 1 FROM ssokit_orgs WHERE id = $%d AND updated_at = $%d)`, n+1, n+2))
		args = append(args, org.ID, sqlbase.TS(org.UpdatedAt))
	}
	if len(conds) > 0 {
		q = `INSERT INTO ssokit_sessions (` + sessionCols + `)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19
		WHERE ` + strings.Join(conds, " AND ")
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, sqlbase.Wrap(err)
	} else if n == 0 {
		// Which check refused: one more read, on this rare path only.
		if org != nil {
			if err := sameOrg(ctx, tx, org); err != nil {
				return nil, err
			}
		}
		return nil, sso.ErrMembershipChanged
	}
	if limit <= 0 {
		return nil, nil
	}
	evicted, err := s.pastLimit(ctx, tx, ss, limit)
	if err != nil {
		return nil, err
	}
	for _, e := range evicted {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_sessions WHERE id = $1`, e.ID); err != nil {
			return nil, sqlbase.Wrap(err)
		}
	}
	// Oldest first, as the contract orders them.
	slices.Reverse(evicted)
	return evicted, nil
}

// pastLimit reads the user's other sessions in ss's organization past the
// newest limit, newest first.
func (s *Store) pastLimit(ctx context.Context, tx *sql.Tx, ss *session.Session, limit int) ([]*session.Session, error) {
	// SQLite needs a LIMIT before OFFSET.
	q := `SELECT ` + sessionCols + ` FROM ssokit_sessions WHERE user_id = $1 AND org_id = $4 AND id <> $3
		ORDER BY created_at DESC, id DESC OFFSET $2`
	if s.dialect == SQLite {
		q = `SELECT ` + sessionCols + ` FROM ssokit_sessions WHERE user_id = $1 AND org_id = $4 AND id <> $3
		ORDER BY created_at DESC, id DESC LIMIT -1 OFFSET $2`
	}
	rows, err := tx.QueryContext(ctx, q, ss.UserID, limit-1, ss.ID, ss.OrgID)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	var out []*session.Session
	for rows.Next() {
		e, err := scanSession(rows)
		if err != nil {
			return nil, sqlbase.Wrap(err)
		}
		out = append(out, e)
	}
	return out, sqlbase.Wrap(rows.Err())
}

// GetSession implements session.Store.
func (s *Store) GetSession(ctx context.Context, id string) (*session.Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM ssokit_sessions WHERE id = $1`, id))
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	return ss, nil
}

// FindSession implements session.Store with one indexed query.
func (s *Store) FindSession(ctx context.Context, hash string) (*session.Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM ssokit_sessions WHERE token_hash = $1`, hash))
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	return ss, nil
}

// TouchSession implements session.Store.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_sessions SET last_seen_at = $1 WHERE id = $2`, sqlbase.TS(at), id)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return sqlbase.MustAffect(res)
}

// DeleteSession implements session.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_sessions WHERE id = $1`, id)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return sqlbase.MustAffect(res)
}

// ListUserSessions implements session.Store.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]*session.Session, error) {
	return s.listSessions(ctx, `SELECT `+sessionCols+` FROM ssokit_sessions WHERE user_id = $1
		ORDER BY created_at, id`, userID)
}

// ListIdPSessions implements session.Store through the (connection,
// subject) and (connection, session index) indexes.
func (s *Store) ListIdPSessions(ctx context.Context, connectionID, subject, sessionIndex string) ([]*session.Session, error) {
	switch {
	case subject == "" && sessionIndex == "":
		return nil, fmt.Errorf("%w: sqlstore: IdP session lookup needs a subject or a session index", sso.ErrInvalidInput)
	case sessionIndex == "":
		return s.listSessions(ctx, `SELECT `+sessionCols+` FROM ssokit_sessions
			WHERE connection_id = $1 AND idp_subject = $2 ORDER BY created_at, id`, connectionID, subject)
	case subject == "":
		return s.listSessions(ctx, `SELECT `+sessionCols+` FROM ssokit_sessions
			WHERE connection_id = $1 AND idp_session_index = $2 ORDER BY created_at, id`, connectionID, sessionIndex)
	}
	return s.listSessions(ctx, `SELECT `+sessionCols+` FROM ssokit_sessions
		WHERE connection_id = $1 AND idp_subject = $2 AND idp_session_index = $3 ORDER BY created_at, id`,
		connectionID, subject, sessionIndex)
}

func (s *Store) listSessions(ctx context.Context, q string, args ...any) ([]*session.Session, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	out := []*session.Session{}
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, sqlbase.Wrap(err)
		}
		out = append(out, ss)
	}
	return out, sqlbase.Wrap(rows.Err())
}

// DeleteUserSessions implements session.Store.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, sqlbase.Wrap(err)
	}
	n, err := res.RowsAffected()
	return int(n), sqlbase.Wrap(err)
}

const refreshCols = `t.token_hash, t.family_id, t.user_id, t.org_id, t.session_id, t.client_id, t.roles, t.scopes,
	t.created_at, t.expires_at, t.used_at, f.revoked_at`

// CreateRefreshToken implements session.TokenStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t *session.RefreshToken) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_token_families (id, user_id, session_id, expires_at, revoked_at)
			VALUES ($1, $2, $3, $4, 0)`, t.FamilyID, t.UserID, t.SessionID, sqlbase.TS(t.ExpiresAt)); err != nil {
			return sqlbase.Wrap(err)
		}
		return s.insertRefresh(ctx, tx, t)
	})
}

func (s *Store) insertRefresh(ctx context.Context, tx *sql.Tx, t *session.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO ssokit_refresh_tokens (token_hash, family_id, user_id, org_id, session_id,
		client_id, roles, scopes, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)`,
		t.Hash, t.FamilyID, t.UserID, t.OrgID, t.SessionID, t.ClientID, sessionList(t.Roles), sessionList(t.Scopes),
		sqlbase.TS(t.CreatedAt), sqlbase.TS(t.ExpiresAt))
	return sqlbase.Wrap(err)
}

// GetRefreshToken implements session.TokenStore.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (*session.RefreshToken, error) {
	var (
		t                          session.RefreshToken
		roles, scopes              string
		created, exp, used, revoke int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM ssokit_refresh_tokens t
		JOIN ssokit_token_families f ON f.id = t.family_id WHERE t.token_hash = $1`, hash).
		Scan(&t.Hash, &t.FamilyID, &t.UserID, &t.OrgID, &t.SessionID, &t.ClientID, &roles, &scopes, &created, &exp, &used, &revoke)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	if t.Roles, err = parseSessionList(roles); err != nil {
		return nil, err
	}
	if t.Scopes, err = parseSessionList(scopes); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt = sqlbase.FromTS(created), sqlbase.FromTS(exp), sqlbase.FromTS(used), sqlbase.FromTS(revoke)
	return &t, nil
}

// RotateRefreshToken implements session.TokenStore. The single winner is
// decided by a conditional UPDATE (used_at = 0, family not revoked); the
// losers' UPDATE affects no row.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *session.RefreshToken) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ssokit_refresh_tokens SET used_at = $1
			WHERE token_hash = $2 AND used_at = 0 AND family_id = $3
			AND family_id IN (SELECT id FROM ssokit_token_families WHERE id = $3 AND revoked_at = 0)`,
			sqlbase.TS(next.CreatedAt), oldHash, next.FamilyID)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return sqlbase.Wrap(err)
		} else if n == 1 {
			return s.insertRefresh(ctx, tx, next)
		}
		var (
			fam           string
			used, revoked int64
		)
		err = tx.QueryRowContext(ctx, `SELECT t.family_id, t.used_at, f.revoked_at FROM ssokit_refresh_tokens t
			JOIN ssokit_token_families f ON f.id = t.family_id WHERE t.token_hash = $1`, oldHash).Scan(&fam, &used, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return sso.ErrNotFound
		case err != nil:
			return sqlbase.Wrap(err)
		case fam != next.FamilyID:
			return fmt.Errorf("%w: sqlstore: rotation into another family", sso.ErrInvalidInput)
		case revoked != 0:
			return session.ErrTokenRevoked
		}
		return session.ErrTokenUsed
	})
}

func (s *Store) revokeFamilies(ctx context.Context, where string, arg string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ssokit_token_families SET revoked_at = $1 WHERE `+where+` = $2 AND revoked_at = 0`, sqlbase.TS(at), arg)
	return sqlbase.Wrap(err)
}

// RevokeFamily implements session.TokenStore.
func (s *Store) RevokeFamily(ctx context.Context, familyID string, at time.Time) error {
	return s.revokeFamilies(ctx, "id", familyID, at)
}

// RevokeSessionTokens implements session.TokenStore.
func (s *Store) RevokeSessionTokens(ctx context.Context, sessionID string, at time.Time) error {
	return s.revokeFamilies(ctx, "session_id", sessionID, at)
}

// RevokeUserTokens implements session.TokenStore.
func (s *Store) RevokeUserTokens(ctx context.Context, userID string, at time.Time) error {
	return s.revokeFamilies(ctx, "user_id", userID, at)
}

// SetRevocation implements session.RevocationStore.
func (s *Store) SetRevocation(ctx context.Context, subject string, at, until time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_revocations (subject, revoked_at, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (subject) DO UPDATE SET
		revoked_at = CASE WHEN excluded.revoked_at > ssokit_revocations.revoked_at THEN excluded.revoked_at ELSE ssokit_revocations.revoked_at END,
		expires_at = CASE WHEN excluded.expires_at > ssokit_revocations.expires_at THEN excluded.expires_at ELSE ssokit_revocations.expires_at END`,
		subject, sqlbase.TS(at), sqlbase.TS(until))
	return sqlbase.Wrap(err)
}

// GetRevocation implements session.RevocationStore.
func (s *Store) GetRevocation(ctx context.Context, subject string) (time.Time, error) {
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT revoked_at FROM ssokit_revocations WHERE subject = $1 AND expires_at > $2`,
		subject, sqlbase.TS(s.now())).Scan(&at)
	if err != nil {
		return time.Time{}, sqlbase.Wrap(err)
	}
	return sqlbase.FromTS(at), nil
}

// SweepExpired implements session.Sweeper. Sessions past their absolute
// expiry are found by index; idle-expired ones by a scan, which is fine for a
// background job.
func (s *Store) SweepExpired(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ssokit_sessions WHERE expires_at <= $1
			OR (idle_timeout > 0 AND last_seen_at + idle_timeout <= $1)`, sqlbase.TS(now))
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return sqlbase.Wrap(err)
		}
		for _, q := range []string{
			`DELETE FROM ssokit_refresh_tokens WHERE family_id IN (SELECT id FROM ssokit_token_families WHERE expires_at <= $1)`,
			`DELETE FROM ssokit_token_families WHERE expires_at <= $1`,
			`DELETE FROM ssokit_revocations WHERE expires_at <= $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, sqlbase.TS(now)); err != nil {
				return sqlbase.Wrap(err)
			}
		}
		return nil
	})
	return int(n), err
}
