package policy_test

import (
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// tenancyStore is a store that keeps both the core records and sessions.
type tenancyStore interface {
	sso.Store
	session.Store
	session.TokenStore
	session.RevocationStore
}

// tenancyEnv is a real session.Manager and Enforcer on one store, with
// organizations A and B and a user who is a member of both.
type tenancyEnv struct {
	t          *testing.T
	st         tenancyStore
	aud        *audit.Trail
	m          *session.Manager
	en         *policy.Enforcer
	orgA, orgB *sso.Organization
	user       string
}

func tenancyStores() map[string]func(t *testing.T) tenancyStore {
	return map[string]func(t *testing.T) tenancyStore{
		"memstore": func(*testing.T) tenancyStore { return memstore.New() },
		"PostgreSQL": func(t *testing.T) tenancyStore {
			db := testdb.Postgres(t)
			st, err := sqlstore.New(db, sqlstore.Postgres)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
}

func newTenancyEnv(t *testing.T, st tenancyStore) *tenancyEnv {
	t.Helper()
	e := &tenancyEnv{t: t, st: st, user: opaque.NewID("usr_")}
	now := time.Now().UTC()
	e.orgA, e.orgB = e.org("alpha"), e.org("beta")
	if err := st.CreateUser(ctx, &sso.User{ID: e.user, Email: "shared@example.com", EmailVerified: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []*sso.Organization{e.orgA, e.orgB} {
		e.member(o.ID, e.user, false)
	}
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: e.orgA.ID, Protocol: saml.Protocol, Status: sso.ConnectionActive,
		DisplayName: "A's IdP", Config: &saml.ConnectionConfig{IdPEntityID: "https://idp.alpha"}, LastTestOK: now, CreatedAt: now}
	if err := st.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	aud, err := audit.New(audit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	e.aud = aud
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	if e.m, err = session.New(session.Config{Store: st, Tokens: st, Revocations: st, Events: st, Orgs: st, Memberships: st,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test"}); err != nil {
		t.Fatal(err)
	}
	if e.en, err = policy.New(policy.Config{Store: st, Auditor: aud, Revoker: e.m}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *tenancyEnv) org(slug string) *sso.Organization {
	e.t.Helper()
	o := &sso.Organization{ID: opaque.NewID("org_"), Slug: slug + "-" + opaque.NewID(""), Name: slug, CreatedAt: time.Now().UTC()}
	o.Settings.Features = sso.Features{"saml", "oidc", "enforce_sso"}
	if err := e.st.CreateOrg(ctx, o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *tenancyEnv) member(orgID, userID string, breakGlass bool) {
	e.t.Helper()
	if err := e.st.CreateMembership(ctx, &sso.Membership{OrgID: orgID, UserID: userID, Roles: []string{"member"},
		Status: sso.MembershipActive, Source: sso.SourceAdmin, BreakGlass: breakGlass, JoinedAt: time.Now().UTC()}); err != nil {
		e.t.Fatal(err)
	}
}

// signIn is a session of user in org with an access token.
type signIn struct {
	s      *session.Session
	cookie string
	token  string
}

func (e *tenancyEnv) login(user, org string, method sso.AuthMethod) signIn {
	e.t.Helper()
	w := httptest.NewRecorder()
	s, err := e.m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: user, OrgID: org, Method: method, Roles: []string{"member"}})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.m.IssueTokens(ctx, s, session.TokenOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return signIn{s: s, cookie: w.Result().Cookies()[0].Value, token: p.AccessToken}
}

// works reports whether l's session cookie and access token both still
// work, failing the test when only one of them does.
func (e *tenancyEnv) works(l signIn) bool {
	e.t.Helper()
	r := httptest.NewRequest("GET", "https://app.test/me", nil)
	r.Header.Set("Cookie", e.m.CookieName()+"="+l.cookie)
	_, serr := e.m.Current(r)
	if serr != nil && !errors.Is(serr, session.ErrNoSession) {
		e.t.Fatal(serr)
	}
	_, terr := e.m.VerifyAccessToken(ctx, l.token)
	if (serr == nil) != (terr == nil) {
		e.t.Fatalf("session %s: cookie error %v, token error %v", l.s.ID, serr, terr)
	}
	return serr == nil
}

// TestEnforcementEndsOnlyItsOrgSessions is the cross-tenant attack: A's
// admin switches SSO enforcement on with revoke_sessions. A member of A
// who is also a member of B loses their A session and token, and keeps
// their B session and token.
func TestEnforcementEndsOnlyItsOrgSessions(t *testing.T) {
	t.Parallel()
	for name, open := range tenancyStores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTenancyEnv(t, open(t))
			glass := opaque.NewID("usr_")
			if err := e.st.CreateUser(ctx, &sso.User{ID: glass, Email: "root@example.com", CreatedAt: time.Now().UTC()}); err != nil {
				t.Fatal(err)
			}
			e.member(e.orgA.ID, glass, true)
			inA, inB := e.login(e.user, e.orgA.ID, sso.AuthPassword), e.login(e.user, e.orgB.ID, sso.AuthPassword)
			glassA := e.login(glass, e.orgA.ID, sso.AuthPassword)
			res, err := e.en.SetEnforcement(ctx, e.orgA.ID, true, policy.Options{RevokeSessions: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Revoked != 1 {
				t.Fatalf("revoked %d members, want 1", res.Revoked)
			}
			if e.works(inA) {
				t.Fatal("the member's session in A survived A's enforcement")
			}
			if !e.works(inB) {
				t.Fatal("A's enforcement ended the member's session and token in B")
			}
			if !e.works(glassA) {
				t.Fatal("the break-glass member's session ended")
			}
			evs, err := e.st.ListEvents(ctx, sso.EventQuery{OrgID: e.orgB.ID, Type: sso.EventSessionRevoked})
			if err != nil || len(evs) != 0 {
				t.Fatalf("B's audit trail has %d revocations (%v), want none", len(evs), err)
			}
		})
	}
}

// TestMergeEndsOnlyTheMergedOrgsSessions: merging A into B ends the moved
// members' sessions in A; their sessions in a third organization C, which
// the merge is no business of, keep working.
func TestMergeEndsOnlyTheMergedOrgsSessions(t *testing.T) {
	t.Parallel()
	for name, open := range tenancyStores() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTenancyEnv(t, open(t))
			orgC := e.org("gamma")
			e.member(orgC.ID, e.user, false)
			inA, inC := e.login(e.user, e.orgA.ID, sso.AuthPassword), e.login(e.user, orgC.ID, sso.AuthPassword)
			res, err := policy.MergeOrganizations(ctx, e.st, e.aud, e.m, e.orgA.ID, e.orgB.ID)
			if err != nil {
				t.Fatal(err)
			}
			if res.Members != 1 || res.Revoked != 1 {
				t.Fatalf("merge = %+v", res)
			}
			if e.works(inA) {
				t.Fatal("the session in the merged organization survived")
			}
			if !e.works(inC) {
				t.Fatal("the merge of A into B ended the member's session in C")
			}
		})
	}
}

// sessionsOn returns a session.Manager on e's store and clock.
func sessionsOn(t *testing.T, e *ssoenv.Env) *session.Manager {
	t.Helper()
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Store: e.St, Tokens: e.St, Revocations: e.St, Events: e.St, Orgs: e.St, Memberships: e.St,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test", Now: e.Clock})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// envLogin is a user's session with its access token.
type envLogin struct {
	user  string
	token string
}

func envSignIn(t *testing.T, m *session.Manager, user, org string) envLogin {
	t.Helper()
	s, err := m.Issue(httptest.NewRecorder(), httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: user, OrgID: org, Method: sso.AuthPassword, Roles: []string{"member"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.IssueTokens(ctx, s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return envLogin{user: user, token: p.AccessToken}
}

// TestEnforcerRefusesUserWideRevoker: a Revoker that can only end every
// organization's sessions of a user is refused at New.
func TestEnforcerRefusesUserWideRevoker(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	if _, err := policy.New(policy.Config{Store: e.St, Auditor: e.Aud, Revoker: &ssoenv.FakeRevoker{Now: e.Clock}}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("New with a user-wide Revoker = %v, want ErrInvalidConfig", err)
	}
}
