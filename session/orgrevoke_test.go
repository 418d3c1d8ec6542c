package session_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// orgGrant is a session of one organization with its API tokens.
type orgGrant struct {
	grant
	refresh string
}

func issueIn(t *testing.T, m *session.Manager, user, org string, method sso.AuthMethod) orgGrant {
	t.Helper()
	w := httptest.NewRecorder()
	s, err := m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: user, OrgID: org, Method: method, Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.IssueTokens(context.Background(), s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return orgGrant{grant: grant{user: user, s: s, cookie: w.Result().Cookies()[0], token: p.AccessToken}, refresh: p.RefreshToken}
}

// alive reports whether g's cookie still names a valid session on m, and
// fails the test unless its refresh family's state agrees.
func alive(t *testing.T, m *session.Manager, tokens session.TokenStore, g orgGrant) bool {
	t.Helper()
	r := httptest.NewRequest("GET", "https://app.test/me", nil)
	r.AddCookie(g.cookie)
	_, err := m.Current(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		t.Fatal(err)
	}
	rt, rerr := tokens.GetRefreshToken(context.Background(), opaque.Hash(g.refresh))
	if rerr != nil {
		t.Fatal(rerr)
	}
	if (err == nil) != rt.RevokedAt.IsZero() {
		t.Fatalf("session %s alive=%v but its refresh family revoked at %v", g.s.ID, err == nil, rt.RevokedAt)
	}
	return err == nil
}

// TestOrgActionEndsOnlyThatOrgsSessions is the cross-tenant attack: a user
// in organizations A and B has a session and API tokens in each (and a
// second session in A signed in another way). A's action ends their
// sessions in A; the session, refresh family and access token of B keep
// working on every replica, while A's access token is refused on the other
// replica as soon as the bus delivers the news.
func TestOrgActionEndsOnlyThatOrgsSessions(t *testing.T) {
	t.Parallel()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			newReplica, _ := be.setup(t)
			ra, rb := newReplica(t), newReplica(t)
			a, b := startReplica(t, ra, ra.bus), startReplica(t, rb, rb.bus)
			waitListening(t, a, b)
			ctx := context.Background()
			user := "u_" + opaque.NewID("")
			inA := issueIn(t, a, user, orgA, sso.AuthPassword)
			inA2 := issueIn(t, a, user, orgA, sso.AuthPasskey)
			inB := issueIn(t, a, user, orgB, sso.AuthPassword)
			for _, g := range []orgGrant{inA, inA2, inB} {
				acceptedOn(t, b, g.grant, "before the revocation")
			}
			// Narrowed to one method: only A's password session ends.
			n, err := a.RevokeOrgSessions(ctx, orgA, user, "test_narrow", sso.AuthPassword)
			if err != nil || n != 1 {
				t.Fatalf("RevokeOrgSessions(A, password) = %d, %v; want 1", n, err)
			}
			if d, ok := refusedWithin(t, b, inA.grant, time.Now(), time.Second); !ok {
				t.Fatalf("A's password token still accepted on B %v after the revocation", d)
			}
			if alive(t, b, rb.cfg.Tokens, inA) || !alive(t, b, rb.cfg.Tokens, inA2) || !alive(t, b, rb.cfg.Tokens, inB) {
				t.Fatal("a method-narrowed revocation in A ended the wrong sessions")
			}
			// A's whole action: every session of the user in A.
			start := time.Now()
			if n, err := a.RevokeOrgSessions(ctx, orgA, user, "test_all"); err != nil || n != 1 {
				t.Fatalf("RevokeOrgSessions(A) = %d, %v; want 1", n, err)
			}
			if d, ok := refusedWithin(t, b, inA2.grant, start, time.Second); !ok {
				t.Fatalf("A's token still accepted on B %v after the revocation", d)
			}
			if alive(t, a, ra.cfg.Tokens, inA2) {
				t.Fatal("A's session survived A's revocation")
			}
			// B's session, refresh family and access token keep working on
			// both replicas.
			for _, m := range []*session.Manager{a, b} {
				acceptedOn(t, m, inB.grant, "B's token after A's revocation")
				if !alive(t, m, rb.cfg.Tokens, inB) {
					t.Fatal("A's revocation ended the user's session in B")
				}
			}
			if _, err := b.VerifyAccessToken(ctx, inB.token); err != nil {
				t.Fatalf("B's token: %v", err)
			}
			// A user-level action still ends everything.
			if err := a.RevokeUser(ctx, user); err != nil {
				t.Fatal(err)
			}
			if alive(t, b, rb.cfg.Tokens, inB) {
				t.Fatal("RevokeUser left the session in B")
			}
		})
	}
}

// TestRevokeOrgSessionsAudit: each ended session is audited in its
// organization with the reason, the method and the acting administrator;
// nothing is recorded in the other organization.
func TestRevokeOrgSessionsAudit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sA := e.sessionFor("alice", orgA)
	e.sessionFor("alice", orgB)
	ctx := sso.WithAuditInfo(context.Background(), sso.AuditInfo{Actor: sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}, IP: "192.0.2.1"})
	if n, err := e.m.RevokeOrgSessions(ctx, orgA, "alice", "sso_enforced"); err != nil || n != 1 {
		t.Fatalf("RevokeOrgSessions = %d, %v", n, err)
	}
	evs := e.events(orgA, sso.EventSessionRevoked)
	if len(evs) != 1 || evs[0].Target.ID != sA.ID || evs[0].Reason != "sso_enforced" || evs[0].Details["method"] != "oidc" ||
		evs[0].Details["user_id"] != "alice" || evs[0].Actor.ID != "usr_admin" || evs[0].IP != "192.0.2.1" {
		t.Fatalf("audit of A = %+v", evs)
	}
	if evs := e.events(orgB, sso.EventSessionRevoked); len(evs) != 0 {
		t.Fatalf("audit of B = %+v, want none", evs)
	}
	if ss, _ := e.m.ListSessions(ctx, orgB, "alice"); len(ss) != 1 {
		t.Fatalf("alice's sessions in B = %+v, want one", ss)
	}
	for _, bad := range [][3]string{{"", "alice", "r"}, {orgA, "", "r"}, {orgA, "alice", ""}} {
		if _, err := e.m.RevokeOrgSessions(ctx, bad[0], bad[1], bad[2]); !errors.Is(err, sso.ErrInvalidInput) {
			t.Fatalf("RevokeOrgSessions(%q) = %v, want ErrInvalidInput", bad, err)
		}
	}
}
