// Package sqlportal implements portal.Store (setup links, portal sessions
// and the form tokens that make submits idempotent) on the database of a
// sqlstore.Store, so that replicas sharing the database share the portal's
// links and sessions: a link used on one replica is used on all, and a
// session started on one is valid on the others.
//
//	p, err := portal.New(portal.Config{Store: sqlportal.New(st), ...})
//
// # Concurrency
//
// UseLink is one conditional UPDATE ... RETURNING, so of concurrent uses of
// one link exactly one succeeds, on SQLite and PostgreSQL alike. Tokens and
// cookies are stored only as hashes. Sessions whose absolute lifetime ended
// (and their form tokens) are deleted when a new session is created.
package sqlportal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ portal.Store = (*Store)(nil)

// Store is the portal store on a sqlstore.Store's database. It is safe for
// concurrent use, also by several processes on one database.
type Store struct {
	db *sql.DB
}

// New returns the portal store on st's database. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	return &Store{db: sqlbase.Of(st).DB}
}

const linkCols = `id, org_id, hash, sections, created_by_type, created_by_id, created_at, expires_at, used_at, revoked_at`

func scanLink(r sqlbase.Scanner) (*portal.SetupLink, error) {
	var (
		l                             portal.SetupLink
		secs, byType                  string
		created, expires, used, revok int64
	)
	if err := r.Scan(&l.ID, &l.OrgID, &l.Hash, &secs, &byType, &l.CreatedBy.ID, &created, &expires, &used, &revok); err != nil {
		return nil, err
	}
	if err := sqlbase.FromJSON(secs, &l.Sections); err != nil {
		return nil, err
	}
	l.CreatedBy.Type = sso.ActorType(byType)
	l.CreatedAt, l.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(expires)
	l.UsedAt, l.RevokedAt = sqlbase.FromTS(used), sqlbase.FromTS(revok)
	return &l, nil
}

// CreateLink implements portal.Store.
func (s *Store) CreateLink(ctx context.Context, l *portal.SetupLink) error {
	secs, err := sqlbase.ToJSON(l.Sections)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO ssokit_portal_links (`+linkCols+`)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		l.ID, l.OrgID, l.Hash, secs, string(l.CreatedBy.Type), l.CreatedBy.ID,
		sqlbase.TS(l.CreatedAt), sqlbase.TS(l.ExpiresAt), sqlbase.TS(l.UsedAt), sqlbase.TS(l.RevokedAt))
	return wrap("setup link", err)
}

// GetLink implements portal.Store.
func (s *Store) GetLink(ctx context.Context, id string) (*portal.SetupLink, error) {
	return sqlbase.GetOne(ctx, s.db, "setup link", scanLink, `SELECT `+linkCols+` FROM ssokit_portal_links WHERE id = $1`, id)
}

// ListLinks implements portal.Store.
func (s *Store) ListLinks(ctx context.Context, orgID string) ([]*portal.SetupLink, error) {
	return sqlbase.Collect(ctx, s.db, scanLink,
		`SELECT `+linkCols+` FROM ssokit_portal_links WHERE org_id = $1 ORDER BY created_at DESC, id DESC`, orgID)
}

// UseLink implements portal.Store with one conditional UPDATE; when it
// changes nothing, a SELECT tells why.
func (s *Store) UseLink(ctx context.Context, hash string, now time.Time) (*portal.SetupLink, error) {
	at := sqlbase.TS(now)
	l, err := sqlbase.GetOne(ctx, s.db, "setup link", scanLink, `UPDATE ssokit_portal_links SET used_at = $2
WHERE hash = $1 AND used_at = 0 AND revoked_at = 0 AND expires_at > $2 RETURNING `+linkCols, hash, at)
	if err == nil || !errors.Is(err, sso.ErrNotFound) {
		return l, err
	}
	l, err = sqlbase.GetOne(ctx, s.db, "setup link", scanLink, `SELECT `+linkCols+` FROM ssokit_portal_links WHERE hash = $1`, hash)
	switch {
	case err != nil:
		return nil, err
	case !l.RevokedAt.IsZero() || sqlbase.TS(l.ExpiresAt) <= at:
		return nil, fmt.Errorf("portal: setup link: %w", sso.ErrExpired)
	}
	return nil, fmt.Errorf("portal: setup link already used: %w", sso.ErrConflict)
}

// RevokeLink implements portal.Store.
func (s *Store) RevokeLink(ctx context.Context, orgID, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_portal_links SET revoked_at = CASE WHEN revoked_at = 0 THEN $3 ELSE revoked_at END
WHERE id = $1 AND org_id = $2`, id, orgID, sqlbase.TS(now))
	if err != nil {
		return wrap("setup link", err)
	}
	return wrap("setup link", sqlbase.MustAffect(res))
}

// wrap turns a database error into the store's contract.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("portal: %s: %w", what, sqlbase.Wrap(err))
}
