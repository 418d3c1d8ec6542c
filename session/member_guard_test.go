package session_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/redisstore"
)

// guardRig is a session.Manager on a back-end whose login writes can be
// preceded by an administrator's change, and a member of two
// organizations: an admin of org_a, a viewer of org_b. ss is where its
// sessions are: st itself, or a session store apart.
type guardRig struct {
	st   teststore.LoginStore
	ss   session.Store
	hook interface{ Before(func()) }
	m    *session.Manager
}

var ctx = context.Background()

// The guard rigs besides teststore's back-ends: sessions in a store that
// is not a session.LoginWriter (the Manager confirms a login's reads after
// writing its session), on memstore and on Redis.
const (
	plainSessions = "memstore, sessions apart"
	redisSessions = "memstore, sessions in Redis"
)

// eachGuardRig runs f on a guard rig of every back-end, in parallel
// subtests: teststore.Each's, then sessions kept apart in memory and in
// Redis (skipped with a message when SSOKIT_TEST_REDIS is unset).
func eachGuardRig(t *testing.T, f func(t *testing.T, g *guardRig)) {
	teststore.Each(t, func(t *testing.T, backend string) { f(t, newGuardRig(t, backend)) })
	for _, backend := range []string{plainSessions, redisSessions} {
		t.Run(backend, func(t *testing.T) {
			if backend == redisSessions && os.Getenv(testdb.RedisEnv) == "" {
				t.Skipf("%s is not set; skipping Redis test (e.g. %s=redis://127.0.0.1:6379/0)", testdb.RedisEnv, testdb.RedisEnv)
			}
			t.Parallel()
			f(t, newGuardRig(t, backend))
		})
	}
}

func newGuardRig(t *testing.T, backend string) *guardRig {
	now := time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)
	var st teststore.LoginStore
	var ss session.Store
	var hook interface{ Before(func()) }
	switch backend {
	case plainSessions, redisSessions:
		st = teststore.OpenLogin(t, teststore.Memstore, func() time.Time { return now })
		ss = st
		if backend == redisSessions {
			ss = redisSessionStore(t)
		}
		b := &teststore.BeforeCreateSession{Store: ss}
		ss, hook = b, b
	default:
		st = teststore.OpenLogin(t, backend, func() time.Time { return now })
		b := &teststore.BeforeLoginWrite{LoginStore: st}
		ss, hook = b, b
	}
	for _, id := range []string{orgA, orgB} {
		if err := st.CreateOrg(ctx, &sso.Organization{ID: id, Slug: id[4:], Name: id, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateUser(ctx, &sso.User{ID: "alice", Email: "alice@example.com", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for org, role := range map[string]string{orgA: "admin", orgB: "viewer"} {
		if err := st.CreateMembership(ctx, &sso.Membership{OrgID: org, UserID: "alice", Roles: []string{role},
			Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := session.New(session.Config{Store: ss, Events: st, Orgs: st, Memberships: st,
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &guardRig{st: st, ss: ss, hook: hook, m: m}
}

// redisSessionStore is a Redis session store under a fresh key prefix,
// its keys deleted when the test ends.
func redisSessionStore(t testing.TB) session.Store {
	opts, err := redis.ParseURL(os.Getenv(testdb.RedisEnv))
	if err != nil {
		t.Fatalf("parse %s: %v", testdb.RedisEnv, err)
	}
	rdb := redis.NewClient(opts)
	prefix := "ssokit-test:" + opaque.NewID("") + ":"
	t.Cleanup(func() {
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	st, err := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// member reads alice's membership of org.
func (g *guardRig) member(t *testing.T, org string) *sso.Membership {
	t.Helper()
	mem, err := g.st.GetMembership(ctx, org, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return mem
}

// editBeforeWrite makes the next login write find alice's membership of
// org edited by f.
func (g *guardRig) editBeforeWrite(t *testing.T, org string, f func(*sso.Membership)) {
	g.hook.Before(func() {
		mem := g.member(t, org)
		f(mem)
		if err := g.st.UpdateMembership(ctx, mem); err != nil {
			t.Error(err)
		}
	})
}

// login issues alice's session in org as a local login does: the grant
// names the membership its roles were copied from.
func (g *guardRig) login(t *testing.T, org string) (*session.Session, *httptest.ResponseRecorder, error) {
	t.Helper()
	mem := g.member(t, org)
	w := httptest.NewRecorder()
	s, err := g.m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil), &sso.SessionGrant{UserID: "alice", OrgID: org,
		Method: sso.AuthPassword, Roles: slices.Clone(mem.Roles), Member: mem})
	return s, w, err
}

// TestIssueSeesMembershipChangeDuringLogin: a demotion, suspension or
// removal committed after a login read the membership and before its
// session is written is never lost: the session carries the roles the
// member holds now, or the login is refused with the membership's state.
func TestIssueSeesMembershipChangeDuringLogin(t *testing.T) {
	t.Parallel()
	eachGuardRig(t, func(t *testing.T, g *guardRig) {
		g.editBeforeWrite(t, orgA, func(m *sso.Membership) { m.Roles = []string{"member"} })
		s, _, err := g.login(t, orgA)
		if err != nil {
			t.Fatalf("login across a demotion: %v", err)
		}
		if stored, err := g.ss.GetSession(ctx, s.ID); err != nil || !slices.Equal(stored.Roles, []string{"member"}) {
			t.Fatalf("session after a demotion = %+v, %v; want roles [member]", stored, err)
		}
		for _, tc := range []struct {
			edit   func(*sso.Membership)
			remove bool
			reason string
		}{
			{edit: func(m *sso.Membership) { m.Status = sso.MembershipSuspended }, reason: "membership_suspended"},
			{edit: func(m *sso.Membership) { m.Status = sso.MembershipDeactivated }, reason: "membership_deactivated"},
			{remove: true, reason: session.ReasonMembershipRemoved},
		} {
			before, _ := g.ss.ListUserSessions(ctx, "alice")
			if tc.remove {
				g.hook.Before(func() {
					if err := g.st.DeleteMembership(ctx, orgA, "alice"); err != nil {
						t.Error(err)
					}
				})
			} else {
				g.editBeforeWrite(t, orgA, tc.edit)
			}
			_, w, err := g.login(t, orgA)
			var ve *sso.ValidationError
			if !errors.As(err, &ve) || ve.Reason != tc.reason || !errors.Is(err, sso.ErrAccessDenied) {
				t.Fatalf("login across a change to %s = %v; want a refusal %q", tc.reason, err, tc.reason)
			}
			if after, _ := g.ss.ListUserSessions(ctx, "alice"); len(after) != len(before) {
				t.Fatalf("a refused login (%s) left a session: %d sessions, had %d", tc.reason, len(after), len(before))
			}
			if len(w.Result().Cookies()) != 0 {
				t.Fatalf("a refused login (%s) set a cookie", tc.reason)
			}
			// Back to an active admin for the next case.
			if tc.remove {
				if err := g.st.CreateMembership(ctx, &sso.Membership{OrgID: orgA, UserID: "alice", Roles: []string{"admin"},
					Status: sso.MembershipActive, Source: sso.SourceAdmin}); err != nil {
					t.Fatal(err)
				}
			} else {
				mem := g.member(t, orgA)
				mem.Status = sso.MembershipActive
				if err := g.st.UpdateMembership(ctx, mem); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestSwitchOrgSeesDemotionDuringSwitch: an organization switch copies
// the target membership's roles; a demotion committed before its session
// is written is carried by the new session.
func TestSwitchOrgSeesDemotionDuringSwitch(t *testing.T) {
	t.Parallel()
	eachGuardRig(t, func(t *testing.T, g *guardRig) {
		// org_b: promote alice, then demote her during the switch.
		mem := g.member(t, orgB)
		mem.Roles = []string{"admin"}
		if err := g.st.UpdateMembership(ctx, mem); err != nil {
			t.Fatal(err)
		}
		_, w, err := g.login(t, orgA)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "https://app.test/switch", nil)
		for _, c := range w.Result().Cookies() {
			r.AddCookie(c)
		}
		g.editBeforeWrite(t, orgB, func(m *sso.Membership) { m.Roles = []string{"viewer"} })
		s, err := g.m.SwitchOrg(httptest.NewRecorder(), r, orgB)
		if err != nil {
			t.Fatalf("switch across a demotion: %v", err)
		}
		if stored, err := g.ss.GetSession(ctx, s.ID); err != nil || !slices.Equal(stored.Roles, []string{"viewer"}) {
			t.Fatalf("session after the switch = %+v, %v; want roles [viewer]", stored, err)
		}
	})
}
