package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// sealingMigration is the version of migrations/0110_event_sealing.sql,
// which lets events be stored unsealed and sealed in batches.
const sealingMigration = 110

// TestMigrateEventSealing builds an audit trail as the previous release
// wrote it (each event chained at append, the head row updated with it),
// migrates in place, and checks that the old chain still verifies, keeps
// its seqs and hashes, and that new events are sealed after it.
func TestMigrateEventSealing(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(t *testing.T) (*sql.DB, sqlstore.Dialect){
		"sqlite":   func(t *testing.T) (*sql.DB, sqlstore.Dialect) { return testdb.SQLite(t), sqlstore.SQLite },
		"postgres": func(t *testing.T) (*sql.DB, sqlstore.Dialect) { return testdb.Postgres(t), sqlstore.Postgres },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, d := mk(t)
			s, err := sqlstore.New(db, d)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.MigrateTo(ctx, sealingMigration-1); err != nil {
				t.Fatal(err)
			}
			base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			var old []*sso.Event
			for _, org := range []string{"org_1", "org_2", "org_1", "", "org_1"} {
				e := &sso.Event{ID: fmt.Sprintf("old_%d", len(old)), OrgID: org, Time: base.Add(time.Duration(len(old)) * time.Minute),
					Type: sso.EventLoginSucceeded, Actor: sso.Actor{Type: sso.ActorUser, ID: "u"}, Outcome: sso.OutcomeSuccess,
					Details: map[string]string{"k": "v"}}
				var prev *sso.Event
				for _, p := range old {
					if p.OrgID == org {
						prev = p
					}
				}
				e.Chain(prev)
				if _, err := db.ExecContext(ctx, `INSERT INTO ssokit_events (id, org_id, seq, at, type, actor_type, actor_id, target_type, target_id,
					outcome, reason, ip, user_agent, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, '', '', $8, '', '', '', $9, $10, $11)`,
					e.ID, e.OrgID, e.Seq, e.Time.UnixMicro(), e.Type, string(e.Actor.Type), e.Actor.ID, e.Outcome, `{"k":"v"}`, e.PrevHash, e.Hash); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, `INSERT INTO ssokit_event_heads (org_id, seq, hash) VALUES ($1, $2, $3)
					ON CONFLICT (org_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, org, e.Seq, e.Hash); err != nil {
					t.Fatal(err)
				}
				old = append(old, e)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			trail, err := audit.New(audit.Config{Store: s})
			if err != nil {
				t.Fatal(err)
			}
			head, err := trail.Verify(ctx, "org_1")
			if err != nil || head.Seq != 3 || head.Hash != old[4].Hash {
				t.Fatalf("migrated org_1 chain: head %+v, %v; want seq 3 hash %s", head, err, old[4].Hash)
			}
			ok := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			ok(s.AppendEvent(ctx, &sso.Event{ID: "new_1", OrgID: "org_1", Time: base.Add(time.Hour), Type: sso.EventLoginFailed}))
			ok(s.AppendEvent(ctx, &sso.Event{ID: "new_2", OrgID: "", Time: base.Add(time.Hour), Type: sso.EventLoginFailed}))
			if _, err := trail.VerifyAgainst(ctx, "org_1", head); err != nil {
				t.Fatalf("org_1 after a new event: %v", err)
			}
			for org, want := range map[string][]string{"org_1": {"old_0", "old_2", "old_4", "new_1"}, "org_2": {"old_1"}, "": {"old_3", "new_2"}} {
				evs, err := s.ListEvents(ctx, sso.EventQuery{OrgID: org})
				ok(err)
				if err := audit.VerifyChain(evs); err != nil {
					t.Errorf("%q: %v", org, err)
				}
				var got []string
				for _, e := range evs {
					got = append(got, e.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%q: got %v, want %v", org, got, want)
				}
				for _, e := range evs {
					for _, o := range old {
						if o.ID == e.ID && (o.Seq != e.Seq || o.Hash != e.Hash) {
							t.Errorf("%s changed in the migration: seq %d hash %s, was %d %s", e.ID, e.Seq, e.Hash, o.Seq, o.Hash)
						}
					}
				}
			}
		})
	}
}
