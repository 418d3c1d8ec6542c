package sqlscim

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var (
	_ scim.StatusStore = (*Store)(nil)
	_ scim.EventWriter = (*Store)(nil)
)

// TouchSCIMToken implements scim.StatusStore: one conditional UPDATE of
// the token's last_used_at column alone, so it never undoes a concurrent
// rotation or revocation.
func (s *Store) TouchSCIMToken(ctx context.Context, orgID, tokenID string, at time.Time, minGap time.Duration) error {
	_, err := s.db.ExecContext(ctx, `UPDATE ssokit_scim_tokens SET last_used_at = $3
		WHERE id = $1 AND org_id = $2 AND last_used_at < $4`, tokenID, orgID, sqlbase.TS(at), sqlbase.TS(at.Add(-minGap)))
	return sqlbase.Wrap(err)
}

// RecordSCIMFailure implements scim.StatusStore: one upsert into the
// organization's ring of keep slots.
func (s *Store) RecordSCIMFailure(ctx context.Context, orgID string, f scim.SyncFailure, keep int) error {
	if keep <= 0 {
		return fmt.Errorf("sqlstore: scim failures: keep %d: %w", keep, sso.ErrInvalidInput)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_scim_sync_failures (org_id, slot, seq, failed_at, status, reason, method, route)
		SELECT $1, (COALESCE(MAX(seq), 0) + 1) % CAST($2 AS BIGINT), COALESCE(MAX(seq), 0) + 1,
			CAST($3 AS BIGINT), CAST($4 AS INTEGER), CAST($5 AS TEXT), CAST($6 AS TEXT), CAST($7 AS TEXT)
		FROM ssokit_scim_sync_failures WHERE org_id = $1
		ON CONFLICT (org_id, slot) DO UPDATE SET seq = excluded.seq, failed_at = excluded.failed_at,
			status = excluded.status, reason = excluded.reason, method = excluded.method, route = excluded.route`,
		orgID, keep, sqlbase.TS(f.At), f.Status, f.Reason, f.Method, f.Route)
	return sqlbase.Wrap(err)
}

// SCIMSyncStatus implements scim.StatusStore.
func (s *Store) SCIMSyncStatus(ctx context.Context, orgID string) (*scim.SyncStatus, error) {
	st := &scim.SyncStatus{}
	if err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM ssokit_scim_users WHERE org_id = $1 AND NOT deleted),
		(SELECT COUNT(*) FROM ssokit_scim_groups WHERE org_id = $1)`, orgID).Scan(&st.Users, &st.Groups); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	toks, err := sqlbase.Collect(ctx, s.db, func(r sqlbase.Scanner) (*scim.TokenUse, error) {
		var t scim.TokenUse
		var last int64
		if err := r.Scan(&t.TokenID, &last); err != nil {
			return nil, err
		}
		t.LastUsedAt = sqlbase.FromTS(last)
		return &t, nil
	}, `SELECT id, last_used_at FROM ssokit_scim_tokens WHERE org_id = $1 AND revoked_at = 0 ORDER BY created_at DESC, id`, orgID)
	if err != nil {
		return nil, err
	}
	for _, t := range toks {
		st.Tokens = append(st.Tokens, *t)
	}
	fails, err := sqlbase.Collect(ctx, s.db, func(r sqlbase.Scanner) (*scim.SyncFailure, error) {
		var f scim.SyncFailure
		var at int64
		if err := r.Scan(&at, &f.Status, &f.Reason, &f.Method, &f.Route); err != nil {
			return nil, err
		}
		f.At = sqlbase.FromTS(at)
		return &f, nil
	}, `SELECT failed_at, status, reason, method, route FROM ssokit_scim_sync_failures WHERE org_id = $1 ORDER BY seq DESC`, orgID)
	if err != nil {
		return nil, err
	}
	for _, f := range fails {
		st.Failures = append(st.Failures, *f)
	}
	return st, nil
}
