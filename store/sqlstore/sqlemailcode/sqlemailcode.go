// Package sqlemailcode implements emailcode.Store (sign-in challenges,
// counters and the account lookup) on the database of a sqlstore.Store,
// SQLite or PostgreSQL, so that only hosts that use email sign-in link it.
//
//	ec, err := emailcode.New(emailcode.Config{Store: sqlemailcode.New(st), Users: st, Orgs: st, Members: st, ...})
//
// A challenge is taken with one DELETE ... RETURNING, an attempt is
// counted with one UPDATE ... RETURNING and a request with one upsert, so
// concurrent callers on any number of replicas stay exact.
//
// # Expired records
//
// Expired challenges and counters whose window ended a day ago are
// deleted in bounded batches by DeleteExpired, which a host may call on a
// schedule, and on every 128th challenge or count written through a Store.
package sqlemailcode

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ emailcode.Store = (*Store)(nil)

// Store is the emailcode store on a sqlstore.Store's database. It is safe
// for concurrent use.
type Store struct {
	db     *sql.DB
	now    func() time.Time
	writes atomic.Uint64
}

// Sweep settings: every sweepEvery-th write deletes at most sweepBatch
// expired rows per table; counters are kept counterIdle after their
// window started.
const (
	sweepEvery  = 128
	sweepBatch  = 1000
	counterIdle = 24 * time.Hour
)

// New returns the emailcode store on st's database and clock. Migrate st
// first: sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	b := sqlbase.Of(st)
	return &Store{db: b.DB, now: b.Now}
}

const cols = `id, email, user_id, code_hash, link_hash, browser_hash, org, return_to, attempts, created_at, expires_at`

func scan(row sqlbase.Scanner) (*emailcode.Challenge, error) {
	var c emailcode.Challenge
	var created, expires int64
	if err := row.Scan(&c.ID, &c.Email, &c.UserID, &c.CodeHash, &c.LinkHash, &c.BrowserHash, &c.Org, &c.ReturnTo,
		&c.Attempts, &created, &expires); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	c.CreatedAt, c.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(expires)
	return &c, nil
}

// CreateChallenge implements emailcode.ChallengeStore.
func (s *Store) CreateChallenge(ctx context.Context, c *emailcode.Challenge) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_email_challenges (`+cols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.Email, c.UserID, c.CodeHash, c.LinkHash, c.BrowserHash, c.Org, c.ReturnTo, c.Attempts,
		sqlbase.TS(c.CreatedAt), sqlbase.TS(c.ExpiresAt))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	s.maybeSweep(ctx)
	return nil
}

// GetChallenge implements emailcode.ChallengeStore.
func (s *Store) GetChallenge(ctx context.Context, id string) (*emailcode.Challenge, error) {
	return scan(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM ssokit_email_challenges WHERE id = $1`, id))
}

// FindChallengeByLink implements emailcode.ChallengeStore.
func (s *Store) FindChallengeByLink(ctx context.Context, linkHash string) (*emailcode.Challenge, error) {
	return scan(s.db.QueryRowContext(ctx, `SELECT `+cols+` FROM ssokit_email_challenges WHERE link_hash = $1`, linkHash))
}

// AddAttempt implements emailcode.ChallengeStore with one
// UPDATE ... RETURNING.
func (s *Store) AddAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `UPDATE ssokit_email_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`, id).Scan(&n)
	if err != nil {
		return 0, sqlbase.Wrap(err)
	}
	return n, nil
}

// TakeChallenge implements emailcode.ChallengeStore with a single
// DELETE ... RETURNING, so exactly one concurrent caller gets the row.
func (s *Store) TakeChallenge(ctx context.Context, id string) (*emailcode.Challenge, error) {
	return scan(s.db.QueryRowContext(ctx, `DELETE FROM ssokit_email_challenges WHERE id = $1 RETURNING `+cols, id))
}

// DeleteChallenges implements emailcode.ChallengeStore.
func (s *Store) DeleteChallenges(ctx context.Context, email string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_email_challenges WHERE email = $1`, email)
	return sqlbase.Wrap(err)
}

// Count implements emailcode.CounterStore with one upsert.
func (s *Store) Count(ctx context.Context, key string, now, windowStart time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `INSERT INTO ssokit_email_counters (key, n, window_start) VALUES ($1, 1, $2)
ON CONFLICT (key) DO UPDATE SET
  n = CASE WHEN ssokit_email_counters.window_start < $3 THEN 1 ELSE ssokit_email_counters.n + 1 END,
  window_start = CASE WHEN ssokit_email_counters.window_start < $3 THEN excluded.window_start ELSE ssokit_email_counters.window_start END
RETURNING n`, key, sqlbase.TS(now), sqlbase.TS(windowStart)).Scan(&n)
	if err != nil {
		return 0, sqlbase.Wrap(err)
	}
	s.maybeSweep(ctx)
	return n, nil
}

// FindVerifiedUser implements emailcode.UserFinder on the core users
// table, through its (email_lower, created_at, id) index.
func (s *Store) FindVerifiedUser(ctx context.Context, email string) (*sso.User, error) {
	var u sso.User
	var lower string
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT `+sqlbase.UserCols+` FROM ssokit_users
WHERE email_lower = $1 AND email_verified = $2 ORDER BY created_at, id LIMIT 1`, email, true).
		Scan(&u.ID, &u.Email, &lower, &u.EmailVerified, &u.GivenName, &u.FamilyName, &u.DisplayName, &created, &updated)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	u.CreatedAt, u.UpdatedAt = sqlbase.FromTS(created), sqlbase.FromTS(updated)
	return &u, nil
}

// maybeSweep runs DeleteExpired on every sweepEvery-th write; a failed
// sweep is ignored (the next one retries, and expired rows are inert).
func (s *Store) maybeSweep(ctx context.Context) {
	if s.writes.Add(1)%sweepEvery == 0 {
		_, _ = s.DeleteExpired(ctx)
	}
}

// DeleteExpired deletes up to 1000 expired challenges and as many
// counters whose window started a day ago, and returns how many rows it
// deleted.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	now := s.now()
	return sqlbase.Sweep(ctx, s.db, sweepBatch,
		sqlbase.SweepStep{SQL: `DELETE FROM ssokit_email_challenges WHERE id IN (
			SELECT id FROM ssokit_email_challenges WHERE expires_at <= $1 LIMIT $2)`, Cutoff: now},
		sqlbase.SweepStep{SQL: `DELETE FROM ssokit_email_counters WHERE key IN (
			SELECT key FROM ssokit_email_counters WHERE window_start <= $1 LIMIT $2)`, Cutoff: now.Add(-counterIdle)})
}
