// Package sqlsocial implements social.Store (social identities and the
// lookup of link targets by email) on the database of a sqlstore.Store,
// SQLite or PostgreSQL, so that only hosts that use social sign-in link it.
//
//	sm, err := social.New(social.Config{Store: sqlsocial.New(st), Users: st, Orgs: st, Members: st, ...})
//
// Identities are keyed by (provider, subject); the user lookup by email
// uses the core users table's email index.
package sqlsocial

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ social.Store = (*Store)(nil)

// Store is the social store on a sqlstore.Store's database. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	// postgres makes a keep-last DeleteIdentity take the user's ways-in
	// lock first.
	postgres bool
}

// New returns the social store on st's database. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	return &Store{db: sqlbase.Of(st).DB, postgres: st.Dialect() == sqlstore.Postgres}
}

const idCols = `provider, subject, user_id, email, email_verified, created_at, last_login_at`

func scanIdentity(row sqlbase.Scanner) (*social.Identity, error) {
	var id social.Identity
	var created, last int64
	if err := row.Scan(&id.Provider, &id.Subject, &id.UserID, &id.Email, &id.EmailVerified, &created, &last); err != nil {
		return nil, err
	}
	id.CreatedAt, id.LastLoginAt = sqlbase.FromTS(created), sqlbase.FromTS(last)
	return &id, nil
}

// CreateIdentity implements social.Store.
func (s *Store) CreateIdentity(ctx context.Context, id *social.Identity) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_social_identities (`+idCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id.Provider, id.Subject, id.UserID, id.Email, id.EmailVerified, sqlbase.TS(id.CreatedAt), sqlbase.TS(id.LastLoginAt))
	return sqlbase.Wrap(err)
}

// GetIdentity implements social.Store.
func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (*social.Identity, error) {
	return sqlbase.GetOne(ctx, s.db, "social identity", scanIdentity,
		`SELECT `+idCols+` FROM ssokit_social_identities WHERE provider = $1 AND subject = $2`, provider, subject)
}

// ListUserIdentities implements social.Store.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*social.Identity, error) {
	out, err := sqlbase.Collect(ctx, s.db, scanIdentity,
		`SELECT `+idCols+` FROM ssokit_social_identities WHERE user_id = $1 ORDER BY created_at, provider, subject`, userID)
	if out == nil && err == nil {
		out = []*social.Identity{}
	}
	return out, err
}

// TouchIdentity implements social.Store.
func (s *Store) TouchIdentity(ctx context.Context, provider, subject, email string, verified bool, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_social_identities SET email = $3, email_verified = $4, last_login_at = $5
WHERE provider = $1 AND subject = $2`, provider, subject, email, verified, sqlbase.TS(at))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return sqlbase.MustAffect(res)
}

// DeleteIdentity implements social.Store: with keepLast, one DELETE that
// removes the row only while the user keeps another way to sign in
// (another identity, a passkey, a password), after the per-user lock that
// every keep-last removal takes (sqlbase.LockWaysIn), so that of
// concurrent removals of a user's last two ways in, of whatever kinds, one
// is refused.
func (s *Store) DeleteIdentity(ctx context.Context, userID, provider, subject string, keepLast bool) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if keepLast && s.postgres {
			if err := sqlbase.LockWaysIn(ctx, tx, userID); err != nil {
				return err
			}
		}
		q := `DELETE FROM ssokit_social_identities WHERE provider = $1 AND subject = $2 AND user_id = $3`
		if keepLast {
			q += ` AND ` + sqlbase.WaysIn("$3") + ` > 1`
		}
		res, err := tx.ExecContext(ctx, q, provider, subject, userID)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return sqlbase.Wrap(err)
		}
		return refusal(ctx, tx, userID, provider, subject)
	})
}

// refusal tells why a delete removed nothing: the identity is not the
// user's (ErrNotFound) or, with keepLast, it is their last way to sign in
// (ErrConflict).
func refusal(ctx context.Context, tx *sql.Tx, userID, provider, subject string) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_social_identities WHERE provider = $1 AND subject = $2 AND user_id = $3`,
		provider, subject, userID).Scan(&n)
	switch {
	case err != nil:
		return sqlbase.Wrap(err)
	case n == 0:
		return fmt.Errorf("sqlstore: social identity: %w", sso.ErrNotFound)
	}
	return fmt.Errorf("%w: sqlstore: the user's last way to sign in", sso.ErrConflict)
}

// FindUsersByEmail implements social.Store.
func (s *Store) FindUsersByEmail(ctx context.Context, email string) ([]*sso.User, error) {
	out, err := sqlbase.Collect(ctx, s.db, scanUser,
		`SELECT `+sqlbase.UserCols+` FROM ssokit_users WHERE email_lower = $1 ORDER BY created_at, id`, strings.ToLower(email))
	if out == nil && err == nil {
		out = []*sso.User{}
	}
	return out, err
}

func scanUser(r sqlbase.Scanner) (*sso.User, error) {
	var u sso.User
	var lower string
	var created, updated int64
	if err := r.Scan(&u.ID, &u.Email, &lower, &u.EmailVerified, &u.GivenName, &u.FamilyName, &u.DisplayName, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = sqlbase.FromTS(created), sqlbase.FromTS(updated)
	return &u, nil
}
