package sqlsaml

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// consumeOnceSQL records the assertion and takes its request in one
// PostgreSQL statement. The replay upsert runs only while the request is
// outstanding and unexpired; the DELETE only when the upsert changed a
// row, so a replayed assertion leaves its request outstanding. The query
// always returns one row: whether the request was live in the statement's
// snapshot, whether the assertion was recorded, and the deleted request's
// columns (NULL when nothing was deleted).
//
// The statement's own transaction commits without waiting for the WAL
// flush (set_config of synchronous_commit, local to it): the login writes
// its session next with a synchronous commit, and PostgreSQL flushes the
// WAL in order, so the session's commit makes this one durable too. A
// login costs one WAL flush instead of two. What a crash of PostgreSQL
// can lose is this statement's effect when no login write followed it
// within wal_writer_delay (200 ms by default): a refused login's request
// and replay record, so that the same response, still bound to its
// browser's cookie, could be posted again and checked again.
const consumeOnceSQL = `WITH live AS (
	SELECT 1 FROM ssokit_saml_requests WHERE id = $1 AND expires_at > $5
), used AS (
	INSERT INTO ssokit_saml_replay (issuer, assertion_id, expires_at)
	SELECT $2, $3, $4 WHERE EXISTS (SELECT 1 FROM live)
	ON CONFLICT (issuer, assertion_id) DO UPDATE SET expires_at = excluded.expires_at
	WHERE ssokit_saml_replay.expires_at <= $5
	RETURNING 1
), taken AS (
	DELETE FROM ssokit_saml_requests WHERE id = $1 AND EXISTS (SELECT 1 FROM used)
	RETURNING id, connection_id, binding_hash, return_to, test, created_at, expires_at, require_mfa, force_authn, max_age_seconds, step_up
)
SELECT (SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL AND EXISTS (SELECT 1 FROM live), EXISTS (SELECT 1 FROM used),
	t.id, t.connection_id, t.binding_hash, t.return_to, t.test, t.created_at, t.expires_at, t.require_mfa, t.force_authn, t.max_age_seconds,
	t.step_up
FROM (SELECT 1) AS one LEFT JOIN taken AS t ON true`

// consumeOnce is ConsumeLogin on PostgreSQL: one statement, so one round
// trip and one commit, which does not wait for the WAL flush. Its
// outcomes are the transaction's: the request (ErrNotFound when it is
// missing or expired, the replay record untouched) or ErrConflict for a live replay record (the request left outstanding).
// Of concurrent consumers of one request exactly one gets it; a loser
// whose own assertion ID was new keeps that ID recorded, which only
// refuses the same assertion again, as a replay it would be.
func (s *Store) consumeOnce(ctx context.Context, requestID, issuer, assertionID string, expiresAt time.Time) (*saml.AuthnRequestState, error) {
	var (
		live, used                  bool
		id, conn, binding, returnTo sql.NullString
		stepUp                      sql.NullString
		test, mfa, force            sql.NullBool
		created, expires, maxAge    sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, consumeOnceSQL, requestID, issuer, assertionID, sqlbase.TS(expiresAt), sqlbase.TS(s.now())).
		Scan(&live, &used, &id, &conn, &binding, &returnTo, &test, &created, &expires, &mfa, &force, &maxAge, &stepUp)
	switch {
	case err != nil:
		return nil, sqlbase.Wrap(err)
	case !live:
		return nil, sso.ErrNotFound
	case !used:
		return nil, fmt.Errorf("%w: sqlstore: assertion already used", sso.ErrConflict)
	case !id.Valid:
		// The assertion was recorded but a concurrent consumer took the
		// request first.
		return nil, sso.ErrNotFound
	}
	su, err := sso.DecodeStepUp(stepUp.String)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: saml request %s: %w", id.String, err)
	}
	return &saml.AuthnRequestState{ID: id.String, ConnectionID: conn.String, BindingHash: binding.String, ReturnTo: returnTo.String,
		Test: test.Bool, CreatedAt: sqlbase.FromTS(created.Int64), ExpiresAt: sqlbase.FromTS(expires.Int64),
		RequireMFA: mfa.Bool, ForceAuthn: force.Bool, MaxAge: time.Duration(maxAge.Int64) * time.Second, StepUp: su}, nil
}
