package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ health.Store = (*Store)(nil)

// ClaimHealthCheck implements health.Store with one conditional upsert:
// the row is inserted, or its claim time moved to now only when the stored
// one is before notBefore, so exactly one concurrent caller sees a row
// affected.
func (s *Store) ClaimHealthCheck(ctx context.Context, connID string, now, notBefore time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_health_claims (connection_id, claimed_at) VALUES ($1, $2)
ON CONFLICT (connection_id) DO UPDATE SET claimed_at = excluded.claimed_at
WHERE ssokit_health_claims.claimed_at < $3`, connID, sqlbase.TS(now), sqlbase.TS(notBefore))
	if err != nil {
		return false, sqlbase.Wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, sqlbase.Wrap(err)
	}
	return n == 1, nil
}

// PutHealth implements health.Store.
func (s *Store) PutHealth(ctx context.Context, h *health.Report) error {
	certs, err := json.Marshal(h.Certificates)
	if err != nil {
		return fmt.Errorf("sqlstore: encode certificates: %w", err)
	}
	warn, err := json.Marshal(h.CertificateWarnings)
	if err != nil {
		return fmt.Errorf("sqlstore: encode certificate warnings: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO ssokit_connection_health (connection_id, org_id, protocol, status, reachable,
reason, latency_us, checked_at, last_healthy_at, unhealthy_since, consecutive_failures, key_count, certificates, certificate_warnings)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (connection_id) DO UPDATE SET org_id = excluded.org_id, protocol = excluded.protocol, status = excluded.status,
reachable = excluded.reachable, reason = excluded.reason, latency_us = excluded.latency_us, checked_at = excluded.checked_at,
last_healthy_at = excluded.last_healthy_at, unhealthy_since = excluded.unhealthy_since,
consecutive_failures = excluded.consecutive_failures, key_count = excluded.key_count, certificates = excluded.certificates,
certificate_warnings = excluded.certificate_warnings`,
		h.ConnectionID, h.OrgID, string(h.Protocol), string(h.Status), h.Reachable, h.Reason, h.Latency.Microseconds(),
		sqlbase.TS(h.CheckedAt), sqlbase.TS(h.LastHealthyAt), sqlbase.TS(h.UnhealthySince), h.ConsecutiveFailures, h.Keys, string(certs), string(warn))
	return sqlbase.Wrap(err)
}

// GetHealth implements health.Store.
func (s *Store) GetHealth(ctx context.Context, connID string) (*health.Report, error) {
	var h health.Report
	var protocol, status, certs, warn string
	var latency, checked, healthy, since int64
	err := s.db.QueryRowContext(ctx, `SELECT connection_id, org_id, protocol, status, reachable, reason, latency_us, checked_at,
last_healthy_at, unhealthy_since, consecutive_failures, key_count, certificates, certificate_warnings
FROM ssokit_connection_health WHERE connection_id = $1`, connID).Scan(&h.ConnectionID, &h.OrgID, &protocol, &status,
		&h.Reachable, &h.Reason, &latency, &checked, &healthy, &since, &h.ConsecutiveFailures, &h.Keys, &certs, &warn)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	h.Protocol, h.Status = sso.Protocol(protocol), health.Status(status)
	h.Latency = time.Duration(latency) * time.Microsecond
	h.CheckedAt, h.LastHealthyAt, h.UnhealthySince = sqlbase.FromTS(checked), sqlbase.FromTS(healthy), sqlbase.FromTS(since)
	if err := json.Unmarshal([]byte(certs), &h.Certificates); err != nil {
		return nil, fmt.Errorf("sqlstore: decode certificates: %w", err)
	}
	if err := json.Unmarshal([]byte(warn), &h.CertificateWarnings); err != nil {
		return nil, fmt.Errorf("sqlstore: decode certificate warnings: %w", err)
	}
	return &h, nil
}

// DeleteHealth implements health.Store.
func (s *Store) DeleteHealth(ctx context.Context, connID string) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_connection_health WHERE connection_id = $1`, connID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM ssokit_health_claims WHERE connection_id = $1`, connID)
		return err
	})
}
