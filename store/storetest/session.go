package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// sessionBase is a fixed, microsecond-precise instant every store
// round-trips.
var sessionBase = time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)

func newTestSession(userID string, n int) *session.Session {
	created := sessionBase.Add(time.Duration(n) * time.Second)
	return &session.Session{
		ID: opaque.NewID("ses_"), TokenHash: opaque.Hash(opaque.NewToken(32)), UserID: userID, OrgID: "org_1",
		ConnectionID: "conn_1", Method: sso.AuthMethod("saml"), Roles: []string{"admin", "member"}, MFA: true,
		MFAAt: created, AuthAt: created, CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(24 * time.Hour),
		IdleTimeout: 30 * time.Minute, IP: "192.0.2.1", UserAgent: "storetest/1", IdPSessionIndex: "idx-1",
		IdPSubject: "nameid-" + userID, IdPLogoutHint: "sealed-hint-" + userID,
	}
}

func equalSession(t *testing.T, got, want *session.Session) {
	t.Helper()
	if got.ID != want.ID || got.TokenHash != want.TokenHash || got.UserID != want.UserID || got.OrgID != want.OrgID ||
		got.ConnectionID != want.ConnectionID || got.Method != want.Method || !slices.Equal(got.Roles, want.Roles) ||
		got.MFA != want.MFA || !got.MFAAt.Equal(want.MFAAt) || !got.AuthAt.Equal(want.AuthAt) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.LastSeenAt.Equal(want.LastSeenAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || got.IdleTimeout != want.IdleTimeout || got.IP != want.IP ||
		got.UserAgent != want.UserAgent || got.IdPSessionIndex != want.IdPSessionIndex || got.IdPSubject != want.IdPSubject ||
		got.IdPLogoutHint != want.IdPLogoutHint {
		t.Fatalf("session round trip:\n got %+v\nwant %+v", got, want)
	}
}

func sessionIDs(ss []*session.Session) []string {
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	return ids
}

func runSession(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	open := func(t *testing.T) session.Store { return newStores(t).Sessions }
	t.Run("CreateGetFind", func(t *testing.T) {
		s := open(t)
		want := newTestSession("usr_1", 0)
		if ev, err := s.CreateSession(ctx, want, 5); err != nil || len(ev) != 0 {
			t.Fatalf("CreateSession = %v, %v; want no eviction, nil", ev, err)
		}
		got, err := s.GetSession(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		equalSession(t, got, want)
		got, err = s.FindSession(ctx, want.TokenHash)
		if err != nil {
			t.Fatalf("FindSession: %v", err)
		}
		equalSession(t, got, want)
		got.Roles[0] = "mutated"
		again, _ := s.FindSession(ctx, want.TokenHash)
		if again.Roles[0] != "admin" {
			t.Fatalf("store returned shared Roles slice")
		}
		if _, err := s.GetSession(ctx, "ses_missing"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("GetSession(missing) = %v, want ErrNotFound", err)
		}
		if _, err := s.FindSession(ctx, opaque.Hash("nope")); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("FindSession(missing) = %v, want ErrNotFound", err)
		}
	})
	t.Run("Conflict", func(t *testing.T) {
		s := open(t)
		a := newTestSession("usr_1", 0)
		if _, err := s.CreateSession(ctx, a, 0); err != nil {
			t.Fatal(err)
		}
		dupID := newTestSession("usr_1", 1)
		dupID.ID = a.ID
		if _, err := s.CreateSession(ctx, dupID, 0); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate ID: got %v, want ErrConflict", err)
		}
		dupHash := newTestSession("usr_1", 2)
		dupHash.TokenHash = a.TokenHash
		if _, err := s.CreateSession(ctx, dupHash, 0); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate hash: got %v, want ErrConflict", err)
		}
		if _, err := s.GetSession(ctx, dupHash.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("failed create wrote a session: %v", err)
		}
	})
	t.Run("TouchDelete", func(t *testing.T) {
		s := open(t)
		a := newTestSession("usr_1", 0)
		if _, err := s.CreateSession(ctx, a, 0); err != nil {
			t.Fatal(err)
		}
		seen := a.LastSeenAt.Add(90 * time.Second)
		if err := s.TouchSession(ctx, a.ID, seen); err != nil {
			t.Fatalf("TouchSession: %v", err)
		}
		got, _ := s.FindSession(ctx, a.TokenHash)
		if !got.LastSeenAt.Equal(seen) {
			t.Fatalf("LastSeenAt = %v, want %v", got.LastSeenAt, seen)
		}
		if err := s.TouchSession(ctx, "ses_missing", seen); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("TouchSession(missing) = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, a.ID); err != nil {
			t.Fatalf("DeleteSession: %v", err)
		}
		if _, err := s.FindSession(ctx, a.TokenHash); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("FindSession after delete = %v, want ErrNotFound", err)
		}
		if err := s.DeleteSession(ctx, a.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("second DeleteSession = %v, want ErrNotFound", err)
		}
	})
	t.Run("ListAndLimit", func(t *testing.T) {
		s := open(t)
		if l, err := s.ListUserSessions(ctx, "usr_1"); err != nil || len(l) != 0 {
			t.Fatalf("ListUserSessions(empty) = %v, %v", l, err)
		}
		var all []*session.Session
		for i := 0; i < 3; i++ {
			ss := newTestSession("usr_1", i)
			all = append(all, ss)
			if _, err := s.CreateSession(ctx, ss, 0); err != nil {
				t.Fatal(err)
			}
		}
		other := newTestSession("usr_2", 0)
		if _, err := s.CreateSession(ctx, other, 1); err != nil {
			t.Fatal(err)
		}
		l, err := s.ListUserSessions(ctx, "usr_1")
		if err != nil || !slices.Equal(sessionIDs(l), sessionIDs(all)) {
			t.Fatalf("ListUserSessions = %v, %v; want %v", sessionIDs(l), err, sessionIDs(all))
		}
		// A fourth session with limit 2 ends the two oldest.
		fourth := newTestSession("usr_1", 3)
		ev, err := s.CreateSession(ctx, fourth, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := sessionIDs(all[:2]); !slices.Equal(sessionIDs(ev), want) {
			t.Fatalf("evicted %v, want %v (oldest first)", sessionIDs(ev), want)
		}
		l, _ = s.ListUserSessions(ctx, "usr_1")
		if want := []string{all[2].ID, fourth.ID}; !slices.Equal(sessionIDs(l), want) {
			t.Fatalf("after limit: %v, want %v", sessionIDs(l), want)
		}
		if _, err := s.FindSession(ctx, all[0].TokenHash); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("evicted session still found: %v", err)
		}
		if _, err := s.GetSession(ctx, other.ID); err != nil {
			t.Fatalf("other user's session affected: %v", err)
		}
		// The limit counts the new session's organization only.
		inOrg2 := newTestSession("usr_1", 4)
		inOrg2.OrgID = "org_2"
		ev, err = s.CreateSession(ctx, inOrg2, 1)
		if err != nil || len(ev) != 0 {
			t.Fatalf("session in org_2 with limit 1 evicted %v, %v", sessionIDs(ev), err)
		}
		fifth := newTestSession("usr_1", 5)
		ev, err = s.CreateSession(ctx, fifth, 1)
		if want := []string{all[2].ID, fourth.ID}; err != nil || !slices.Equal(sessionIDs(ev), want) {
			t.Fatalf("evicted %v, %v; want %v (org_1 only)", sessionIDs(ev), err, want)
		}
		if _, err := s.GetSession(ctx, inOrg2.ID); err != nil {
			t.Fatalf("org_2 session ended by org_1's limit: %v", err)
		}
	})
	t.Run("DeleteUserSessions", func(t *testing.T) {
		s := open(t)
		for i := 0; i < 3; i++ {
			if _, err := s.CreateSession(ctx, newTestSession("usr_1", i), 0); err != nil {
				t.Fatal(err)
			}
		}
		other := newTestSession("usr_2", 0)
		if _, err := s.CreateSession(ctx, other, 0); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteUserSessions(ctx, "usr_1")
		if err != nil || n != 3 {
			t.Fatalf("DeleteUserSessions = %d, %v; want 3, nil", n, err)
		}
		if l, _ := s.ListUserSessions(ctx, "usr_1"); len(l) != 0 {
			t.Fatalf("sessions left: %v", sessionIDs(l))
		}
		if _, err := s.FindSession(ctx, other.TokenHash); err != nil {
			t.Fatalf("other user's session affected: %v", err)
		}
	})
	t.Run("ListIdPSessions", func(t *testing.T) { testListIdPSessions(t, open(t)) })
	t.Run("LoginWriter", func(t *testing.T) { testLoginWriter(t, newStores(t)) })
	t.Run("LoginWriterEvictionEvents", func(t *testing.T) { testLoginEvictionEvents(t, newStores(t)) })
	t.Run("LoginWriterMemberGuard", func(t *testing.T) { testLoginMemberGuard(t, newStores(t)) })
	t.Run("LoginWriterOrgGuard", func(t *testing.T) { testLoginOrgGuard(t, newStores(t)) })
}

// testLoginWriter checks the optional one-commit login write: the
// identity's last login, the session and the audit event together, or
// nothing at all when the identity is gone.
func testLoginWriter(t *testing.T, st Stores) {
	lw, isLW := st.Sessions.(session.LoginWriter)
	if !isLW || st.Core == nil {
		t.Skip("the session store does not implement session.LoginWriter (an optional capability)")
	}
	ctx := context.Background()
	recs := seedLogin(t, ctx, st.Core, true)
	ident := *recs.Identity
	ident.LastLoginAt = sessionBase.Add(time.Hour)
	ev := &sso.Event{ID: opaque.NewID("evt_"), OrgID: "org_1", Type: sso.EventLoginSucceeded, Time: sessionBase,
		Actor: sso.Actor{Type: sso.ActorUser, ID: "user_1"}, Outcome: sso.OutcomeSuccess}
	s := newTestSession("user_1", 0)
	w := &sso.LoginWrites{Identity: &ident, Event: ev}
	if _, err := lw.CreateLoginSession(ctx, s, 5, w); err != nil {
		t.Fatalf("CreateLoginSession: %v", err)
	}
	if _, err := st.Sessions.GetSession(ctx, s.ID); err != nil {
		t.Fatalf("session not stored: %v", err)
	}
	got, err := st.Core.GetIdentity(ctx, "org_1", ident.Issuer, ident.Subject)
	if err != nil || !got.LastLoginAt.Equal(ident.LastLoginAt) {
		t.Fatalf("identity after the login = %+v, %v; want LastLoginAt %v", got, err, ident.LastLoginAt)
	}
	evs, err := st.Core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
	if err != nil || len(evs) != 1 || evs[0].ID != ev.ID {
		t.Fatalf("events after the login = %d, %v; want the login's event", len(evs), err)
	}

	// A login whose identity was deleted meanwhile writes nothing.
	gone := ident
	gone.ID = "idn_gone"
	s2 := newTestSession("user_1", 1)
	ev2 := &sso.Event{ID: opaque.NewID("evt_"), OrgID: "org_1", Type: sso.EventLoginSucceeded, Time: sessionBase,
		Actor: sso.Actor{Type: sso.ActorUser, ID: "user_1"}, Outcome: sso.OutcomeSuccess}
	_, err = lw.CreateLoginSession(ctx, s2, 5, &sso.LoginWrites{Identity: &gone, Event: ev2})
	if !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("CreateLoginSession with a deleted identity = %v, want ErrNotFound", err)
	}
	if _, err := st.Sessions.GetSession(ctx, s2.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("a failed login write left its session: %v", err)
	}
	if evs, _ := st.Core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"}); len(evs) != 1 {
		t.Fatalf("a failed login write left its event: %d events", len(evs))
	}

	// Past the limit, the oldest of the user's sessions in the org are
	// evicted with the login write and returned whole, oldest first.
	for n := 2; n <= 3; n++ {
		if _, err := st.Sessions.CreateSession(ctx, newTestSession("user_1", n), 0); err != nil {
			t.Fatal(err)
		}
	}
	s4 := newTestSession("user_1", 4)
	ev4 := &sso.Event{ID: opaque.NewID("evt_"), OrgID: "org_1", Type: sso.EventLoginSucceeded, Time: sessionBase,
		Actor: sso.Actor{Type: sso.ActorUser, ID: "user_1"}, Outcome: sso.OutcomeSuccess}
	before, err := st.Sessions.ListUserSessions(ctx, "user_1")
	if err != nil || len(before) != 3 {
		t.Fatalf("sessions before the evicting login = %d, %v; want 3", len(before), err)
	}
	evicted, err := lw.CreateLoginSession(ctx, s4, 2, &sso.LoginWrites{Identity: &ident, Event: ev4})
	if err != nil {
		t.Fatalf("CreateLoginSession past the limit: %v", err)
	}
	if len(evicted) != 2 {
		t.Fatalf("evicted %d sessions, want 2", len(evicted))
	}
	for i, e := range evicted {
		equalSession(t, e, before[i])
	}
	after, err := st.Sessions.ListUserSessions(ctx, "user_1")
	if err != nil || len(after) != 2 || after[1].ID != s4.ID {
		t.Fatalf("sessions after the evicting login = %d, %v; want the newest two", len(after), err)
	}

	// An event that cannot be stored (its ID is taken) undoes the
	// identity update and the session.
	s5 := newTestSession("user_1", 5)
	later := ident
	later.LastLoginAt = sessionBase.Add(2 * time.Hour)
	dup := *ev4
	if _, err := lw.CreateLoginSession(ctx, s5, 5, &sso.LoginWrites{Identity: &later, Event: &dup}); err == nil {
		t.Fatal("CreateLoginSession with a duplicate event ID succeeded")
	}
	if _, err := st.Sessions.GetSession(ctx, s5.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("a failed login write left its session: %v", err)
	}
	if got, _ := st.Core.GetIdentity(ctx, "org_1", ident.Issuer, ident.Subject); got == nil || !got.LastLoginAt.Equal(ident.LastLoginAt) {
		t.Fatalf("a failed login write updated the identity: %+v", got)
	}
}

// testListIdPSessions checks the lookup behind IdP-initiated logout: by
// (connection, subject), by (connection, session index) and by both, never
// crossing connections, and not listing deleted sessions.
func testListIdPSessions(t *testing.T, s session.Store) {
	ctx := context.Background()
	mk := func(user string, n int, conn, idx string) *session.Session {
		ss := newTestSession(user, n)
		ss.ConnectionID, ss.IdPSessionIndex = conn, idx
		if _, err := s.CreateSession(ctx, ss, 0); err != nil {
			t.Fatal(err)
		}
		return ss
	}
	a1 := mk("usr_1", 0, "conn_a", "idx-a1")
	a2 := mk("usr_1", 1, "conn_a", "idx-a2")
	gone := mk("usr_1", 2, "conn_a", "idx-a3")
	b1 := mk("usr_1", 3, "conn_b", "idx-a1") // same subject and index, other connection
	c1 := mk("usr_2", 4, "conn_a", "idx-c1")
	if err := s.DeleteSession(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, conn, sub, idx string
		want                 []string
	}{
		{"subject", "conn_a", "nameid-usr_1", "", []string{a1.ID, a2.ID}},
		{"index", "conn_a", "", "idx-a1", []string{a1.ID}},
		{"both", "conn_a", "nameid-usr_1", "idx-a2", []string{a2.ID}},
		{"both mismatched", "conn_a", "nameid-usr_2", "idx-a2", nil},
		{"other connection", "conn_b", "nameid-usr_1", "", []string{b1.ID}},
		{"other subject", "conn_a", "nameid-usr_2", "", []string{c1.ID}},
		{"unknown", "conn_z", "nameid-usr_1", "", nil},
	} {
		got, err := s.ListIdPSessions(ctx, tc.conn, tc.sub, tc.idx)
		if err != nil {
			t.Fatalf("%s: ListIdPSessions: %v", tc.name, err)
		}
		if !slices.Equal(sessionIDs(got), tc.want) {
			t.Fatalf("%s: ListIdPSessions = %v, want %v", tc.name, sessionIDs(got), tc.want)
		}
	}
	if _, err := s.ListIdPSessions(ctx, "conn_a", "", ""); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("ListIdPSessions without subject and index = %v, want ErrInvalidInput", err)
	}
}

func newTestRefresh(userID, sessionID, family string) *session.RefreshToken {
	return &session.RefreshToken{
		Hash: opaque.Hash(opaque.NewToken(32)), FamilyID: family, UserID: userID, OrgID: "org_1", SessionID: sessionID,
		ClientID: "cli_1", Roles: []string{"member"}, Scopes: []string{"read", "write"},
		CreatedAt: sessionBase, ExpiresAt: sessionBase.Add(7 * 24 * time.Hour),
	}
}

func nextRefresh(old *session.RefreshToken, n int) *session.RefreshToken {
	c := *old
	c.Hash = opaque.Hash(opaque.NewToken(32))
	c.CreatedAt = old.CreatedAt.Add(time.Duration(n) * time.Minute)
	c.UsedAt, c.RevokedAt = time.Time{}, time.Time{}
	return &c
}

func runSessionTokens(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	open := func(t *testing.T) session.TokenStore { return newStores(t).Tokens }
	t.Run("CreateGet", func(t *testing.T) {
		s := open(t)
		rt := newTestRefresh("usr_1", "ses_1", "fam_1")
		if err := s.CreateRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRefreshToken(ctx, rt.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if got.FamilyID != "fam_1" || got.UserID != "usr_1" || got.OrgID != "org_1" || got.SessionID != "ses_1" ||
			got.ClientID != "cli_1" || !slices.Equal(got.Roles, rt.Roles) || !slices.Equal(got.Scopes, rt.Scopes) ||
			!got.CreatedAt.Equal(rt.CreatedAt) || !got.ExpiresAt.Equal(rt.ExpiresAt) || !got.UsedAt.IsZero() || !got.RevokedAt.IsZero() {
			t.Fatalf("round trip: got %+v, want %+v", got, rt)
		}
		if _, err := s.GetRefreshToken(ctx, opaque.Hash("x")); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("missing token: %v, want ErrNotFound", err)
		}
		dup := newTestRefresh("usr_1", "ses_1", "fam_2")
		dup.Hash = rt.Hash
		if err := s.CreateRefreshToken(ctx, dup); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate hash: %v, want ErrConflict", err)
		}
		if err := s.CreateRefreshToken(ctx, newTestRefresh("usr_1", "ses_1", "fam_1")); !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("duplicate family: %v, want ErrConflict", err)
		}
	})
	t.Run("Rotate", func(t *testing.T) {
		s := open(t)
		rt1 := newTestRefresh("usr_1", "ses_1", "fam_1")
		if err := s.CreateRefreshToken(ctx, rt1); err != nil {
			t.Fatal(err)
		}
		rt2 := nextRefresh(rt1, 1)
		if err := s.RotateRefreshToken(ctx, rt1.Hash, rt2); err != nil {
			t.Fatalf("rotate: %v", err)
		}
		old, _ := s.GetRefreshToken(ctx, rt1.Hash)
		if !old.UsedAt.Equal(rt2.CreatedAt) {
			t.Fatalf("old UsedAt = %v, want %v", old.UsedAt, rt2.CreatedAt)
		}
		got, err := s.GetRefreshToken(ctx, rt2.Hash)
		if err != nil || got.FamilyID != "fam_1" || !got.UsedAt.IsZero() {
			t.Fatalf("new token = %+v, %v", got, err)
		}
		if err := s.RotateRefreshToken(ctx, rt1.Hash, nextRefresh(rt1, 2)); !errors.Is(err, session.ErrTokenUsed) {
			t.Fatalf("second rotation of rt1: %v, want ErrTokenUsed", err)
		}
		if err := s.RotateRefreshToken(ctx, opaque.Hash("x"), nextRefresh(rt1, 3)); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("rotation of unknown token: %v, want ErrNotFound", err)
		}
	})
	t.Run("RevokeFamily", func(t *testing.T) {
		s := open(t)
		rt1 := newTestRefresh("usr_1", "ses_1", "fam_1")
		other := newTestRefresh("usr_1", "ses_1", "fam_2")
		for _, rt := range []*session.RefreshToken{rt1, other} {
			if err := s.CreateRefreshToken(ctx, rt); err != nil {
				t.Fatal(err)
			}
		}
		rt2 := nextRefresh(rt1, 1)
		if err := s.RotateRefreshToken(ctx, rt1.Hash, rt2); err != nil {
			t.Fatal(err)
		}
		at := sessionBase.Add(time.Hour)
		if err := s.RevokeFamily(ctx, "fam_1", at); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{rt1.Hash, rt2.Hash} {
			got, err := s.GetRefreshToken(ctx, h)
			if err != nil || !got.RevokedAt.Equal(at) {
				t.Fatalf("token of revoked family: %+v, %v; want RevokedAt %v", got, err, at)
			}
		}
		if err := s.RotateRefreshToken(ctx, rt2.Hash, nextRefresh(rt2, 2)); !errors.Is(err, session.ErrTokenRevoked) {
			t.Fatalf("rotation in revoked family: %v, want ErrTokenRevoked", err)
		}
		if got, _ := s.GetRefreshToken(ctx, other.Hash); !got.RevokedAt.IsZero() {
			t.Fatal("another family was revoked")
		}
		if err := s.RevokeFamily(ctx, "fam_1", at.Add(time.Hour)); err != nil {
			t.Fatalf("revoking twice: %v", err)
		}
		if got, _ := s.GetRefreshToken(ctx, rt1.Hash); !got.RevokedAt.Equal(at) {
			t.Fatalf("second revocation moved RevokedAt to %v", got.RevokedAt)
		}
		if err := s.RevokeFamily(ctx, "fam_unknown", at); err != nil {
			t.Fatalf("revoking unknown family: %v", err)
		}
	})
	t.Run("RevokeSessionAndUser", func(t *testing.T) {
		s := open(t)
		a := newTestRefresh("usr_1", "ses_1", "fam_a")
		b := newTestRefresh("usr_1", "ses_2", "fam_b")
		c := newTestRefresh("usr_2", "ses_3", "fam_c")
		for _, rt := range []*session.RefreshToken{a, b, c} {
			if err := s.CreateRefreshToken(ctx, rt); err != nil {
				t.Fatal(err)
			}
		}
		revoked := func(h string) bool {
			got, err := s.GetRefreshToken(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			return !got.RevokedAt.IsZero()
		}
		if err := s.RevokeSessionTokens(ctx, "ses_1", sessionBase); err != nil {
			t.Fatal(err)
		}
		if !revoked(a.Hash) || revoked(b.Hash) || revoked(c.Hash) {
			t.Fatal("RevokeSessionTokens revoked the wrong families")
		}
		if err := s.RevokeUserTokens(ctx, "usr_1", sessionBase); err != nil {
			t.Fatal(err)
		}
		if !revoked(b.Hash) || revoked(c.Hash) {
			t.Fatal("RevokeUserTokens revoked the wrong families")
		}
	})
	t.Run("RevokeUser", func(t *testing.T) {
		st := newStores(t)
		if st.Sessions == nil {
			t.Skip("Stores.Sessions not provided")
		}
		ss, ts := st.Sessions, st.Tokens
		var hashes []string
		for i := 0; i < 3; i++ {
			se := newTestSession("usr_1", i)
			if _, err := ss.CreateSession(ctx, se, 0); err != nil {
				t.Fatal(err)
			}
			rt := newTestRefresh("usr_1", se.ID, fmt.Sprintf("fam_%d", i))
			if err := ts.CreateRefreshToken(ctx, rt); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, rt.Hash)
		}
		keep := newTestSession("usr_2", 0)
		if _, err := ss.CreateSession(ctx, keep, 0); err != nil {
			t.Fatal(err)
		}
		keepRT := newTestRefresh("usr_2", keep.ID, "fam_keep")
		if err := ts.CreateRefreshToken(ctx, keepRT); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.DeleteUserSessions(ctx, "usr_1"); err != nil {
			t.Fatal(err)
		}
		if err := ts.RevokeUserTokens(ctx, "usr_1", sessionBase); err != nil {
			t.Fatal(err)
		}
		if l, _ := ss.ListUserSessions(ctx, "usr_1"); len(l) != 0 {
			t.Fatalf("sessions survived: %v", sessionIDs(l))
		}
		for _, h := range hashes {
			if got, _ := ts.GetRefreshToken(ctx, h); got.RevokedAt.IsZero() {
				t.Fatalf("family %s survived", got.FamilyID)
			}
		}
		if got, _ := ts.GetRefreshToken(ctx, keepRT.Hash); !got.RevokedAt.IsZero() {
			t.Fatal("other user's family revoked")
		}
		if _, err := ss.FindSession(ctx, keep.TokenHash); err != nil {
			t.Fatalf("other user's session ended: %v", err)
		}
	})
}

func runSessionRevocations(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	t.Run("SetGet", func(t *testing.T) {
		s := newStores(t).Revocations
		if _, err := s.GetRevocation(ctx, "user:usr_1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("GetRevocation(none) = %v, want ErrNotFound", err)
		}
		far := time.Now().Add(24 * time.Hour)
		at := sessionBase
		if err := s.SetRevocation(ctx, "user:usr_1", at, far); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetRevocation(ctx, "user:usr_1")
		if err != nil || !got.Equal(at) {
			t.Fatalf("GetRevocation = %v, %v; want %v", got, err, at)
		}
		if err := s.SetRevocation(ctx, "user:usr_1", at.Add(-time.Hour), far); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetRevocation(ctx, "user:usr_1"); !got.Equal(at) {
			t.Fatalf("earlier revocation replaced a later one: %v", got)
		}
		later := at.Add(time.Minute)
		if err := s.SetRevocation(ctx, "user:usr_1", later, far); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetRevocation(ctx, "user:usr_1"); !got.Equal(later) {
			t.Fatalf("later revocation = %v, want %v", got, later)
		}
		if _, err := s.GetRevocation(ctx, "user:usr_2"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("other subject: %v, want ErrNotFound", err)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		s := newStores(t).Revocations
		past := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := s.SetRevocation(ctx, "session:ses_1", past.Add(-time.Hour), past); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetRevocation(ctx, "session:ses_1"); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("revocation past its until: %v, want ErrNotFound", err)
		}
	})
}

func runSessionRace(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	t.Run("RefreshSingleWinner", func(t *testing.T) {
		s := newStores(t).Tokens
		rt := newTestRefresh("usr_1", "ses_1", "fam_1")
		if err := s.CreateRefreshToken(ctx, rt); err != nil {
			t.Fatal(err)
		}
		const n = 50
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			errs    = make([]error, n)
			winners []string
			mu      sync.Mutex
		)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				next := nextRefresh(rt, i+1)
				<-start
				errs[i] = s.RotateRefreshToken(ctx, rt.Hash, next)
				if errs[i] == nil {
					mu.Lock()
					winners = append(winners, next.Hash)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil && !errors.Is(err, session.ErrTokenUsed) {
				t.Errorf("goroutine %d: %v, want nil or ErrTokenUsed", i, err)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d rotations won, want exactly 1", len(winners))
		}
		if _, err := s.GetRefreshToken(ctx, winners[0]); err != nil {
			t.Fatalf("winner's token not stored: %v", err)
		}
	})
}

func runSessionSweep(t *testing.T, newStores newStoresFunc) {
	ctx := context.Background()
	t.Run("SweepExpired", func(t *testing.T) {
		st := newStores(t)
		ss, ts := st.Sessions, st.Tokens
		live := newTestSession("usr_1", 0)
		absolute := newTestSession("usr_1", 1)
		absolute.ExpiresAt = sessionBase.Add(time.Minute)
		idle := newTestSession("usr_2", 2)
		idle.IdleTimeout = time.Minute
		for _, s := range []*session.Session{live, absolute, idle} {
			if _, err := ss.CreateSession(ctx, s, 0); err != nil {
				t.Fatal(err)
			}
		}
		liveRT := newTestRefresh("usr_1", live.ID, "fam_live")
		oldRT := newTestRefresh("usr_1", live.ID, "fam_old")
		oldRT.ExpiresAt = sessionBase.Add(time.Minute)
		for _, rt := range []*session.RefreshToken{liveRT, oldRT} {
			if err := ts.CreateRefreshToken(ctx, rt); err != nil {
				t.Fatal(err)
			}
		}
		now := sessionBase.Add(20 * time.Minute)
		n, err := st.Sweeper.SweepExpired(ctx, now)
		if err != nil || n != 2 {
			t.Fatalf("SweepExpired = %d, %v; want 2 sessions", n, err)
		}
		if _, err := ss.GetSession(ctx, live.ID); err != nil {
			t.Fatalf("live session swept: %v", err)
		}
		for _, id := range []string{absolute.ID, idle.ID} {
			if _, err := ss.GetSession(ctx, id); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("expired session %s kept: %v", id, err)
			}
		}
		if _, err := ts.GetRefreshToken(ctx, liveRT.Hash); err != nil {
			t.Fatalf("live refresh token swept: %v", err)
		}
		if _, err := ts.GetRefreshToken(ctx, oldRT.Hash); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("expired refresh token kept: %v", err)
		}
	})
}

// loginEvent is a login's audit event for the LoginWriter tests.
func loginEvent() *sso.Event {
	return &sso.Event{ID: opaque.NewID("evt_"), OrgID: "org_1", Type: sso.EventLoginSucceeded, Time: sessionBase,
		Actor: sso.Actor{Type: sso.ActorUser, ID: "user_1"}, Outcome: sso.OutcomeSuccess}
}

// testLoginEvictionEvents checks that a login write past the session limit
// appends one event per evicted session (LoginWrites.Evicted) with the
// session: IDs derived by sso.EvictionEventID, each naming its session.
func testLoginEvictionEvents(t *testing.T, st Stores) {
	lw, isLW := st.Sessions.(session.LoginWriter)
	if !isLW || st.Core == nil {
		t.Skip("the session store does not implement session.LoginWriter (an optional capability)")
	}
	ctx := context.Background()
	recs := seedLogin(t, ctx, st.Core, true)
	for n := 0; n < 3; n++ {
		if _, err := st.Sessions.CreateSession(ctx, newTestSession("user_1", n), 0); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := &sso.Event{ID: opaque.NewID("evt_"), OrgID: "org_1", Type: "session.limit_exceeded", Time: sessionBase,
		Actor: sso.Actor{Type: sso.ActorSystem}, Target: sso.Target{Type: "session"}, Outcome: sso.OutcomeSuccess,
		Reason: "session_limit", Details: map[string]string{"user_id": "user_1", "limit": "2"}}
	w := &sso.LoginWrites{Identity: recs.Identity, Event: loginEvent(), Member: recs.Membership, Evicted: tmpl}
	evicted, err := lw.CreateLoginSession(ctx, newTestSession("user_1", 9), 2, w)
	if err != nil || len(evicted) != 2 {
		t.Fatalf("CreateLoginSession past the limit = %d evicted, %v; want 2, nil", len(evicted), err)
	}
	evs, err := st.Core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*sso.Event{}
	for _, e := range evs {
		byID[e.ID] = e
	}
	if len(evs) != 3 || byID[w.Event.ID] == nil {
		t.Fatalf("events after the evicting login = %d; want the login's and one per evicted session", len(evs))
	}
	for _, s := range evicted {
		e := byID[sso.EvictionEventID(tmpl.ID, s.ID)]
		if e == nil {
			t.Fatalf("no eviction event %s for session %s", sso.EvictionEventID(tmpl.ID, s.ID), s.ID)
		}
		if e.Type != tmpl.Type || e.Target != (sso.Target{Type: "session", ID: s.ID}) || e.Reason != "session_limit" ||
			e.Details["user_id"] != "user_1" || e.Details["limit"] != "2" || e.Actor.Type != sso.ActorSystem {
			t.Fatalf("eviction event of %s = %+v", s.ID, e)
		}
	}
}

// testLoginMemberGuard checks LoginWrites.Member: the login write happens
// only while the membership is active with the roles the login read;
// otherwise it fails with sso.ErrMembershipChanged and writes nothing.
func testLoginMemberGuard(t *testing.T, st Stores) {
	lw, isLW := st.Sessions.(session.LoginWriter)
	if !isLW || st.Core == nil {
		t.Skip("the session store does not implement session.LoginWriter (an optional capability)")
	}
	ctx := context.Background()
	recs := seedLogin(t, ctx, st.Core, true)
	read := *recs.Membership
	read.Roles = []string{"admin"}
	stored := read
	ok(t, st.Core.UpdateMembership(ctx, &stored))
	refused := func(what string) {
		t.Helper()
		s := newTestSession("user_1", 1)
		later := *recs.Identity
		later.LastLoginAt = sessionBase.Add(3 * time.Hour)
		ev := loginEvent()
		_, err := lw.CreateLoginSession(ctx, s, 5, &sso.LoginWrites{Identity: &later, Event: ev, Member: &read})
		if !errors.Is(err, sso.ErrMembershipChanged) || !errors.Is(err, sso.ErrConflict) {
			t.Fatalf("login write after %s = %v; want ErrMembershipChanged", what, err)
		}
		if _, err := st.Sessions.GetSession(ctx, s.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("login write after %s left its session: %v", what, err)
		}
		if got, _ := st.Core.GetIdentity(ctx, "org_1", later.Issuer, later.Subject); got != nil && got.LastLoginAt.Equal(later.LastLoginAt) {
			t.Fatalf("login write after %s updated the identity", what)
		}
		if evs, _ := st.Core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"}); len(evs) != 0 {
			t.Fatalf("login write after %s left %d events", what, len(evs))
		}
	}
	// Demoted since the login read the membership.
	demoted := read
	demoted.Roles = []string{"member"}
	ok(t, st.Core.UpdateMembership(ctx, &demoted))
	refused("a demotion")
	// Suspended with the same roles.
	suspended := read
	suspended.Status = sso.MembershipSuspended
	ok(t, st.Core.UpdateMembership(ctx, &suspended))
	refused("a suspension")
	// Its break-glass flag turned, the status and roles as read (a local
	// login into an organization enforcing SSO may rest on the flag).
	flagged := read
	flagged.BreakGlass = !read.BreakGlass
	ok(t, st.Core.UpdateMembership(ctx, &flagged))
	refused("a break-glass change")
	// Removed.
	ok(t, st.Core.DeleteMembership(ctx, "org_1", "user_1"))
	refused("a removal")
	// As read: written.
	ok(t, st.Core.CreateMembership(ctx, &read))
	s := newTestSession("user_1", 2)
	if _, err := lw.CreateLoginSession(ctx, s, 5, &sso.LoginWrites{Identity: recs.Identity, Event: loginEvent(), Member: &read}); err != nil {
		t.Fatalf("login write with the membership as read: %v", err)
	}
	if _, err := st.Sessions.GetSession(ctx, s.ID); err != nil {
		t.Fatalf("session not stored: %v", err)
	}
}

// testLoginOrgGuard: a login write naming the organization as the login
// read it (sso.LoginWrites.Org) writes nothing once the organization was
// saved since (SSO enforcement switched on while a password was checked),
// and writes as usual while it is unchanged.
func testLoginOrgGuard(t *testing.T, st Stores) {
	lw, isLW := st.Sessions.(session.LoginWriter)
	if !isLW || st.Core == nil {
		t.Skip("the session store does not implement session.LoginWriter (an optional capability)")
	}
	ctx := context.Background()
	recs := seedLogin(t, ctx, st.Core, true)
	read, err := st.Core.GetOrg(ctx, "org_1")
	ok(t, err)
	saved := *read
	saved.Settings.SSOEnforced, saved.UpdatedAt = true, sso.NextUpdatedAt(read.UpdatedAt, read.UpdatedAt)
	ok(t, st.Core.UpdateOrg(ctx, &saved))
	s := newTestSession("user_1", 1)
	later := *recs.Identity
	later.LastLoginAt = sessionBase.Add(3 * time.Hour)
	_, err = lw.CreateLoginSession(ctx, s, 5, &sso.LoginWrites{Identity: &later, Event: loginEvent(), Member: recs.Membership, Org: read})
	if !errors.Is(err, sso.ErrOrgChanged) || !errors.Is(err, sso.ErrConflict) {
		t.Fatalf("login write after the organization was saved = %v; want ErrOrgChanged", err)
	}
	if _, err := st.Sessions.GetSession(ctx, s.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("login write after the organization was saved left its session: %v", err)
	}
	if got, _ := st.Core.GetIdentity(ctx, "org_1", later.Issuer, later.Subject); got != nil && got.LastLoginAt.Equal(later.LastLoginAt) {
		t.Fatal("login write after the organization was saved updated the identity")
	}
	if evs, _ := st.Core.ListEvents(ctx, sso.EventQuery{OrgID: "org_1"}); len(evs) != 0 {
		t.Fatalf("login write after the organization was saved left %d events", len(evs))
	}
	cur, err := st.Core.GetOrg(ctx, "org_1")
	ok(t, err)
	s = newTestSession("user_1", 2)
	if _, err := lw.CreateLoginSession(ctx, s, 5, &sso.LoginWrites{Identity: recs.Identity, Event: loginEvent(), Member: recs.Membership, Org: cur}); err != nil {
		t.Fatalf("login write with the organization as read: %v", err)
	}
	if _, err := st.Sessions.GetSession(ctx, s.ID); err != nil {
		t.Fatalf("session not stored: %v", err)
	}
}
