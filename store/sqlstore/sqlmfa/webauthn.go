package sqlmfa

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// webauthnKey is the stored form of a credential ID.
func webauthnKey(id []byte) string { return base64.RawURLEncoding.EncodeToString(id) }

// CreateWebAuthnCredential implements mfa.WebAuthnStore.
func (s *Store) CreateWebAuthnCredential(ctx context.Context, c *mfa.WebAuthnCredential) error {
	if len(c.ID) == 0 || c.UserID == "" {
		return fmt.Errorf("%w: sqlstore: empty credential or user ID", sso.ErrInvalidInput)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_mfa_webauthn_credentials (id, user_id, name, data, sign_count, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		webauthnKey(c.ID), c.UserID, c.Name, string(c.Data), int64(c.SignCount), sqlbase.TS(c.CreatedAt), sqlbase.TS(c.LastUsedAt))
	return sqlbase.Wrap(err)
}

// ListWebAuthnCredentials implements mfa.WebAuthnStore.
func (s *Store) ListWebAuthnCredentials(ctx context.Context, userID string) ([]*mfa.WebAuthnCredential, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, user_id, name, data, sign_count, created_at, last_used_at
		FROM ssokit_mfa_webauthn_credentials WHERE user_id = $1 ORDER BY seq`, userID)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	var out []*mfa.WebAuthnCredential
	for rows.Next() {
		var c mfa.WebAuthnCredential
		var id, data string
		var count, created, used int64
		if err := rows.Scan(&id, &c.UserID, &c.Name, &data, &count, &created, &used); err != nil {
			return nil, sqlbase.Wrap(err)
		}
		if c.ID, err = base64.RawURLEncoding.DecodeString(id); err != nil {
			return nil, fmt.Errorf("sqlstore: corrupt credential ID: %w", err)
		}
		c.Data, c.SignCount, c.CreatedAt, c.LastUsedAt = []byte(data), uint32(count), sqlbase.FromTS(created), sqlbase.FromTS(used)
		out = append(out, &c)
	}
	return out, sqlbase.Wrap(rows.Err())
}

// UpdateWebAuthnUse implements mfa.WebAuthnStore.
func (s *Store) UpdateWebAuthnUse(ctx context.Context, userID string, id []byte, oldCount, newCount uint32, data []byte, at time.Time) error {
	k := webauthnKey(id)
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_mfa_webauthn_credentials SET sign_count = $1, data = $2, last_used_at = $3
		WHERE id = $4 AND user_id = $5 AND sign_count = $6`,
		int64(newCount), string(data), sqlbase.TS(at), k, userID, int64(oldCount))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlbase.Wrap(err)
	} else if n == 1 {
		return nil
	}
	var one int
	err = s.db.QueryRowContext(ctx, `SELECT 1 FROM ssokit_mfa_webauthn_credentials WHERE id = $1 AND user_id = $2`, k, userID).Scan(&one)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return fmt.Errorf("%w: sqlstore: signature counter changed", sso.ErrConflict)
}

// DeleteWebAuthnCredential implements mfa.WebAuthnStore.
func (s *Store) DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_webauthn_credentials WHERE id = $1 AND user_id = $2`, webauthnKey(id), userID)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	return sqlbase.MustAffect(res)
}

// SaveCeremony implements mfa.WebAuthnStore.
func (s *Store) SaveCeremony(ctx context.Context, c *mfa.Ceremony) error {
	if c.ID == "" {
		return fmt.Errorf("%w: sqlstore: empty ceremony ID", sso.ErrInvalidInput)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_mfa_ceremonies WHERE expires_at <= $1`, sqlbase.TS(s.now())); err != nil {
		return sqlbase.Wrap(err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_mfa_ceremonies (id, user_id, session_id, kind, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.UserID, c.SessionID, c.Kind, string(c.Data), sqlbase.TS(c.ExpiresAt))
	return sqlbase.Wrap(err)
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
		return nil, sqlbase.Wrap(err)
	}
	c.Data, c.ExpiresAt = []byte(data), sqlbase.FromTS(exp)
	if !s.now().Before(c.ExpiresAt) {
		return nil, sso.ErrNotFound
	}
	return &c, nil
}
