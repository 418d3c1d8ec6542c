package sqlsaml

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ saml.EndpointClaimer = (*Store)(nil)

// ClaimEndpointPath implements saml.EndpointClaimer: one upsert that only
// refreshes the claim's own connection, then a read of the holder; the
// path's primary key lets exactly one of concurrent claimers in.
func (s *Store) ClaimEndpointPath(ctx context.Context, path, connectionID string, at time.Time) (*saml.EndpointClaim, error) {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_saml_endpoint_paths (path, connection_id, claimed_at) VALUES ($1, $2, $3)
ON CONFLICT (path) DO UPDATE SET claimed_at = excluded.claimed_at
WHERE ssokit_saml_endpoint_paths.connection_id = excluded.connection_id`, path, connectionID, sqlbase.TS(at))
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	c := saml.EndpointClaim{Path: path}
	var claimed int64
	if err := s.db.QueryRowContext(ctx, `SELECT connection_id, claimed_at FROM ssokit_saml_endpoint_paths WHERE path = $1`, path).
		Scan(&c.ConnectionID, &claimed); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	c.ClaimedAt = sqlbase.FromTS(claimed)
	if c.ConnectionID != connectionID {
		return &c, fmt.Errorf("sqlsaml: path %q is claimed by connection %s: %w", path, c.ConnectionID, sso.ErrConflict)
	}
	return &c, nil
}

// TransferEndpointPath implements saml.EndpointClaimer with one
// conditional UPDATE.
func (s *Store) TransferEndpointPath(ctx context.Context, path, from, to string, before, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE ssokit_saml_endpoint_paths SET connection_id = $1, claimed_at = $2
WHERE path = $3 AND connection_id = $4 AND claimed_at <= $5`, to, sqlbase.TS(at), path, from, sqlbase.TS(before))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return sqlbase.Wrap(err)
	} else if n != 1 {
		return fmt.Errorf("sqlsaml: path %q is no longer claimed by %s as it was: %w", path, from, sso.ErrConflict)
	}
	return nil
}

// ReleaseEndpointPaths implements saml.EndpointClaimer.
func (s *Store) ReleaseEndpointPaths(ctx context.Context, connectionID string, keep []string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT path FROM ssokit_saml_endpoint_paths WHERE connection_id = $1`, connectionID)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	var drop []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return sqlbase.Wrap(err)
		}
		if !slices.Contains(keep, p) {
			drop = append(drop, p)
		}
	}
	if err := rows.Close(); err != nil {
		return sqlbase.Wrap(err)
	}
	if err := rows.Err(); err != nil {
		return sqlbase.Wrap(err)
	}
	for _, p := range drop {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_saml_endpoint_paths WHERE path = $1 AND connection_id = $2`, p, connectionID); err != nil {
			return sqlbase.Wrap(err)
		}
	}
	return nil
}
