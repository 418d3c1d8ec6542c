package scim_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// sessionStores is what a real session.Manager keeps its records in.
type sessionStores interface {
	session.Store
	session.TokenStore
	session.RevocationStore
}

// realSessions returns a session.Manager with API tokens on the core
// store of st.
func realSessions(t *testing.T, st backend) *session.Manager {
	t.Helper()
	core, ok := st.(coreAndSCIM).Store.(sessionStores)
	if !ok {
		t.Fatalf("%T keeps no sessions", st)
	}
	key, err := session.GenerateSigningKey("k1", session.ES256)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Store: core, Tokens: core, Revocations: core, Events: st, Orgs: st, Memberships: st,
		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// orgLogin is a session with its access token.
type orgLogin struct {
	cookie, token string
}

func signInTo(t *testing.T, m *session.Manager, user, org string) orgLogin {
	t.Helper()
	w := httptest.NewRecorder()
	s, err := m.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: user, OrgID: org, Method: sso.AuthMethod("saml"), Roles: []string{"member"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.IssueTokens(context.Background(), s, session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return orgLogin{cookie: w.Result().Cookies()[0].Value, token: p.AccessToken}
}

// works reports whether l's session and access token both work.
func works(t *testing.T, m *session.Manager, l orgLogin) bool {
	t.Helper()
	r := httptest.NewRequest("GET", "https://app.test/me", nil)
	r.Header.Set("Cookie", m.CookieName()+"="+l.cookie)
	_, serr := m.Current(r)
	if serr != nil && !errors.Is(serr, session.ErrNoSession) {
		t.Fatal(serr)
	}
	_, terr := m.VerifyAccessToken(context.Background(), l.token)
	if (serr == nil) != (terr == nil) {
		t.Fatalf("cookie error %v, token error %v", serr, terr)
	}
	return serr == nil
}

// TestSCIMEndsOnlyItsOrgSessions is the cross-tenant attack through a
// directory: A's SCIM client deactivates (then deletes) a user who is also
// a member of B. The user's session and API token in A end; those in B
// keep working. Real session.Manager on every backend.
func TestSCIMEndsOnlyItsOrgSessions(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st := b.open(t)
			sm := realSessions(t, st)
			e := newEnvOn(t, st, func(c *scim.Config) { c.Revoker = sm })
			id := e.createUser("shared@acme.test")
			other := e.addOrg("other")
			if err := st.CreateMembership(context.Background(), &sso.Membership{OrgID: other.ID, UserID: id, Roles: []string{"member"},
				Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			inB := signInTo(t, sm, id, other.ID)
			for _, step := range []struct{ method, body string }{
				{"PATCH", `{"Operations":[{"op":"replace","path":"active","value":false}]}`},
				{"DELETE", ""},
			} {
				if step.method == "DELETE" {
					e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"active","value":true}]}`).want(t, http.StatusOK)
				}
				inA := signInTo(t, sm, id, e.org.ID)
				if r := e.do(step.method, "/Users/"+id, step.body); r.status != http.StatusOK && r.status != http.StatusNoContent {
					t.Fatalf("%s: status %d %s", step.method, r.status, r.raw)
				}
				if works(t, sm, inA) {
					t.Fatalf("%s: the session in the directory's organization survived", step.method)
				}
				if !works(t, sm, inB) {
					t.Fatalf("%s: A's directory ended the user's session and token in B", step.method)
				}
			}
		})
	}
}

// userWide can only end a user's sessions in every organization.
type userWide struct{}

func (userWide) RevokeUser(context.Context, string) error { return nil }

// TestNewRefusesUserWideRevoker: a directory may only be given a Revoker
// that can confine itself to its organization.
func TestNewRefusesUserWideRevoker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := e.cfg
	cfg.Revoker = userWide{}
	if _, err := scim.New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("New with a user-wide Revoker = %v, want ErrInvalidConfig", err)
	}
}
