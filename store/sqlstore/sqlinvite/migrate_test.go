package sqlinvite_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlinvite"
)

// TestMigratePendingDuplicates: a database an earlier release left with
// several pending invitations of one address in an organization (an
// expired invitation kept the pending status when a new one was sent, and
// a race could store two live ones) migrates: the newest stays pending,
// the others become expired with their token hash, other organizations'
// and settled invitations stay as they were, and a second pending one is
// refused from then on.
func TestMigratePendingDuplicates(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]sqlstore.Dialect{"sqlite": sqlstore.SQLite, "postgres": sqlstore.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var db *sql.DB
			if d == sqlstore.Postgres {
				db = testdb.Postgres(t)
				db.SetMaxOpenConns(4)
			} else {
				db = testdb.SQLite(t)
			}
			st, err := sqlstore.New(db, d)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// The schema as it was before migration 0450.
			for _, q := range []string{`DROP INDEX ssokit_invitations_pending`, `DELETE FROM ssokit_migrations WHERE version = 450`} {
				if _, err := db.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			rows := []struct {
				id, org, status string
				created         time.Time
			}{
				{"i1", "org_a", "pending", t0},
				{"i2", "org_a", "pending", t0.Add(8 * 24 * time.Hour)},
				{"i3", "org_a", "pending", t0.Add(8 * 24 * time.Hour)}, // the race's twin of i2
				{"i4", "org_a", "accepted", t0.Add(time.Hour)},
				{"i5", "org_b", "pending", t0},
			}
			for _, r := range rows {
				if _, err := db.Exec(`INSERT INTO ssokit_invitations (id, org_id, email, roles, token_hash, status, invited_by, accepted_by,
created_at, expires_at, updated_at) VALUES ($1, $2, 'jane@acme.example', '["member"]', $3, $4, 'usr_admin', '', $5, $6, $5)`,
					r.id, r.org, "tok-"+r.id, r.status, r.created.UnixMicro(), r.created.Add(7*24*time.Hour).UnixMicro()); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatalf("migrating duplicates: %v", err)
			}
			is := sqlinvite.New(st)
			want := map[string]invite.Status{"i1": invite.StatusExpired, "i2": invite.StatusExpired, "i3": invite.StatusPending,
				"i4": invite.StatusAccepted, "i5": invite.StatusPending}
			for _, r := range rows {
				got, err := is.FindInvitation(ctx, "tok-"+r.id)
				if err != nil || got.ID != r.id || got.Status != want[r.id] {
					t.Errorf("invitation %s after the migration: %+v, %v; want status %s and its token hash", r.id, got, err, want[r.id])
				}
			}
			again := &invite.Invitation{ID: "i6", OrgID: "org_a", Email: "jane@acme.example", Roles: []string{"member"}, TokenHash: "tok-i6",
				Status: invite.StatusPending, CreatedAt: t0.Add(9 * 24 * time.Hour), ExpiresAt: t0.Add(16 * 24 * time.Hour), UpdatedAt: t0}
			if err := is.CreateInvitation(ctx, again); !errors.Is(err, sso.ErrConflict) {
				t.Errorf("a second live pending invitation after the migration: %v, want ErrConflict", err)
			}
		})
	}
}
