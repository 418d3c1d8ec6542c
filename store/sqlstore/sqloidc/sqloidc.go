// Package sqloidc implements oidc.Store (login flows and the replay cache)
// on the database of a sqlstore.Store.
//
//	rp, err := oidc.New(oidc.Config{Store: sqloidc.New(st), Connections: st, ...})
//
// A flow is taken with one DELETE ... RETURNING and a replay key is used
// with one INSERT ... ON CONFLICT DO NOTHING, so of concurrent callers
// exactly one wins, also across replicas.
package sqloidc

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ oidc.Store = (*Store)(nil)

// Store is the OIDC store on a sqlstore.Store's database. It is safe for
// concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// New returns the OIDC store on st's database and clock. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store {
	b := sqlbase.Of(st)
	return &Store{db: b.DB, now: b.Now}
}

// SaveFlow implements oidc.Store.
func (s *Store) SaveFlow(ctx context.Context, f *oidc.Flow) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_oidc_flows (id, browser_hash, connection_id, org_id, issuer,
		redirect_uri, verifier, nonce, return_to, test, require_mfa, acr_values, max_age_seconds, force_authn, created_at, expires_at, step_up)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		f.ID, f.BrowserHash, f.ConnectionID, f.OrgID, f.Issuer, f.RedirectURI, f.Verifier, f.Nonce,
		f.ReturnTo, f.Test, f.RequireMFA, f.ACRValues, int64(f.MaxAge/time.Second), f.ForceAuthn,
		sqlbase.TS(f.CreatedAt), sqlbase.TS(f.ExpiresAt), sso.EncodeStepUp(f.StepUp))
	return sqlbase.Wrap(err)
}

// TakeFlow implements oidc.Store. DELETE ... RETURNING makes the take
// atomic: of concurrent callers only one gets the row.
func (s *Store) TakeFlow(ctx context.Context, id string) (*oidc.Flow, error) {
	var f oidc.Flow
	var created, expires, maxAge int64
	var stepUp string
	err := s.db.QueryRowContext(ctx, `DELETE FROM ssokit_oidc_flows WHERE id = $1
		RETURNING id, browser_hash, connection_id, org_id, issuer, redirect_uri, verifier, nonce, return_to,
		test, require_mfa, acr_values, max_age_seconds, force_authn, created_at, expires_at, step_up`, id).Scan(&f.ID, &f.BrowserHash,
		&f.ConnectionID, &f.OrgID, &f.Issuer, &f.RedirectURI, &f.Verifier, &f.Nonce, &f.ReturnTo, &f.Test,
		&f.RequireMFA, &f.ACRValues, &maxAge, &f.ForceAuthn, &created, &expires, &stepUp)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: take flow: %w", sqlbase.Wrap(err))
	}
	if f.StepUp, err = sso.DecodeStepUp(stepUp); err != nil {
		return nil, err
	}
	f.CreatedAt, f.ExpiresAt = sqlbase.FromTS(created), sqlbase.FromTS(expires)
	f.MaxAge = time.Duration(maxAge) * time.Second
	if !s.now().Before(f.ExpiresAt) {
		return nil, fmt.Errorf("sqlstore: flow expired: %w", sso.ErrNotFound)
	}
	return &f, nil
}

// UseOnce implements oidc.Store. An expired entry for the key is removed
// first; the insert itself is the atomic single-winner step.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ssokit_oidc_replay WHERE replay_key = $1 AND expires_at <= $2`,
		key, sqlbase.TS(s.now())); err != nil {
		return sqlbase.Wrap(err)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO ssokit_oidc_replay (replay_key, expires_at) VALUES ($1, $2) ON CONFLICT (replay_key) DO NOTHING`,
		key, sqlbase.TS(expiresAt))
	if err != nil {
		return sqlbase.Wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: key used: %w", sso.ErrConflict)
	}
	return nil
}

// DeleteExpiredFlows implements oidc.Store.
func (s *Store) DeleteExpiredFlows(ctx context.Context, now time.Time) (int, error) {
	var total int64
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		total = 0
		for _, q := range []string{`DELETE FROM ssokit_oidc_flows WHERE expires_at < $1`, `DELETE FROM ssokit_oidc_replay WHERE expires_at < $1`} {
			res, err := tx.ExecContext(ctx, q, sqlbase.TS(now))
			if err != nil {
				return sqlbase.Wrap(err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return sqlbase.Wrap(err)
			}
			total += n
		}
		return nil
	})
	return int(total), err
}
