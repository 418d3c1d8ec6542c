package session_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// reconcileRig is a session.Manager whose clock the test moves, on a
// back-end holding the memberships (st) and sessions (in st or apart),
// with members alice (admin and member of org_a, viewer of org_b) and bob
// (member of org_a), and a session for each membership.
type reconcileRig struct {
	st                  teststore.LoginStore
	m                   *session.Manager
	now                 *time.Time
	aliceA, aliceB, bob *httptest.ResponseRecorder
}

// eachReconcileRig runs f on a reconcile rig per back-end, in parallel
// subtests: teststore.Each's, whose stores keep the sessions with the
// memberships (Reconcile reads session.StaleSessionLister), then sessions
// kept apart in memory and in Redis (it reads the changed memberships;
// Redis skipped with a message when SSOKIT_TEST_REDIS is unset).
func eachReconcileRig(t *testing.T, f func(t *testing.T, r *reconcileRig)) {
	eachStoreReconcileRig(t, f)
	for _, backend := range []string{plainSessions, redisSessions} {
		t.Run(backend, func(t *testing.T) {
			if backend == redisSessions && os.Getenv(testdb.RedisEnv) == "" {
				t.Skipf("%s is not set; skipping Redis test (e.g. %s=redis://127.0.0.1:6379/0)", testdb.RedisEnv, testdb.RedisEnv)
			}
			t.Parallel()
			st, now := openReconcileStore(t, teststore.Memstore)
			// Only session.Store's methods: not a StaleSessionLister.
			var ss session.Store = struct{ session.Store }{st}
			if backend == redisSessions {
				ss = redisSessionStore(t)
			}
			f(t, newReconcileRig(t, st, ss, now))
		})
	}
}

// eachStoreReconcileRig runs f on the reconcile rigs whose store keeps
// the sessions with the memberships: teststore.Each's back-ends.
func eachStoreReconcileRig(t *testing.T, f func(t *testing.T, r *reconcileRig)) {
	teststore.Each(t, func(t *testing.T, backend string) {
		st, now := openReconcileStore(t, backend)
		f(t, newReconcileRig(t, st, st, now))
	})
}

func openReconcileStore(t *testing.T, backend string) (teststore.LoginStore, *time.Time) {
	now := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
	return teststore.OpenLogin(t, backend, func() time.Time { return now }), &now
}

func newReconcileRig(t *testing.T, st teststore.LoginStore, ss session.Store, now *time.Time) *reconcileRig {
	t.Helper()
	for _, id := range []string{orgA, orgB} {
		if err := st.CreateOrg(ctx, &sso.Organization{ID: id, Slug: id[4:], Name: id, CreatedAt: *now}); err != nil {
			t.Fatal(err)
		}
	}
	members := []*sso.Membership{
		{OrgID: orgA, UserID: "alice", Roles: []string{"admin", "member"}},
		{OrgID: orgB, UserID: "alice", Roles: []string{"viewer"}},
		{OrgID: orgA, UserID: "bob", Roles: []string{"member"}},
	}
	for _, m := range members {
		if err := st.CreateUser(ctx, &sso.User{ID: m.UserID, Email: m.UserID + "@example.com", CreatedAt: *now}); err != nil &&
			!errors.Is(err, sso.ErrConflict) {
			t.Fatal(err)
		}
		m.Status, m.Source, m.JoinedAt, m.UpdatedAt = sso.MembershipActive, sso.SourceAdmin, *now, *now
		if err := st.CreateMembership(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	m, err := session.New(session.Config{Store: ss, Events: st, Orgs: st, Memberships: st, IdleTimeout: 2 * time.Hour,
		Now: func() time.Time { return *now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := &reconcileRig{st: st, m: m, now: now}
	r.aliceA, r.aliceB, r.bob = r.issue(t, members[0]), r.issue(t, members[1]), r.issue(t, members[2])
	return r
}

// issue starts a session for mem's member in mem's organization with
// mem's roles.
func (r *reconcileRig) issue(t *testing.T, mem *sso.Membership) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	if _, err := r.m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil), &sso.SessionGrant{
		UserID: mem.UserID, OrgID: mem.OrgID, Method: sso.AuthMethod("saml"), Roles: mem.Roles}); err != nil {
		t.Fatal(err)
	}
	return w
}

// live is true while w's session cookie is still a session.
func (r *reconcileRig) live(t *testing.T, w *httptest.ResponseRecorder) bool {
	t.Helper()
	req := httptest.NewRequest("GET", "https://app.test/me", nil)
	req.AddCookie(w.Result().Cookies()[0])
	_, err := r.m.Current(req)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		t.Fatal(err)
	}
	return err == nil
}

// reconcile runs a pass and checks it ended want sessions.
func (r *reconcileRig) reconcile(t *testing.T, want int) {
	t.Helper()
	if n, err := r.m.Reconcile(ctx); err != nil || n != want {
		t.Fatalf("Reconcile = %d, %v; want %d", n, err, want)
	}
}

// change rewrites userID's membership of org with edit, as a host's own
// code would: no sync follows. The update time is set to the clock's
// unless keepTime.
func (r *reconcileRig) change(t *testing.T, org, userID string, keepTime bool, edit func(m *sso.Membership)) {
	t.Helper()
	mem, err := r.st.GetMembership(ctx, org, userID)
	if err != nil {
		t.Fatal(err)
	}
	edit(mem)
	if !keepTime {
		mem.UpdatedAt = *r.now
	}
	if err := r.st.UpdateMembership(ctx, mem); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileEndsSessionsTheMembershipNoLongerAdmits is the missed-sync
// attack: a member loses a role (or is suspended) by a write that no sync
// followed, as when a directory's role removal could neither sync nor
// revoke and its retry found nothing left to change. The member's session
// carries the old role until Reconcile ends it; sessions the membership
// still admits, and the member's session in another organization, stay.
// It holds with the sessions in Redis, apart from the memberships, too.
func TestReconcileEndsSessionsTheMembershipNoLongerAdmits(t *testing.T) {
	t.Parallel()
	eachReconcileRig(t, func(t *testing.T, r *reconcileRig) {
		r.reconcile(t, 0) // every session is admitted
		// alice loses admin in A by a write no sync followed.
		*r.now = r.now.Add(time.Minute)
		r.change(t, orgA, "alice", false, func(m *sso.Membership) { m.Roles = []string{"member"} })
		if lister, ok := r.st.(session.StaleSessionLister); ok {
			if ss, err := lister.ListStaleSessions(ctx, r.now.Add(time.Second), 10); err != nil || len(ss) != 0 {
				t.Fatalf("ListStaleSessions after the change = %d sessions, %v; want none", len(ss), err)
			}
		}
		r.reconcile(t, 1)
		if r.live(t, r.aliceA) || !r.live(t, r.aliceB) || !r.live(t, r.bob) {
			t.Fatalf("after alice's demotion in A: alive A=%v B=%v bob=%v; want false true true",
				r.live(t, r.aliceA), r.live(t, r.aliceB), r.live(t, r.bob))
		}
		evs, err := r.st.ListEvents(ctx, sso.EventQuery{OrgID: orgA, Type: sso.EventSessionRevoked, Limit: 10})
		if err != nil || len(evs) != 1 || evs[0].Reason != session.ReasonMembershipChanged || evs[0].Details["user_id"] != "alice" ||
			evs[0].Actor.Type != sso.ActorSystem {
			t.Fatalf("revocation events: %+v, %v", evs, err)
		}

		// A new session with the roles alice holds now is admitted.
		r.aliceA = r.issue(t, &sso.Membership{OrgID: orgA, UserID: "alice", Roles: []string{"member"}})
		r.reconcile(t, 0)
		if !r.live(t, r.aliceA) {
			t.Fatal("Reconcile ended a session its membership admits")
		}

		// bob is suspended the same way.
		*r.now = r.now.Add(time.Minute)
		r.change(t, orgA, "bob", false, func(m *sso.Membership) { m.Status = sso.MembershipSuspended })
		r.reconcile(t, 1)
		if r.live(t, r.bob) || !r.live(t, r.aliceA) || !r.live(t, r.aliceB) {
			t.Fatal("bob's suspension: wrong sessions ended")
		}
	})
}

// TestReconcileLooksAtEveryMembershipHourly is the same attack by a write
// that kept the membership's old update time (a host's own SQL, say): the
// passes that read only recent changes miss it, and the next pass that
// reads every membership, within the hour, ends the session.
func TestReconcileLooksAtEveryMembershipHourly(t *testing.T) {
	t.Parallel()
	eachReconcileRig(t, func(t *testing.T, r *reconcileRig) {
		r.reconcile(t, 0) // the first pass reads everything
		*r.now = r.now.Add(15 * time.Minute)
		r.reconcile(t, 0) // the next reads changes since 5 minutes after the first
		*r.now = r.now.Add(5 * time.Minute)
		r.change(t, orgB, "alice", true, func(m *sso.Membership) { m.Status = sso.MembershipSuspended })
		r.reconcile(t, 0)
		if !r.live(t, r.aliceB) {
			t.Fatal("a pass of recent changes ended a session of a membership updated before it")
		}
		*r.now = r.now.Add(40 * time.Minute)
		r.reconcile(t, 1)
		if r.live(t, r.aliceB) || !r.live(t, r.aliceA) || !r.live(t, r.bob) {
			t.Fatal("the hourly pass ended the wrong sessions")
		}
	})
}

// TestReconcileEndsSessionsOfDeletedMemberships is the same attack by a
// removal: the host's code deletes bob's membership without ending his
// sessions. No update time is left to read, so the passes of recent
// changes miss it; the next pass over every membership, within the hour,
// ends the session. Sessions kept apart (Redis) are out of its reach:
// their store cannot list them by organization.
func TestReconcileEndsSessionsOfDeletedMemberships(t *testing.T) {
	t.Parallel()
	eachStoreReconcileRig(t, func(t *testing.T, r *reconcileRig) {
		r.reconcile(t, 0)
		*r.now = r.now.Add(5 * time.Minute)
		if err := r.st.DeleteMembership(ctx, orgA, "bob"); err != nil {
			t.Fatal(err)
		}
		r.reconcile(t, 0)
		if !r.live(t, r.bob) {
			t.Fatal("a pass of recent changes ended a session it cannot know is stale")
		}
		*r.now = r.now.Add(time.Hour)
		r.reconcile(t, 1)
		if r.live(t, r.bob) || !r.live(t, r.aliceA) || !r.live(t, r.aliceB) {
			t.Fatal("the hourly pass ended the wrong sessions")
		}
	})
}
