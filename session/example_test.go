package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/store/memstore"
)

func ExampleNew() {
	db := memstore.New()
	key, err := session.GenerateSigningKey("2030-01", session.ES256)
	if err != nil {
		panic(err)
	}
	m, err := session.New(session.Config{
		Store: db, Tokens: db, Revocations: db, Events: db, Memberships: db, Orgs: db,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.example.com",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.CookieName())
	// Output: __Host-ssokit_session
}

func ExampleManager_Load() {
	db := memstore.New()
	m, _ := session.New(session.Config{Store: db, Events: db})

	// After a verified login, login completion issues the session.
	w := httptest.NewRecorder()
	_ = m.IssueSession(w, httptest.NewRequest("POST", "/acs", nil),
		&sso.SessionGrant{UserID: "usr_1", OrgID: "org_1", Method: sso.AuthMethod("saml")})
	cookie := w.Result().Cookies()[0]

	app := m.Load(m.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := sso.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s of %s", p.UserID, p.OrgID)
	})))

	r := httptest.NewRequest("GET", "/app", nil)
	r.AddCookie(cookie)
	w = httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest("GET", "/app", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 hello usr_1 of org_1
	// 401 {"error":"unauthorized"}
}

func ExampleManager_Refresh() {
	db := memstore.New()
	key, _ := session.GenerateSigningKey("k1", session.EdDSA)
	m, _ := session.New(session.Config{Store: db, Tokens: db, Revocations: db, Events: db, Memberships: db,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.example.com"})
	ctx := context.Background()
	// Refresh mints the member's current roles, so the membership exists.
	_ = db.CreateMembership(ctx, &sso.Membership{OrgID: "org_1", UserID: "usr_1", Roles: []string{"member"}, Status: sso.MembershipActive})
	s, _ := m.Issue(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil),
		&sso.SessionGrant{UserID: "usr_1", OrgID: "org_1"})

	first, _ := m.IssueTokens(ctx, s, session.TokenOptions{ClientID: "cli"})
	second, err := m.Refresh(ctx, first.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	fmt.Println("rotated:", err == nil && second.RefreshToken != first.RefreshToken)

	// Replaying the first refresh token revokes the whole family.
	_, err = m.Refresh(ctx, first.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	fmt.Println(sso.ReasonOf(err))
	_, err = m.Refresh(ctx, second.RefreshToken, session.RefreshOptions{ClientID: "cli"})
	fmt.Println(sso.ReasonOf(err))
	// Output:
	// rotated: true
	// refresh_reused
	// revoked
}

// Two replicas share a store and a bus: a user revoked on one loses API
// access on the other as soon as the news arrives, not when the other's
// cached revocation time expires.
func ExampleManager_Run() {
	db := memstore.New()
	bus := &memstore.Bus{} // sqlnotify.Bus on PostgreSQL, redisstore.Bus on Redis
	key, _ := session.GenerateSigningKey("k1", session.ES256)
	replica := func() *session.Manager {
		m, _ := session.New(session.Config{Store: db, Tokens: db, Revocations: db, Events: db, Memberships: db,
			SigningKeys: []session.SigningKey{key}, Issuer: "https://app.example.com", RevocationBus: bus})
		return m
	}
	a, b := replica(), replica()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)
	go b.Run(ctx)

	s, _ := a.Issue(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil),
		&sso.SessionGrant{UserID: "usr_1", OrgID: "org_1"})
	pair, _ := a.IssueTokens(ctx, s, session.TokenOptions{})
	_, err := b.VerifyAccessToken(ctx, pair.AccessToken)
	fmt.Println("accepted on b:", err == nil)

	_ = a.RevokeUser(ctx, "usr_1") // e.g. a SCIM deactivation handled by replica a
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err = b.VerifyAccessToken(ctx, pair.AccessToken); err != nil {
			break
		}
	}
	fmt.Println("on b:", sso.ReasonOf(err))
	// Output:
	// accepted on b: true
	// on b: revoked
}

// ExampleManager_IdPLogoutHint: the ID token of an OIDC login is kept
// sealed with the session, and read back at logout as the id_token_hint of
// the IdP's end_session_endpoint (oidc.RP.LogoutURL).
func ExampleManager_IdPLogoutHint() {
	db := memstore.New()
	sealer, _ := keyring.New("k1", map[string][]byte{"k1": make([]byte, 32)})
	m, _ := session.New(session.Config{Store: db, Events: db, Sealer: sealer})

	s, _ := m.Issue(httptest.NewRecorder(), httptest.NewRequest("GET", "/sso/oidc/callback/conn_1", nil),
		&sso.SessionGrant{UserID: "usr_1", OrgID: "org_1", ConnectionID: "conn_1", Method: sso.AuthMethod("oidc"),
			IdPLogoutHint: "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"})
	hint, err := m.IdPLogoutHint(s)
	fmt.Println(hint, err)
	// Output: eyJhbGciOiJSUzI1NiJ9.e30.c2ln <nil>
}

// A member's role is taken away by code that does not sync their sessions
// (or whose sync failed): Reconcile, which sso/stack runs every sweep,
// ends the session that still carries the role.
func ExampleManager_Reconcile() {
	ctx := context.Background()
	db := memstore.New()
	m, _ := session.New(session.Config{Store: db, Events: db, Memberships: db})
	now := time.Now()
	_ = db.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme", CreatedAt: now})
	_ = db.CreateUser(ctx, &sso.User{ID: "usr_1", Email: "ann@acme.example", CreatedAt: now})
	mem := &sso.Membership{OrgID: "org_1", UserID: "usr_1", Roles: []string{"admin"}, Status: sso.MembershipActive,
		Source: sso.SourceAdmin, JoinedAt: now, UpdatedAt: now}
	_ = db.CreateMembership(ctx, mem)
	_ = m.IssueSession(httptest.NewRecorder(), httptest.NewRequest("POST", "/acs", nil),
		&sso.SessionGrant{UserID: "usr_1", OrgID: "org_1", Method: sso.AuthMethod("saml"), Roles: []string{"admin"}})

	mem.Roles, mem.UpdatedAt = []string{"member"}, time.Now()
	_ = db.UpdateMembership(ctx, mem) // no SyncMembership

	n, err := m.Reconcile(ctx)
	fmt.Println(n, err)
	// Output: 1 <nil>
}
