package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
)

var _ mfa.Store = (*Store)(nil)

func webauthnKey(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

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
		f.UserID, f.Secret, false, f.LastStep, ts(f.CreatedAt))
	if err != nil {
		return s.wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(err)
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
		return nil, s.wrap(err)
	}
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = fromTS(created), fromTS(confirmed), fromTS(used)
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
		return false, false, s.wrap(err)
	}
	return true, active, nil
}

// ActivateTOTP implements mfa.TOTPStore.
func (s *Store) ActivateTOTP(ctx context.Context, userID, secret string, step int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_mfa_totp SET active = $1, last_step = $2, confirmed_at = $3, last_used_at = $3
		WHERE user_id = $4 AND active = $5 AND secret = $6`, true, step, ts(at), userID, false, secret)
	if err != nil {
		return s.wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(err)
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
		WHERE user_id = $3 AND active = $4 AND last_step < $1`, step, ts(at), userID, true)
	if err != nil {
		return false, s.wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, s.wrap(err)
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
		return s.wrap(err)
	}
	return mustAffect(res)
}

// ReplaceRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error {
	if userID == "" {
		return fmt.Errorf("%w: sqlstore: empty user ID", sso.ErrInvalidInput)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_mfa_recovery_codes WHERE user_id = $1`, userID); err != nil {
			return s.wrap(err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_mfa_recovery_codes (user_id, hash, created_at, used_at) VALUES ($1, $2, $3, 0)`,
				userID, h, ts(at)); err != nil {
				return s.wrap(err)
			}
		}
		return nil
	})
}

// UseRecoveryCode implements mfa.RecoveryStore.
func (s *Store) UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_mfa_recovery_codes SET used_at = $1 WHERE user_id = $2 AND hash = $3 AND used_at = 0`,
		ts(at), userID, hash)
	if err != nil {
		return s.wrap(err)
	}
	return mustAffect(res)
}

// CountRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_mfa_recovery_codes WHERE user_id = $1 AND used_at = 0`, userID).Scan(&n)
	return n, s.wrap(err)
}

// DeleteRecoveryCodes implements mfa.RecoveryStore.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_recovery_codes WHERE user_id = $1`, userID)
	return s.wrap(err)
}

// GetAttempts implements mfa.AttemptStore.
func (s *Store) GetAttempts(ctx context.Context, userID string) (*mfa.Attempts, error) {
	var a mfa.Attempts
	var last, locked int64
	err := s.db.QueryRowContext(ctx, `SELECT user_id, failures, last_failure_at, locked_until FROM ssokit_mfa_attempts WHERE user_id = $1`, userID).
		Scan(&a.UserID, &a.Failures, &last, &locked)
	if err != nil {
		return nil, s.wrap(err)
	}
	a.LastFailureAt, a.LockedUntil = fromTS(last), fromTS(locked)
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
		RETURNING failures`, userID, ts(at), ts(restartBefore)).Scan(&n)
	if err != nil {
		return 0, s.wrap(err)
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
		WHERE ssokit_mfa_attempts.locked_until < excluded.locked_until`, userID, ts(until))
	return s.wrap(err)
}

// ResetAttempts implements mfa.AttemptStore.
func (s *Store) ResetAttempts(ctx context.Context, userID string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_attempts WHERE user_id = $1`, userID)
	return s.wrap(err)
}

// CreateWebAuthnCredential implements mfa.WebAuthnStore.
func (s *Store) CreateWebAuthnCredential(ctx context.Context, c *mfa.WebAuthnCredential) error {
	if len(c.ID) == 0 || c.UserID == "" {
		return fmt.Errorf("%w: sqlstore: empty credential or user ID", sso.ErrInvalidInput)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_mfa_webauthn_credentials (id, user_id, name, data, sign_count, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		webauthnKey(c.ID), c.UserID, c.Name, string(c.Data), int64(c.SignCount), ts(c.CreatedAt), ts(c.LastUsedAt))
	return s.wrap(err)
}

// ListWebAuthnCredentials implements mfa.WebAuthnStore.
func (s *Store) ListWebAuthnCredentials(ctx context.Context, userID string) ([]*mfa.WebAuthnCredential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, name, data, sign_count, created_at, last_used_at
		FROM ssokit_mfa_webauthn_credentials WHERE user_id = $1 ORDER BY seq`, userID)
	if err != nil {
		return nil, s.wrap(err)
	}
	defer rows.Close()
	var out []*mfa.WebAuthnCredential
	for rows.Next() {
		var c mfa.WebAuthnCredential
		var id, data string
		var count, created, used int64
		if err := rows.Scan(&id, &c.UserID, &c.Name, &data, &count, &created, &used); err != nil {
			return nil, s.wrap(err)
		}
		if c.ID, err = base64.RawURLEncoding.DecodeString(id); err != nil {
			return nil, fmt.Errorf("sqlstore: corrupt credential ID: %w", err)
		}
		c.Data, c.SignCount, c.CreatedAt, c.LastUsedAt = []byte(data), uint32(count), fromTS(created), fromTS(used)
		out = append(out, &c)
	}
	return out, s.wrap(rows.Err())
}

// UpdateWebAuthnUse implements mfa.WebAuthnStore.
func (s *Store) UpdateWebAuthnUse(ctx context.Context, userID string, id []byte, oldCount, newCount uint32, data []byte, at time.Time) error {
	k := webauthnKey(id)
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_mfa_webauthn_credentials SET sign_count = $1, data = $2, last_used_at = $3
		WHERE id = $4 AND user_id = $5 AND sign_count = $6`,
		int64(newCount), string(data), ts(at), k, userID, int64(oldCount))
	if err != nil {
		return s.wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM ssokit_mfa_webauthn_credentials WHERE id = $1 AND user_id = $2`, k, userID).Scan(&one)
	if err != nil {
		return s.wrap(err)
	}
	return fmt.Errorf("%w: sqlstore: signature counter changed", sso.ErrConflict)
}

// DeleteWebAuthnCredential implements mfa.WebAuthnStore.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_webauthn_credentials WHERE id = $1 AND user_id = $2`, webauthnKey(id), userID)
	if err != nil {
		return s.wrap(err)
	}
	return mustAffect(res)
}

// SaveCeremony implements mfa.WebAuthnStore.
func (s *Store) SaveCeremony(ctx context.Context, c *mfa.Ceremony) error {
	if c.ID == "" {
		return fmt.Errorf("%w: sqlstore: empty ceremony ID", sso.ErrInvalidInput)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_ceremonies WHERE expires_at <= $1`, ts(s.now())); err != nil {
		return s.wrap(err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_mfa_ceremonies (id, user_id, session_id, kind, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.UserID, c.SessionID, c.Kind, string(c.Data), ts(c.ExpiresAt))
	return s.wrap(err)
}

// TakeCeremony implements mfa.WebAuthnStore.
func (s *Store) TakeCeremony(ctx context.Context, id string) (*mfa.Ceremony, error) {
	var c mfa.Ceremony
	var data string
	var exp int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM ssokit_mfa_ceremonies WHERE id = $1
		RETURNING id, user_id, session_id, kind, data, expires_at`, id).
		Scan(&c.ID, &c.UserID, &c.SessionID, &c.Kind, &data, &exp)
	if err != nil {
		return nil, s.wrap(err)
	}
	c.Data, c.ExpiresAt = []byte(data), fromTS(exp)
	if !s.now().Before(c.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &c, nil
}
