package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// TestLoginWriteWaitsForSuspension is the PostgreSQL interleaving the
// membership guard exists for: an administrator's suspension has updated
// the membership and not yet committed when a login's one-statement write
// (read from a snapshot in which the member is active) runs. The write
// must wait for the suspension and see it, not write a session from its
// snapshot that the suspension's revocation, already past, would miss.
func TestLoginWriteWaitsForSuspension(t *testing.T) {
	t.Parallel()
	st, db := teststore.SQLWithDB(t, sqlstore.Postgres, nil)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	org := &sso.Organization{ID: opaque.NewID("org_"), Slug: "acme", Name: "Acme", CreatedAt: now}
	user := &sso.User{ID: opaque.NewID("usr_"), Email: "ada@acme.com", CreatedAt: now}
	m := &sso.Membership{OrgID: org.ID, UserID: user.ID, Roles: []string{"admin"}, Status: sso.MembershipActive,
		Source: sso.SourceJIT, JoinedAt: now, UpdatedAt: now}
	ident := &sso.Identity{ID: opaque.NewID("idn_"), OrgID: org.ID, ConnectionID: "conn_1", Issuer: "https://idp.example",
		Subject: "sub-1", UserID: user.ID, CreatedAt: now, LastLoginAt: now}
	for _, err := range []error{st.CreateOrg(ctx, org), st.CreateUser(ctx, user), st.CreateMembership(ctx, m), st.CreateIdentity(ctx, ident)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE ssokit_memberships SET status = 'suspended' WHERE org_id = $1 AND user_id = $2`, org.ID, user.ID); err != nil {
		t.Fatal(err)
	}
	s := &session.Session{ID: opaque.NewID("ses_"), TokenHash: opaque.Hash(opaque.NewToken(32)), UserID: user.ID, OrgID: org.ID,
		ConnectionID: "conn_1", Method: "oidc", Roles: []string{"admin"}, AuthAt: now, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour), IdleTimeout: time.Hour}
	ev := &sso.Event{ID: opaque.NewID("evt_"), OrgID: org.ID, Type: sso.EventLoginSucceeded, Time: now,
		Actor: sso.Actor{Type: sso.ActorUser, ID: user.ID}, Outcome: sso.OutcomeSuccess}
	later := *ident
	later.LastLoginAt = now.Add(time.Minute)
	done := make(chan error, 1)
	go func() {
		_, err := st.CreateLoginSession(ctx, s, 5, &sso.LoginWrites{Identity: &later, Event: ev, Member: m})
		done <- err
	}()
	waitForLockWait(t, db)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, sso.ErrMembershipChanged) {
		t.Fatalf("login write across a suspension = %v, want ErrMembershipChanged", err)
	}
	if _, err := st.GetSession(ctx, s.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("the suspended member's session was written: %v", err)
	}
}

// waitForLockWait returns once a login write waits for a row lock, or
// fails the test after ten seconds.
func waitForLockWait(t *testing.T, db *sql.DB) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%mem AS (SELECT 1 FROM ssokit_memberships%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
	}
	t.Fatal("the login write never waited for the suspension's row lock")
}
