package session_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// TestReconcileEndsSessionsTheMembershipNoLongerAdmits is the missed-sync
// attack: a member loses a role (or is suspended) by a write that no sync
// followed, as when a directory's role removal could neither sync nor
// revoke and its retry found nothing left to change. The member's session
// carries the old role until Reconcile ends it; sessions the membership
// still admits, and the member's session in another organization, stay.
func TestReconcileEndsSessionsTheMembershipNoLongerAdmits(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		now := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
		st := teststore.OpenLogin(t, backend, func() time.Time { return now })
		for _, id := range []string{orgA, orgB} {
			if err := st.CreateOrg(ctx, &sso.Organization{ID: id, Slug: id[4:], Name: id, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		members := []*sso.Membership{
			{OrgID: orgA, UserID: "alice", Roles: []string{"admin", "member"}},
			{OrgID: orgB, UserID: "alice", Roles: []string{"viewer"}},
			{OrgID: orgA, UserID: "bob", Roles: []string{"member"}},
		}
		for _, m := range members {
			if err := st.CreateUser(ctx, &sso.User{ID: m.UserID, Email: m.UserID + "@example.com", CreatedAt: now}); err != nil &&
				!errors.Is(err, sso.ErrConflict) {
				t.Fatal(err)
			}
			m.Status, m.Source, m.JoinedAt, m.UpdatedAt = sso.MembershipActive, sso.SourceAdmin, now, now
			if err := st.CreateMembership(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		m, err := session.New(session.Config{Store: st, Events: st, Orgs: st, Memberships: st,
			Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		issue := func(mem *sso.Membership) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			if _, err := m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil), &sso.SessionGrant{
				UserID: mem.UserID, OrgID: mem.OrgID, Method: sso.AuthMethod("saml"), Roles: mem.Roles}); err != nil {
				t.Fatal(err)
			}
			return w
		}
		aliceA, aliceB, bobA := issue(members[0]), issue(members[1]), issue(members[2])
		live := func(w *httptest.ResponseRecorder) bool {
			r := httptest.NewRequest("GET", "https://app.test/me", nil)
			r.AddCookie(w.Result().Cookies()[0])
			_, err := m.Current(r)
			if err != nil && !errors.Is(err, session.ErrNoSession) {
				t.Fatal(err)
			}
			return err == nil
		}
		reconcile := func(want int) {
			t.Helper()
			if n, err := m.Reconcile(ctx); err != nil || n != want {
				t.Fatalf("Reconcile = %d, %v; want %d", n, err, want)
			}
		}

		reconcile(0) // every session is admitted
		// alice loses admin in A by a write no sync followed.
		now = now.Add(time.Minute)
		alice, err := st.GetMembership(ctx, orgA, "alice")
		if err != nil {
			t.Fatal(err)
		}
		alice.Roles, alice.UpdatedAt = []string{"member"}, now
		if err := st.UpdateMembership(ctx, alice); err != nil {
			t.Fatal(err)
		}
		lister := any(st).(session.StaleSessionLister)
		if ss, err := lister.ListStaleSessions(ctx, now.Add(time.Second), 10); err != nil || len(ss) != 0 {
			t.Fatalf("ListStaleSessions after the change = %d sessions, %v; want none", len(ss), err)
		}
		reconcile(1)
		if live(aliceA) || !live(aliceB) || !live(bobA) {
			t.Fatalf("after alice's demotion in A: alive A=%v B=%v bob=%v; want false true true", live(aliceA), live(aliceB), live(bobA))
		}
		evs, err := st.ListEvents(ctx, sso.EventQuery{OrgID: orgA, Type: sso.EventSessionRevoked, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].Reason != session.ReasonMembershipChanged || evs[0].Details["user_id"] != "alice" ||
			evs[0].Actor.Type != sso.ActorSystem {
			t.Fatalf("revocation events: %+v, %v", evs, err)
		}

		// A new session with the roles alice holds now is admitted.
		aliceA = issue(&sso.Membership{OrgID: orgA, UserID: "alice", Roles: []string{"member"}})
		reconcile(0)
		if !live(aliceA) {
			t.Fatal("Reconcile ended a session its membership admits")
		}

		// bob is suspended the same way.
		now = now.Add(time.Minute)
		bob, err := st.GetMembership(ctx, orgA, "bob")
		if err != nil {
			t.Fatal(err)
		}
		bob.Status, bob.UpdatedAt = sso.MembershipSuspended, now
		if err := st.UpdateMembership(ctx, bob); err != nil {
			t.Fatal(err)
		}
		reconcile(1)
		if live(bobA) || !live(aliceA) || !live(aliceB) {
			t.Fatal("bob's suspension: wrong sessions ended")
		}
	})
}
