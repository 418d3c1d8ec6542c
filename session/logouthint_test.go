package session_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
)

func testKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New("k1", map[string][]byte{"k1": []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// issueWithHint issues a session for user through an OIDC login whose ID
// token was hint.
func issueWithHint(t *testing.T, m *session.Manager, user, hint string) *session.Session {
	t.Helper()
	r := httptest.NewRequest("GET", "https://app.test/sso/oidc/callback/conn_1", nil)
	s, err := m.Issue(httptest.NewRecorder(), r, &sso.SessionGrant{UserID: user, OrgID: orgA, ConnectionID: "conn_1",
		Method: sso.AuthMethod("oidc"), Roles: []string{"member"}, IdPSubject: "sub-" + user, IdPLogoutHint: hint})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIdPLogoutHintSealedWithSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *session.Config) { c.Sealer = testKeyring(t) })
	const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"
	s := issueWithHint(t, e.m, "alice", idToken)
	stored, err := e.st.GetSession(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.IdPLogoutHint == "" || strings.Contains(stored.IdPLogoutHint, idToken) || strings.Contains(stored.IdPLogoutHint, "eyJzdWIi") {
		t.Fatalf("stored hint %q: want a sealed value that does not reveal the ID token", stored.IdPLogoutHint)
	}
	got, err := e.m.IdPLogoutHint(stored)
	if err != nil || got != idToken {
		t.Fatalf("IdPLogoutHint = %q, %v; want the ID token", got, err)
	}

	// Moved onto another user's session, the sealed value does not open.
	bob := issueWithHint(t, e.m, "bob", "")
	bob.IdPLogoutHint = stored.IdPLogoutHint
	if _, err := e.m.IdPLogoutHint(bob); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("hint moved to another session: err %v, want ErrInvalidInput", err)
	}
	// A session without a hint says so.
	if _, err := e.m.IdPLogoutHint(issueWithHint(t, e.m, "bob", "")); !errors.Is(err, session.ErrNoLogoutHint) || !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("no hint: err %v, want ErrNoLogoutHint", err)
	}
}

func TestIdPLogoutHintNeedsSealer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := issueWithHint(t, e.m, "alice", "raw.id.token")
	stored, err := e.st.GetSession(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.IdPLogoutHint != "" {
		t.Fatalf("without a Sealer the session kept %q; want nothing kept", stored.IdPLogoutHint)
	}
	if _, err := e.m.IdPLogoutHint(stored); !errors.Is(err, session.ErrNoLogoutHint) {
		t.Fatalf("err %v, want ErrNoLogoutHint", err)
	}
}

func TestIdPLogoutHintTooLong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *session.Config) { c.Sealer = testKeyring(t) })
	r := httptest.NewRequest("GET", "https://app.test/", nil)
	_, err := e.m.Issue(httptest.NewRecorder(), r, &sso.SessionGrant{UserID: "alice", OrgID: orgA, ConnectionID: "conn_1",
		Method: sso.AuthMethod("oidc"), IdPLogoutHint: strings.Repeat("a", 17<<10)})
	if !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("err %v, want ErrInvalidInput", err)
	}
}

func TestIdPLogoutHintDroppedBySwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *session.Config) { c.Sealer = testKeyring(t) })
	b := e.browser()
	r := httptest.NewRequest("GET", "https://app.test/", nil)
	w := httptest.NewRecorder()
	if _, err := e.m.Issue(w, r, &sso.SessionGrant{UserID: "alice", OrgID: orgA, ConnectionID: "conn_1",
		Method: sso.AuthMethod("oidc"), Roles: []string{"admin"}, IdPLogoutHint: "raw.id.token"}); err != nil {
		t.Fatal(err)
	}
	u := mustURL(t, e.srv.URL)
	b.Jar.SetCookies(u, w.Result().Cookies())
	if res := e.do(b, "POST", "/switch?org="+orgB); res.StatusCode >= 400 {
		t.Fatalf("switch: %d", res.StatusCode)
	}
	ss, err := e.st.ListUserSessions(context.Background(), "alice")
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions %v, %v; want the switched one", ss, err)
	}
	if ss[0].OrgID != orgB || ss[0].IdPLogoutHint != "" {
		t.Fatalf("switched session org %s hint %q: the other organization's IdP hint must not follow", ss[0].OrgID, ss[0].IdPLogoutHint)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
