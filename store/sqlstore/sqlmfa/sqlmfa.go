// Package sqlmfa implements mfa.Store (TOTP factors, recovery codes,
// failed-attempt counters, WebAuthn credentials and ceremonies) on the
// database of a sqlstore.Store, so that only hosts that use MFA link
// pquerna/otp and go-webauthn.
//
//	m, err := mfa.New(mfa.Config{Store: sqlmfa.New(st), Users: st, Orgs: st, ...})
//
// TOTP seeds arrive sealed and recovery codes hashed; the store keeps them as
// they are. Every compare-and-set (a TOTP step, a recovery code, a WebAuthn
// signature counter) is one conditional UPDATE.
package sqlmfa

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ mfa.Store = (*Store)(nil)

// Store is the MFA store on a sqlstore.Store's database. It is safe for
// concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time
	// postgres makes ReplaceRecoveryCodes serialize the replacements of
	// one user's codes.
	postgres bool
}

// New returns the MFA store on st's database and clock. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	b := sqlbase.Of(st)
	return &Store{db: b.DB, now: b.Now, postgres: st.Dialect() == sqlstore.Postgres}
}

// recoveryLockID is the first key of the PostgreSQL advisory lock that
// serializes replacements of one user's recovery codes; the second is a
// hash of the schema and the user ID.
const recoveryLockID = 0x4d_46_41_52

// PutPendingTOTP implements mfa.TOTPStore.
func (s *Store) PutPendingTOTP(ctx context.Context, f *mfa.TOTPFactor) error {
	if f.UserID == "" {
		return fmt.Errorf("%w: sqlstore: empty user ID", sso.ErrInvalidInput)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_mfa_totp (user_id, secret, active, last_step, created_at, confirmed_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, 0, 0)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, active = excluded.active, last_step = excluded.last_step,
			created_at = excluded.created_at, confirmed_at = 0, last_used_at = 0
		WHERE ssokit_mfa_totp.active = $3`,
		f.UserID, f.Secret, false, f.LastStep, sqlbase.TS(f.CreatedAt))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlbase.Wrap(err)
	} else if n == 0 {
		return fmt.Errorf("%w: sqlstore: user has an active TOTP factor", sso.ErrConflict)
	}
	return nil
}

// GetTOTP implements mfa.TOTPStore.
func (s *Store) GetTOTP(ctx context.Context, userID string) (*mfa.TOTPFactor, error) {
	var f mfa.TOTPFactor
	var created, confirmed, used int64
	err := s.db.QueryRowContext(ctx, `SELECT user_id, secret, active, last_step, created_at, confirmed_at, last_used_at
		FROM ssokit_mfa_totp WHERE user_id = $1`, userID).
		Scan(&f.UserID, &f.Secret, &f.Active, &f.LastStep, &created, &confirmed, &used)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = sqlbase.FromTS(created), sqlbase.FromTS(confirmed), sqlbase.FromTS(used)
	return &f, nil
}

// totpActive reports whether the user has a factor and whether it is
// active, to classify a write that touched no row.
func (s *Store) totpActive(ctx context.Context, userID string) (exists, active bool, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT active FROM ssokit_mfa_totp WHERE user_id = $1`, userID).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, sqlbase.Wrap(err)
	}
	return true, active, nil
}

// ActivateTOTP implements mfa.TOTPStore.
func (s *Store) ActivateTOTP(ctx context.Context, userID, secret string, step int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_mfa_totp SET active = $1, last_step = $2, confirmed_at = $3, last_used_at = $3
		WHERE user_id = $4 AND active = $5 AND secret = $6`, true, step, sqlbase.TS(at), userID, false, secret)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlbase.Wrap(err)
	} else if n == 1 {
		return nil
	}
	exists, active, err := s.totpActive(ctx, userID)
	switch {
	case err != nil:
		return err
	case exists && active:
		return fmt.Errorf("%w: sqlstore: TOTP factor already active", sso.ErrConflict)
	}
	return sso.ErrNotFound
}

// AdvanceTOTPStep implements mfa.TOTPStore.
func (s *Store) AdvanceTOTPStep(ctx context.Context, userID string, step int64, at time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_mfa_totp SET last_step = $1, last_used_at = $2
		WHERE user_id = $3 AND active = $4 AND last_step < $1`, step, sqlbase.TS(at), userID, true)
	if err != nil {
		return false, sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, sqlbase.Wrap(err)
	} else if n == 1 {
		return true, nil
	}
	exists, active, err := s.totpActive(ctx, userID)
	if err != nil {
		return false, err
	}
	if !exists || !active {
		return false, sso.ErrNotFound
	}
	return false, nil
}

// DeleteTOTP implements mfa.TOTPStore.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_totp WHERE user_id = $1`, userID)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return sqlbase.MustAffect(res)
}

// ReplaceRecoveryCodes implements mfa.RecoveryStore in one transaction;
// on PostgreSQL it first takes a transaction-scoped advisory lock on the
// user, so that of concurrent replacements the last one's set alone
// remains.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	if userID == "" {
		return fmt.Errorf("%w: sqlstore: empty user ID", sso.ErrInvalidInput)
	}
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if s.postgres {
			// The DELETE sees only the codes committed when it started:
			// two replacements at once would each delete the old set and
			// insert their own, leaving both sets valid. The lock makes the
			// second wait for the first's commit, so its DELETE removes the
			// first's codes. (SQLite runs one writer at a time.)
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || '/' || $2))`,
				recoveryLockID, userID); err != nil {
				return sqlbase.Wrap(err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_mfa_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return sqlbase.Wrap(err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_mfa_recovery_codes (user_id, hash, created_at, used_at) VALUES ($1, $2, $3, 0)`,
				userID, h, sqlbase.TS(at)); err != nil {
				return sqlbase.Wrap(err)
			}
		}
		return nil
	})
}

// UseRecoveryCode implements mfa.RecoveryStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_mfa_recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at = 0`,
		sqlbase.TS(at), userID, hash)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return sqlbase.MustAffect(res)
}

// CountRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_mfa_recovery_codes WHERE user_id = $1 AND used_at = 0`, userID).Scan(&n)
	return n, sqlbase.Wrap(err)
}

// DeleteRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_recovery_codes WHERE user_id = $1`, userID)
	return sqlbase.Wrap(err)
}

// GetAttempts implements mfa.AttemptStore.
func (s *Store) GetAttempts(ctx context.Context, userID string) (*mfa.Attempts, error) {
	var a mfa.Attempts
	var last, locked int64
	err := s.db.QueryRowContext(ctx, `SELECT user_id, failures, last_failure_at, locked_until FROM ssokit_mfa_attempts WHERE user_id = $1`, userID).
		Scan(&a.UserID, &a.Failures, &last, &locked)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	a.LastFailureAt, a.LockedUntil = sqlbase.FromTS(last), sqlbase.FromTS(locked)
	return &a, nil
}

// AddFailure implements mfa.AttemptStore.
func (s *Store) AddFailure(ctx context.Context, userID string, at, restartBefore time.Time) (int, error) {
	if userID == "" {
		return 0, fmt.Errorf("%w: sqlstore: empty user ID", sso.ErrInvalidInput)
	}
	var n int
	err := s.db.QueryRowContext(ctx, `INSERT INTO ssokit_mfa_attempts (user_id, failures, last_failure_at, locked_until) VALUES ($1, 1, $2, 0)
		ON CONFLICT (user_id) DO UPDATE SET
			failures = CASE WHEN ssokit_mfa_attempts.last_failure_at < $3 THEN 1 ELSE ssokit_mfa_attempts.failures + 1 END,
			last_failure_at = excluded.last_failure_at
		RETURNING failures`, userID, sqlbase.TS(at), sqlbase.TS(restartBefore)).Scan(&n)
	if err != nil {
		return 0, sqlbase.Wrap(err)
	}
	return n, nil
}

// LockUntil implements mfa.AttemptStore.
func (s *Store) LockUntil(ctx context.Context, userID string, until time.Time) error {
	if userID == "" {
		return fmt.Errorf("%w: sqlstore: empty user ID", sso.ErrInvalidInput)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_mfa_attempts (user_id, failures, last_failure_at, locked_until) VALUES ($1, 0, 0, $2)
		ON CONFLICT (user_id) DO UPDATE SET locked_until = excluded.locked_until
		WHERE ssokit_mfa_attempts.locked_until < excluded.locked_until`, userID, sqlbase.TS(until))
	return sqlbase.Wrap(err)
}

// ResetAttempts implements mfa.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, userID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_attempts WHERE user_id = $1`, userID)
	return sqlbase.Wrap(err)
}
