package sqlportal

import (
	"context"
	"database/sql"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

const sessionCols = `id, hash, org_id, actor_type, actor_id, link_id, sections, csrf, created_at, last_seen_at, expires_at`

func scanSession(r sqlbase.Scanner) (*portal.Session, error) {
	var (
		p                      portal.Session
		actorType, secs        string
		created, seen, expires int64
	)
	if err := r.Scan(&p.ID, &p.Hash, &p.OrgID, &actorType, &p.Actor.ID, &p.LinkID, &secs, &p.CSRF, &created, &seen, &expires); err != nil {
		return nil, err
	}
	if err := sqlbase.FromJSON(secs, &p.Sections); err != nil {
		return nil, err
	}
	p.Actor.Type = sso.ActorType(actorType)
	p.CreatedAt, p.LastSeenAt, p.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(seen), sqlbase.FromTS(expires)
	return &p, nil
}

// CreateSession implements portal.Store. In the same transaction it deletes
// the sessions (and their form tokens) whose absolute lifetime ended.
func (s *Store) CreateSession(ctx context.Context, p *portal.Session) error {
	secs, err := sqlbase.ToJSON(p.Sections)
	if err != nil {
		return err
	}
	err = sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		now := sqlbase.TS(p.CreatedAt)
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_portal_forms WHERE session_id IN
(SELECT id FROM ssokit_portal_sessions WHERE expires_at <= $1)`, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_portal_sessions WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ssokit_portal_sessions (`+sessionCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			p.ID, p.Hash, p.OrgID, string(p.Actor.Type), p.Actor.ID, p.LinkID, secs, p.CSRF,
			sqlbase.TS(p.CreatedAt), sqlbase.TS(p.LastSeenAt), sqlbase.TS(p.ExpiresAt))
		return err
	})
	return wrap("session", err)
}

// GetSession implements portal.Store.
func (s *Store) GetSession(ctx context.Context, hash string) (*portal.Session, error) {
	return sqlbase.GetOne(ctx, s.db, "portal session", scanSession,
		`SELECT `+sessionCols+` FROM ssokit_portal_sessions WHERE hash = $1`, hash)
}

// TouchSession implements portal.Store.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_portal_sessions SET last_seen_at = $2 WHERE id = $1`, id, sqlbase.TS(at))
	if err != nil {
		return wrap("session", err)
	}
	return wrap("session", sqlbase.MustAffect(res))
}

// DeleteSession implements portal.Store; deleting a missing session is not
// an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return wrap("session", sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_portal_forms WHERE session_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM ssokit_portal_sessions WHERE id = $1`, id)
		return err
	}))
}

// ClaimForm implements portal.Store: the INSERT of the (session, token)
// pair is the claim, or the UPDATE of one whose submission was refused
// (portal.FormRetry), so of concurrent submits exactly one is first.
func (s *Store) ClaimForm(ctx context.Context, sessionID, token string) (bool, string, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_portal_forms (session_id, token, location) VALUES ($1, $2, '')
ON CONFLICT (session_id, token) DO UPDATE SET location = '' WHERE ssokit_portal_forms.location = $3`, sessionID, token, portal.FormRetry)
	if err != nil {
		return false, "", wrap("form", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, "", wrap("form", err)
	} else if n == 1 {
		return true, "", nil
	}
	var loc string
	err = s.db.QueryRowContext(ctx, `SELECT location FROM ssokit_portal_forms WHERE session_id = $1 AND token = $2`, sessionID, token).Scan(&loc)
	if err != nil {
		return false, "", wrap("form", err)
	}
	return false, loc, nil
}

// FinishForm implements portal.Store.
func (s *Store) FinishForm(ctx context.Context, sessionID, token, location string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_portal_forms (session_id, token, location) VALUES ($1, $2, $3)
ON CONFLICT (session_id, token) DO UPDATE SET location = excluded.location`, sessionID, token, location)
	return wrap("form", err)
}
