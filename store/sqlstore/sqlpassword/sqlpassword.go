// Package sqlpassword implements password.Store (credentials, single-use
// email tokens and throttle counters) on the database of a sqlstore.Store,
// SQLite or PostgreSQL, so that only hosts that use passwords link it.
//
//	pw, err := password.New(password.Config{Store: sqlpassword.New(st), Users: st, Orgs: st, Members: st, ...})
//
// A token is taken with one DELETE ... RETURNING, a credential is replaced
// with one compare-and-swap UPDATE, a failure is counted with one upsert,
// and a login attempt with one conditional upsert per throttle key in one
// transaction, so concurrent callers on any number of replicas stay exact.
//
// # Expired records
//
// Expired tokens and throttle counters idle for a day are deleted in
// bounded batches by DeleteExpired, which a host may call on a schedule,
// and on every 128th token or failure written through a Store.
package sqlpassword

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ password.Store = (*Store)(nil)

// Store is the password store on a sqlstore.Store's database. It is safe
// for concurrent use.
type Store struct {
	db     *sql.DB
	now    func() time.Time
	writes atomic.Uint64
}

// Sweep settings: every sweepEvery-th write deletes at most sweepBatch
// expired rows per table; counters idle for throttleIdle are expired.
const (
	sweepEvery   = 128
	sweepBatch   = 1000
	throttleIdle = 24 * time.Hour
)

// New returns the password store on st's database and clock. Migrate st
// first: sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	b := sqlbase.Of(st)
	return &Store{db: b.DB, now: b.Now}
}

const credCols = `user_id, email, hash, version, created_at, updated_at`

func scanCred(row sqlbase.Scanner) (*password.Credential, error) {
	var c password.Credential
	var created, updated int64
	if err := row.Scan(&c.UserID, &c.Email, &c.Hash, &c.Version, &created, &updated); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	c.CreatedAt, c.UpdatedAt = sqlbase.FromTS(created), sqlbase.FromTS(updated)
	return &c, nil
}

// CreateCredential implements password.CredentialStore.
func (s *Store) CreateCredential(ctx context.Context, c *password.Credential) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_password_credentials (`+credCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.UserID, c.Email, c.Hash, c.Version, sqlbase.TS(c.CreatedAt), sqlbase.TS(c.UpdatedAt))
	return sqlbase.Wrap(err)
}

// GetCredential implements password.CredentialStore.
func (s *Store) GetCredential(ctx context.Context, userID string) (*password.Credential, error) {
	return scanCred(s.db.QueryRowContext(ctx, `SELECT `+credCols+` FROM ssokit_password_credentials WHERE user_id = $1`, userID))
}

// FindCredential implements password.CredentialStore.
func (s *Store) FindCredential(ctx context.Context, email string) (*password.Credential, error) {
	return scanCred(s.db.QueryRowContext(ctx, `SELECT `+credCols+` FROM ssokit_password_credentials WHERE email = $1`, email))
}

// UpdateCredential implements password.CredentialStore with one
// compare-and-swap UPDATE on the old hash.
func (s *Store) UpdateCredential(ctx context.Context, c *password.Credential, oldHash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_password_credentials SET email = $2, hash = $3, version = $4, created_at = $5, updated_at = $6
WHERE user_id = $1 AND hash = $7`, c.UserID, c.Email, c.Hash, c.Version, sqlbase.TS(c.CreatedAt), sqlbase.TS(c.UpdatedAt), oldHash)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlbase.Wrap(err)
	} else if n == 1 {
		return nil
	}
	if _, err := s.GetCredential(ctx, c.UserID); err != nil {
		return err
	}
	return fmt.Errorf("%w: sqlstore: credential changed concurrently", sso.ErrConflict)
}

// CreateToken implements password.TokenStore.
func (s *Store) CreateToken(ctx context.Context, t *password.Token) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_password_tokens (hash, kind, user_id, email, version, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.Hash, string(t.Kind), t.UserID, t.Email, t.Version, sqlbase.TS(t.CreatedAt), sqlbase.TS(t.ExpiresAt))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	s.maybeSweep(ctx)
	return nil
}

// TakeToken implements password.TokenStore with a single
// DELETE ... RETURNING, so exactly one concurrent caller gets the row.
func (s *Store) TakeToken(ctx context.Context, kind password.TokenKind, hash string) (*password.Token, error) {
	var t password.Token
	var k string
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM ssokit_password_tokens WHERE hash = $1 AND kind = $2
RETURNING hash, kind, user_id, email, version, created_at, expires_at`, hash, string(kind)).
		Scan(&t.Hash, &k, &t.UserID, &t.Email, &t.Version, &created, &expires)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	t.Kind, t.CreatedAt, t.ExpiresAt = password.TokenKind(k), sqlbase.FromTS(created), sqlbase.FromTS(expires)
	return &t, nil
}

// DeleteTokens implements password.TokenStore.
func (s *Store) DeleteTokens(ctx context.Context, userID string, kind password.TokenKind) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_password_tokens WHERE user_id = $1 AND kind = $2`, userID, string(kind))
	return sqlbase.Wrap(err)
}

// Failures implements password.ThrottleStore.
func (s *Store) Failures(ctx context.Context, key string) (int, time.Time, error) {
	var n int
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT failures, last_at FROM ssokit_password_throttle WHERE key = $1`, key).Scan(&n, &last)
	if err == sql.ErrNoRows {
		return 0, time.Time{}, nil
	} else if err != nil {
		return 0, time.Time{}, sqlbase.Wrap(err)
	}
	return n, sqlbase.FromTS(last), nil
}

// RecordFailure implements password.ThrottleStore with one upsert.
func (s *Store) RecordFailure(ctx context.Context, key string, now, forgetBefore time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `INSERT INTO ssokit_password_throttle (key, failures, last_at) VALUES ($1, 1, $2)
ON CONFLICT (key) DO UPDATE SET
  failures = CASE WHEN ssokit_password_throttle.last_at < $3 THEN 1 ELSE ssokit_password_throttle.failures + 1 END,
  last_at = excluded.last_at
RETURNING failures`, key, sqlbase.TS(now), sqlbase.TS(forgetBefore)).Scan(&n)
	if err != nil {
		return 0, sqlbase.Wrap(err)
	}
	s.maybeSweep(ctx)
	return n, nil
}

// ResetFailures implements password.ThrottleStore.
func (s *Store) ResetFailures(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_password_throttle WHERE key = $1`, key)
	return sqlbase.Wrap(err)
}

// maybeSweep runs DeleteExpired on every sweepEvery-th write; a failed
// sweep is ignored (the next one retries, and expired rows are inert).
func (s *Store) maybeSweep(ctx context.Context) {
	if s.writes.Add(1)%sweepEvery == 0 {
		_, _ = s.DeleteExpired(ctx)
	}
}

// DeleteExpired deletes up to 1000 expired tokens and as many throttle
// counters idle for a day, and returns how many rows it deleted.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	now := s.now()
	return sqlbase.Sweep(ctx, s.db, sweepBatch,
		sqlbase.SweepStep{SQL: `DELETE FROM ssokit_password_tokens WHERE hash IN (
			SELECT hash FROM ssokit_password_tokens WHERE expires_at <= $1 LIMIT $2)`, Cutoff: now},
		sqlbase.SweepStep{SQL: `DELETE FROM ssokit_password_throttle WHERE key IN (
			SELECT key FROM ssokit_password_throttle WHERE last_at <= $1 LIMIT $2)`, Cutoff: now.Add(-throttleIdle)})
}
