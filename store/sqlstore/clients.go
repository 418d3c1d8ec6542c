package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ session.ClientStore = (*Store)(nil)

const clientCols = `id, org_id, name, secret_hash, prev_secret_hash, prev_expires_at, scopes, exchange, created_at, updated_at, disabled_at`

func clientArgs(c *session.APIClient) []any {
	return []any{c.ID, c.OrgID, c.Name, c.SecretHash, c.PrevSecretHash, sqlbase.TS(c.PrevExpiresAt), sessionList(c.Scopes),
		c.Exchange, sqlbase.TS(c.CreatedAt), sqlbase.TS(c.UpdatedAt), sqlbase.TS(c.DisabledAt)}
}

func checkClient(c *session.APIClient) error {
	if c.ID == "" || c.OrgID == "" || c.SecretHash == "" {
		return fmt.Errorf("%w: API client needs an ID, an organization and a secret hash", sso.ErrInvalidInput)
	}
	return nil
}

func scanClient(row sqlbase.Scanner) (*session.APIClient, error) {
	var c session.APIClient
	var prevExp, created, updated, disabled int64
	var scopes string
	if err := row.Scan(&c.ID, &c.OrgID, &c.Name, &c.SecretHash, &c.PrevSecretHash, &prevExp, &scopes, &c.Exchange,
		&created, &updated, &disabled); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	var err error
	if c.Scopes, err = parseSessionList(scopes); err != nil {
		return nil, err
	}
	c.PrevExpiresAt, c.CreatedAt = sqlbase.FromTS(prevExp), sqlbase.FromTS(created)
	c.UpdatedAt, c.DisabledAt = sqlbase.FromTS(updated), sqlbase.FromTS(disabled)
	return &c, nil
}

// CreateClient implements session.ClientStore.
func (s *Store) CreateClient(ctx context.Context, c *session.APIClient) error {
	if err := checkClient(c); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_api_clients (`+clientCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, clientArgs(c)...)
	return sqlbase.Wrap(err)
}

// GetClient implements session.ClientStore.
func (s *Store) GetClient(ctx context.Context, id string) (*session.APIClient, error) {
	return scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientCols+` FROM ssokit_api_clients WHERE id = $1`, id))
}

// UpdateClient implements session.ClientStore. Disabling is final: a
// stored disabled_at is kept whatever c says, so a write from a copy read
// before the client was disabled (a secret rotation, a scope change)
// cannot enable it again. The statement reads the row it updates (on
// PostgreSQL, the version a concurrent disable committed).
func (s *Store) UpdateClient(ctx context.Context, c *session.APIClient) error {
	if err := checkClient(c); err != nil {
		return err
	}
	return s.execAffect(ctx, "API client", `UPDATE ssokit_api_clients SET org_id = $2, name = $3, secret_hash = $4,
		prev_secret_hash = $5, prev_expires_at = $6, scopes = $7, exchange = $8, created_at = $9, updated_at = $10,
		disabled_at = CASE WHEN disabled_at <> 0 THEN disabled_at ELSE $11 END WHERE id = $1`, clientArgs(c)...)
}

var _ session.ConditionalClientUpdater = (*Store)(nil)

// UpdateClientIf implements session.ConditionalClientUpdater: UpdateClient
// whose WHERE also requires the stored updated_at to be prevUpdatedAt, so
// a change committed since the caller's read (which on PostgreSQL the
// UPDATE waits for and then re-checks) makes it write nothing.
func (s *Store) UpdateClientIf(ctx context.Context, c *session.APIClient, prevUpdatedAt time.Time) error {
	if err := checkClient(c); err != nil {
		return err
	}
	err := s.execAffect(ctx, "API client", `UPDATE ssokit_api_clients SET org_id = $2, name = $3, secret_hash = $4,
		prev_secret_hash = $5, prev_expires_at = $6, scopes = $7, exchange = $8, created_at = $9, updated_at = $10,
		disabled_at = CASE WHEN disabled_at <> 0 THEN disabled_at ELSE $11 END WHERE id = $1 AND updated_at = $12`,
		append(clientArgs(c), sqlbase.TS(prevUpdatedAt))...)
	if errors.Is(err, sso.ErrNotFound) {
		// No row matched: the client is gone, or it changed.
		if _, gerr := s.GetClient(ctx, c.ID); gerr == nil {
			return session.ClientChanged(c.ID)
		}
	}
	return err
}

// ListClients implements session.ClientStore.
func (s *Store) ListClients(ctx context.Context, orgID string) ([]*session.APIClient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientCols+` FROM ssokit_api_clients WHERE org_id = $1
		ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	out := []*session.APIClient{}
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, sqlbase.Wrap(rows.Err())
}

// DeleteClient implements session.ClientStore.
func (s *Store) DeleteClient(ctx context.Context, id string) error {
	return s.execAffect(ctx, "API client", `DELETE FROM ssokit_api_clients WHERE id = $1`, id)
}
