// Package sqlpasskey implements passkey.Store (passkeys and ceremonies) on
// the database of a sqlstore.Store, SQLite or PostgreSQL. Credential IDs
// are stored base64url-encoded; a ceremony is taken with one
// DELETE ... RETURNING and a use recorded with one compare-and-set UPDATE.
package sqlpasskey

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ passkey.Store = (*Store)(nil)

// Store is the passkey store on a sqlstore.Store's database. It is safe
// for concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// postgres makes a keep-last DeleteCredential take the user's
	// ways-in lock first.
	postgres bool
}

// New returns the passkey store on st's database. Migrate st first.
func New(st *sqlstore.Store) *Store {
	b := sqlbase.Of(st)
	return &Store{db: b.DB, now: b.Now, postgres: st.Dialect() == sqlstore.Postgres}
}

var enc = base64.RawURLEncoding

const cols = `id, user_id, name, data, sign_count, created_at, last_used_at`

func scan(row sqlbase.Scanner) (*passkey.Credential, error) {
	var c passkey.Credential
	var id, data string
	var count, created, used int64
	if err := row.Scan(&id, &c.UserID, &c.Name, &data, &count, &created, &used); err != nil {
		return nil, err
	}
	raw, err := enc.DecodeString(id)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: passkey id: %w", err)
	}
	c.ID, c.Data, c.SignCount = raw, []byte(data), uint32(count)
	c.CreatedAt, c.LastUsedAt = sqlbase.FromTS(created), sqlbase.FromTS(used)
	return &c, nil
}

// CreateCredential implements passkey.Store.
func (s *Store) CreateCredential(ctx context.Context, c *passkey.Credential) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_passkeys (`+cols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		enc.EncodeToString(c.ID), c.UserID, c.Name, string(c.Data), int64(c.SignCount), sqlbase.TS(c.CreatedAt), sqlbase.TS(c.LastUsedAt))
	return sqlbase.Wrap(err)
}

// GetCredential implements passkey.Store.
func (s *Store) GetCredential(ctx context.Context, id []byte) (*passkey.Credential, error) {
	return sqlbase.GetOne(ctx, s.db, "passkey", scan, `SELECT `+cols+` FROM ssokit_passkeys WHERE id = $1`, enc.EncodeToString(id))
}

// ListCredentials implements passkey.Store.
func (s *Store) ListCredentials(ctx context.Context, userID string) ([]*passkey.Credential, error) {
	out, err := sqlbase.Collect(ctx, s.db, scan, `SELECT `+cols+` FROM ssokit_passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if out == nil && err == nil {
		out = []*passkey.Credential{}
	}
	return out, err
}

// UpdateUse implements passkey.Store with one compare-and-set UPDATE.
func (s *Store) UpdateUse(ctx context.Context, id []byte, oldCount, newCount uint32, data []byte, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_passkeys SET sign_count = $2, data = $3, last_used_at = $4 WHERE id = $1 AND sign_count = $5`,
		enc.EncodeToString(id), int64(newCount), string(data), sqlbase.TS(at), int64(oldCount))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.GetCredential(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("%w: sqlstore: passkey counter changed", sso.ErrConflict)
}

// RenameCredential implements passkey.Store.
func (s *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_passkeys SET name = $3 WHERE id = $1 AND user_id = $2`, enc.EncodeToString(id), userID, name)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return sqlbase.MustAffect(res)
}

// DeleteCredential implements passkey.Store: with keepLast, one DELETE
// that removes the row only while the user keeps another way to sign in
// (another passkey, a social identity, a password), after the per-user
// lock that every keep-last removal takes (sqlbase.LockWaysIn), so that
// of concurrent removals of a user's last two ways in, of whatever kinds,
// one is refused.
func (s *Store) DeleteCredential(ctx context.Context, userID string, id []byte, keepLast bool) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if keepLast && s.postgres {
			if err := sqlbase.LockWaysIn(ctx, tx, userID); err != nil {
				return err
			}
		}
		q := `DELETE FROM ssokit_passkeys WHERE id = $1 AND user_id = $2`
		if keepLast {
			q += ` AND ` + sqlbase.WaysIn("$2") + ` > 1`
		}
		res, err := tx.ExecContext(ctx, q, enc.EncodeToString(id), userID)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var owner string
		err = tx.QueryRowContext(ctx, `SELECT user_id FROM ssokit_passkeys WHERE id = $1`, enc.EncodeToString(id)).Scan(&owner)
		if err == sql.ErrNoRows || (err == nil && owner != userID) {
			return fmt.Errorf("sqlstore: passkey: %w", sso.ErrNotFound)
		} else if err != nil {
			return sqlbase.Wrap(err)
		}
		return fmt.Errorf("%w: sqlstore: the user's last way to sign in", sso.ErrConflict)
	})
}

// SaveCeremony implements passkey.Store.
func (s *Store) SaveCeremony(ctx context.Context, c *passkey.Ceremony) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_passkey_ceremonies (id, user_id, session_id, kind, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.UserID, c.SessionID, c.Kind, string(c.Data), sqlbase.TS(c.ExpiresAt))
	if err == nil {
		_, _ = s.db.ExecContext(ctx, `DELETE FROM ssokit_passkey_ceremonies WHERE expires_at < $1`, sqlbase.TS(s.now()))
	}
	return sqlbase.Wrap(err)
}

// TakeCeremony implements passkey.Store with one DELETE ... RETURNING.
func (s *Store) TakeCeremony(ctx context.Context, id string) (*passkey.Ceremony, error) {
	var c passkey.Ceremony
	var data string
	var exp int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM ssokit_passkey_ceremonies WHERE id = $1 RETURNING id, user_id, session_id, kind, data, expires_at`, id).
		Scan(&c.ID, &c.UserID, &c.SessionID, &c.Kind, &data, &exp)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	c.Data, c.ExpiresAt = []byte(data), sqlbase.FromTS(exp)
	if !s.now().Before(c.ExpiresAt) {
		return nil, fmt.Errorf("sqlstore: ceremony expired: %w", sso.ErrNotFound)
	}
	return &c, nil
}
