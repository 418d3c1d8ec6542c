package session_test

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// BenchmarkReconcileSessionsInRedis measures Manager.Reconcile with the
// memberships on PostgreSQL and the sessions apart in Redis, where it reads
// the changed memberships and each one's sessions: an organization of
// 20,000 members with a session each, ten demoted a minute ago without a
// sync. "incremental" is a later pass (the ten memberships), "every
// membership" a first or hourly pass. BENCHMARKS.md compares them with
// BenchmarkListStaleSessions. It skips unless both SSOKIT_TEST_POSTGRES
// and SSOKIT_TEST_REDIS are set.
func BenchmarkReconcileSessionsInRedis(b *testing.B) {
	const members, demoted = 20000, 10
	if os.Getenv(testdb.RedisEnv) == "" {
		b.Skipf("%s is not set; skipping Redis benchmark", testdb.RedisEnv)
	}
	now := time.Now()
	st, db := teststore.SQLWithDB(b, sqlstore.Postgres, func() time.Time { return now })
	old, recent := now.Add(-24*time.Hour).UnixMicro(), now.Add(-time.Minute).UnixMicro()
	if _, err := db.ExecContext(ctx, `INSERT INTO ssokit_memberships (org_id, user_id, roles, status, source, external_id,
		break_glass, joined_at, updated_at)
		SELECT 'org_b', 'usr_' || i, '["member"]', 'active', 'admin', '', false, $1, $1 FROM generate_series(1, $2) i`,
		old, members); err != nil {
		b.Fatal(err)
	}
	ss := redisSessionStore(b)
	for i := 1; i <= members; i++ {
		if _, err := ss.CreateSession(ctx, &session.Session{ID: fmt.Sprintf("ses_%d", i), TokenHash: fmt.Sprintf("hash_%d", i),
			UserID: fmt.Sprintf("usr_%d", i), OrgID: "org_b", Method: "saml", Roles: []string{"member"},
			AuthAt: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour)}, 0); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE ssokit_memberships SET roles = '["viewer"]', updated_at = $1
		WHERE user_id IN (SELECT 'usr_' || i FROM generate_series(1, $2) i)`, recent, demoted); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE ssokit_memberships`); err != nil {
		b.Fatal(err)
	}
	newManager := func() *session.Manager {
		m, err := session.New(session.Config{Store: ss, Events: st, Orgs: st, Memberships: st, Now: func() time.Time { return now },
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	m := newManager()
	if n, err := m.Reconcile(ctx); err != nil || n != demoted {
		b.Fatalf("first Reconcile = %d, %v; want %d", n, err, demoted)
	}
	b.Run("incremental", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Reconcile(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("every-membership", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := newManager().Reconcile(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
