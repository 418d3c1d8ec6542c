package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// issueCookie issues a session for g directly and returns it with a client
// presenting its cookie.
func (e *env) issueCookie(g *sso.SessionGrant) (*session.Session, *http.Client) {
	e.t.Helper()
	rec := httptest.NewRecorder()
	s, err := e.m.Issue(rec, httptest.NewRequest("POST", "/login", nil), g)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == e.m.CookieName() {
			return s, e.withCookie(c.Value)
		}
	}
	e.t.Fatal("no session cookie issued")
	return nil, nil
}

// switchDirect calls SwitchOrg for the client's session and returns the
// error and the new cookie, if any.
func (e *env) switchDirect(c *http.Client, org string) (*session.Session, string, error) {
	e.t.Helper()
	r := httptest.NewRequest("POST", "/switch", nil)
	r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: e.cookie(c)})
	rec := httptest.NewRecorder()
	s, err := e.m.SwitchOrg(rec, r, org)
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == e.m.CookieName() {
			return s, ck.Value, err
		}
	}
	return s, "", err
}

func (e *env) setOrg(id string, f func(o *sso.Organization)) {
	e.t.Helper()
	ctx := context.Background()
	o, err := e.st.GetOrg(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	f(o)
	if err := e.st.UpdateOrg(ctx, o); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) setMember(org, user string, f func(m *sso.Membership)) *sso.Membership {
	e.t.Helper()
	ctx := context.Background()
	m, err := e.st.GetMembership(ctx, org, user)
	if err != nil {
		e.t.Fatal(err)
	}
	f(m)
	if err := e.st.UpdateMembership(ctx, m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// TestTM9_SwitchIntoSSOEnforcedOrgRefused is the org-switch takeover: a
// session authenticated through org A's IdP (which A's admin controls)
// must not enter org B, which enforces SSO, whatever A's IdP asserted
// (MFA included). The refusal names B's policy so the host starts B's
// login, and is audited in B.
func TestTM9_SwitchIntoSSOEnforcedOrgRefused(t *testing.T) {
	e := newEnv(t)
	e.setOrg(orgB, func(o *sso.Organization) {
		o.Settings.SSOEnforced, o.Settings.Features = true, o.Settings.Features.With("enforce_sso")
		o.Settings.MFA.Required, o.Settings.MFA.TrustIdPMFA = true, true
	})
	now := e.clock.Now()
	_, c := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, ConnectionID: "conn_a", Method: sso.AuthMethod("saml"),
		Roles: []string{"admin"}, MFA: true, MFAAt: now, IdPSubject: "alice@a", IdPSessionIndex: "idx"})
	_, newCookie, err := e.switchDirect(c, orgB)
	var se *session.SwitchError
	if !errors.As(err, &se) || se.Reason != "sso_required" || se.OrgID != orgB || !errors.Is(err, sso.ErrSSORequired) {
		t.Fatalf("SwitchOrg into SSO-enforced org = %v, want *SwitchError sso_required wrapping ErrSSORequired", err)
	}
	if newCookie != "" {
		t.Fatal("a refused switch set a new session cookie")
	}
	if st, p := e.me(c); st != http.StatusOK || p.OrgID != orgA {
		t.Fatalf("after refused switch: %d %+v, want the org A session untouched", st, p)
	}
	evs := e.events(orgB, sso.EventLoginFailed)
	if len(evs) != 1 || evs[0].Reason != "org_switch_sso_required" || evs[0].Details["from_org"] != orgA {
		t.Fatalf("org B audit = %+v, want one org_switch_sso_required event", evs)
	}
	// Without the plan feature, enforcement is off and the switch goes
	// through, but as an org_switch session without A's auth facts.
	e.setOrg(orgB, func(o *sso.Organization) { o.Settings.Features = o.Settings.Features.Without("enforce_sso") })
	s, _, err := e.switchDirect(c, orgB)
	if err != nil {
		t.Fatalf("switch into a non-enforcing org: %v", err)
	}
	if s.Method != sso.AuthSwitch || s.MFA || !s.MFAAt.IsZero() || s.ConnectionID != "" || s.IdPSubject != "" ||
		s.IdPSessionIndex != "" || !slices.Equal(s.Roles, []string{"viewer"}) {
		t.Fatalf("switched session = %+v, want org_switch with B's roles and no auth facts of A", s)
	}
}

// TestTM9_SwitchBreakGlassLocalLogin: B's break-glass member who signed in
// with a local credential may enter B under enforcement; a non-break-glass
// member with a local login may not.
func TestTM9_SwitchBreakGlassLocalLogin(t *testing.T) {
	e := newEnv(t)
	e.setOrg(orgB, func(o *sso.Organization) {
		o.Settings.SSOEnforced, o.Settings.Features = true, o.Settings.Features.With("enforce_sso")
	})
	_, c := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthLocal, Roles: []string{"admin"}})
	if _, _, err := e.switchDirect(c, orgB); !errors.Is(err, sso.ErrSSORequired) {
		t.Fatalf("local login, not break-glass: %v, want ErrSSORequired", err)
	}
	e.setMember(orgB, "alice", func(m *sso.Membership) { m.BreakGlass = true })
	s, _, err := e.switchDirect(c, orgB)
	if err != nil {
		t.Fatalf("break-glass local login: %v", err)
	}
	if s.Method != sso.AuthLocal || s.OrgID != orgB || s.MFA {
		t.Fatalf("switched session = %+v, want a local session in B without MFA", s)
	}
}

// TestTM9_SwitchRefusesInactiveMembership checks suspended and missing
// memberships are refused with their reasons.
func TestTM9_SwitchRefusesInactiveMembership(t *testing.T) {
	e := newEnv(t)
	_, c := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthMethod("oidc")})
	e.setMember(orgB, "alice", func(m *sso.Membership) { m.Status = sso.MembershipSuspended })
	var se *session.SwitchError
	if _, _, err := e.switchDirect(c, orgB); !errors.As(err, &se) || se.Reason != "membership_inactive" || !errors.Is(err, sso.ErrForbidden) {
		t.Fatalf("suspended member: %v", err)
	}
	if _, _, err := e.switchDirect(c, "org_unknown"); !errors.As(err, &se) || se.Reason != "not_member" {
		t.Fatalf("non-member: %v", err)
	}
}

// TestTM9_SwitchedSessionIsNotRecentAuth: an org_switch session's AuthAt
// (the login in the other organization) never counts as a recent login
// in the new organization, and the switch never extends the session.
func TestTM9_SwitchedSessionIsNotRecentAuth(t *testing.T) {
	e := newEnv(t)
	orig, c := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthMethod("saml"), ConnectionID: "conn_a"})
	s, cookie, err := e.switchDirect(c, orgB)
	if err != nil {
		t.Fatal(err)
	}
	if s.ExpiresAt.After(orig.ExpiresAt) {
		t.Fatalf("switch extended the session: %v > %v", s.ExpiresAt, orig.ExpiresAt)
	}
	h := e.m.Load(e.m.RequireRecentAuth(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	call := func(v string) int {
		r := httptest.NewRequest("POST", "/sensitive", nil)
		r.AddCookie(&http.Cookie{Name: e.m.CookieName(), Value: v})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	if code := call(e.cookie(c)); code != http.StatusUnauthorized {
		// c's cookie was ended by the switch.
		t.Fatalf("pre-switch cookie: %d, want 401", code)
	}
	if code := call(cookie); code != http.StatusUnauthorized {
		t.Fatalf("fresh org_switch session passed RequireRecentAuth: %d, want 401", code)
	}
	_, fresh := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgB, Method: sso.AuthMethod("saml"), ConnectionID: "conn_b"})
	if code := call(e.cookie(fresh)); code != http.StatusOK {
		t.Fatalf("fresh login in B: %d, want 200", code)
	}
}

// TestTX10_RoleChangeReachesSessionsAndTokens: a demotion reaches the live
// session at once, revokes the refresh family, and stops the access token
// on this replica at once (others within RevocationCacheTTL).
func TestTX10_RoleChangeReachesSessionsAndTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, c := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthMethod("saml"), Roles: []string{"admin"}})
	other, otherC := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgB, Method: sso.AuthMethod("saml"), Roles: []string{"viewer"}})
	pair, err := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	m := e.setMember(orgA, "alice", func(m *sso.Membership) { m.Roles = []string{"member"} })
	if err := e.m.SyncMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.me(c); st != http.StatusUnauthorized {
		t.Fatalf("demoted member's session: %d, want 401", st)
	}
	if _, err := e.m.VerifyAccessToken(ctx, pair.AccessToken); err == nil {
		t.Fatal("demoted member's access token still verifies")
	}
	if _, err := e.m.Refresh(ctx, pair.RefreshToken, session.RefreshOptions{}); err == nil {
		t.Fatal("demoted member's refresh family still mints tokens")
	}
	if st, p := e.me(otherC); st != http.StatusOK || p.OrgID != orgB || other.OrgID != orgB {
		t.Fatalf("session in org B ended by org A's change: %d", st)
	}
	evs := e.events(orgA, sso.EventSessionRevoked)
	if len(evs) == 0 || evs[len(evs)-1].Reason != "membership_changed" {
		t.Fatalf("audit = %+v, want membership_changed", evs)
	}
}

// TestTX10_RefreshMintsLiveRoles: even without a sync call, a refresh
// reads the membership: it never mints a role copied at issue time, and a
// suspended member's family is revoked.
func TestTX10_RefreshMintsLiveRoles(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := e.sessionFor("alice", orgA)
	pair, err := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.setMember(orgA, "alice", func(m *sso.Membership) { m.Roles = []string{"member"} })
	next, err := e.m.Refresh(ctx, pair.RefreshToken, session.RefreshOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := e.m.VerifyAccessToken(ctx, next.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cl.Roles, []string{"member"}) {
		t.Fatalf("refreshed roles = %v, want the membership's [member]", cl.Roles)
	}
	e.setMember(orgA, "alice", func(m *sso.Membership) { m.Status = sso.MembershipSuspended })
	_, err = e.m.Refresh(ctx, next.RefreshToken, session.RefreshOptions{})
	wantReason(t, err, session.ReasonRevoked)
	e.setMember(orgA, "alice", func(m *sso.Membership) { m.Status = sso.MembershipActive })
	if _, err := e.m.Refresh(ctx, next.RefreshToken, session.RefreshOptions{}); err == nil {
		t.Fatal("a family revoked for a suspended member came back on reactivation")
	}
}

// TestTS26_EndIdPSessions: an IdP-initiated logout ends exactly the
// sessions its connection opened for the subject (and session index), in
// its organization, never those of another connection or organization.
func TestTS26_EndIdPSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	grant := func(user, org, conn, sub, idx string) *sso.SessionGrant {
		return &sso.SessionGrant{UserID: user, OrgID: org, ConnectionID: conn, Method: sso.AuthMethod("saml"), IdPSubject: sub, IdPSessionIndex: idx}
	}
	_, a1 := e.issueCookie(grant("alice", orgA, "conn_a", "alice@a", "s1"))
	_, a2 := e.issueCookie(grant("alice", orgA, "conn_a", "alice@a", "s2"))
	_, b1 := e.issueCookie(grant("bob", orgA, "conn_a", "bob@a", "s1"))
	_, x1 := e.issueCookie(grant("alice", orgB, "conn_x", "alice@a", "s1"))
	live := func(c *http.Client) bool { st, _ := e.me(c); return st == http.StatusOK }

	n, err := e.m.EndIdPSessions(ctx, &sso.IdPLogout{OrgID: orgA, ConnectionID: "conn_a", Subject: "alice@a", SessionIndexes: []string{"s1"}})
	if err != nil || n != 1 {
		t.Fatalf("EndIdPSessions(subject, s1) = %d, %v; want 1", n, err)
	}
	if live(a1) || !live(a2) || !live(b1) || !live(x1) {
		t.Fatal("logout by subject+index ended the wrong sessions")
	}
	// A connection of org A cannot end org B's sessions, whatever it names.
	if n, err := e.m.EndIdPSessions(ctx, &sso.IdPLogout{OrgID: orgA, ConnectionID: "conn_x", Subject: "alice@a"}); err != nil || n != 0 || !live(x1) {
		t.Fatalf("cross-organization logout = %d, %v; want nothing ended", n, err)
	}
	n, err = e.m.EndIdPSessions(ctx, &sso.IdPLogout{OrgID: orgA, ConnectionID: "conn_a", Subject: "alice@a"})
	if err != nil || n != 1 || live(a2) || !live(b1) {
		t.Fatalf("EndIdPSessions(subject) = %d, %v; want alice's remaining session ended, bob's kept", n, err)
	}
	// OIDC sid-only logout.
	n, err = e.m.EndIdPSessions(ctx, &sso.IdPLogout{OrgID: orgA, ConnectionID: "conn_a", SessionIndexes: []string{"s1"}})
	if err != nil || n != 1 || live(b1) {
		t.Fatalf("EndIdPSessions(sid) = %d, %v; want bob's session ended", n, err)
	}
	if n, err := e.m.EndIdPSessions(ctx, &sso.IdPLogout{OrgID: orgA, ConnectionID: "conn_a", Subject: "alice@a"}); err != nil || n != 0 {
		t.Fatalf("repeated logout = %d, %v; want 0 ended", n, err)
	}
	if _, err := e.m.EndIdPSessions(ctx, &sso.IdPLogout{ConnectionID: "conn_a"}); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("logout naming nothing = %v, want ErrInvalidInput", err)
	}
}

// TestTS27_SessionNeverOutlivesIdPBound: the SAML SessionNotOnOrAfter caps
// the session's absolute lifetime, and a bound already past is refused.
func TestTS27_SessionNeverOutlivesIdPBound(t *testing.T) {
	e := newEnv(t)
	bound := e.clock.Now().Add(time.Hour)
	s, c := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthMethod("saml"), NotAfter: bound})
	if !s.ExpiresAt.Equal(bound) {
		t.Fatalf("ExpiresAt = %v, want the IdP bound %v", s.ExpiresAt, bound)
	}
	e.clock.Advance(time.Hour)
	if st, _ := e.me(c); st != http.StatusUnauthorized {
		t.Fatalf("session past SessionNotOnOrAfter: %d, want 401", st)
	}
	_, err := e.m.Issue(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil),
		&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthMethod("saml"), NotAfter: e.clock.Now()})
	if !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("Issue past the IdP bound = %v, want ErrInvalidInput", err)
	}
}
