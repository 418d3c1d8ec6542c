package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// BenchmarkListStaleSessions measures the session reconcile's read on
// PostgreSQL in an organization of 20,000 members with a session each,
// ten of them demoted a minute ago without a sync: a Manager's first pass
// (every membership) against a later one (memberships updated since the
// previous pass). BENCHMARKS.md records their ratio. It skips when
// SSOKIT_TEST_POSTGRES is unset.
func BenchmarkListStaleSessions(b *testing.B) {
	const members, demoted = 20000, 10
	ctx := context.Background()
	db := testdb.Postgres(b)
	s, err := New(db, Postgres)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	old, recent := sqlbase.TS(now.Add(-24*time.Hour)), sqlbase.TS(now.Add(-time.Minute))
	for _, q := range []string{
		`INSERT INTO ssokit_memberships (org_id, user_id, roles, status, source, external_id, break_glass, joined_at, updated_at)
			SELECT 'org_b', 'usr_' || i, '["member"]', 'active', 'admin', '', false, $1, $1 FROM generate_series(1, $2) i`,
		`INSERT INTO ssokit_sessions (id, token_hash, user_id, org_id, connection_id, method, roles, mfa, mfa_at, auth_at,
			created_at, last_seen_at, expires_at, idle_timeout, ip, user_agent, idp_session_index, idp_subject, idp_logout_hint)
			SELECT 'ses_' || i, 'hash_' || i, 'usr_' || i, 'org_b', 'conn_b', 'saml', '["member"]', false, 0, $1,
				$1, $1, $1 + 86400000000, 0, '', '', '', '', '' FROM generate_series(1, $2) i`,
	} {
		if _, err := db.ExecContext(ctx, q, old, members); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE ssokit_memberships SET roles = '["viewer"]', updated_at = $1
		WHERE user_id IN (SELECT 'usr_' || i FROM generate_series(1, $2) i)`, recent, demoted); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE ssokit_memberships; ANALYZE ssokit_sessions`); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		since time.Time
	}{{"first-pass", time.Time{}}, {"incremental", now.Add(-10 * time.Minute)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ss, err := s.ListStaleSessions(ctx, c.since, 200)
				if err != nil || len(ss) != demoted {
					b.Fatalf("ListStaleSessions = %d sessions, %v; want %d", len(ss), err, demoted)
				}
			}
		})
	}
}
