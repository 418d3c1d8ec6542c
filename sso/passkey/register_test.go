package passkey_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/passkey"
)

// signInWith issues a session for grant g and returns its cookie.
func (e *env) signInWith(g *sso.SessionGrant) *http.Cookie {
	e.t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", origin+"/login", nil)
	if err := e.sess.IssueSession(w, r, g); err != nil {
		e.t.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

// signInMFA issues a session for u that verified a second factor at its
// login (as a password followed by a TOTP code does), which adding a
// passkey once the user has one, and deleting one, need.
func (e *env) signInMFA(u *sso.User, orgID string) *http.Cookie {
	return e.signInWith(&sso.SessionGrant{UserID: u.ID, OrgID: orgID, Method: sso.AuthPassword, Roles: []string{"member"},
		MFA: true, MFAAt: time.Now()})
}

// joinOrg makes u an active member of a new organization slug that allows
// passkeys.
func (e *env) joinOrg(u *sso.User, slug string) {
	e.t.Helper()
	ctx := context.Background()
	o := &sso.Organization{ID: "org_" + slug, Slug: slug, Name: slug, Settings: sso.OrgSettings{Features: sso.Features{"saml", passkey.Feature}}}
	if err := e.ms.CreateOrg(ctx, o); err != nil {
		e.t.Fatal(err)
	}
	if err := e.ms.CreateMembership(ctx, &sso.Membership{OrgID: o.ID, UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive,
		JoinedAt: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
}

// passkeyCount returns how many passkeys the user holds.
func (e *env) passkeyCount(c *http.Cookie) int {
	e.t.Helper()
	list := e.call("GET", "/credentials", nil, c)
	if list.code != http.StatusOK {
		e.t.Fatalf("list: %d %v", list.code, list.body)
	}
	var pks []passkey.Info
	if err := json.Unmarshal(list.body["passkeys"], &pks); err != nil {
		e.t.Fatalf("list: %v", err)
	}
	return len(pks)
}

// TestRegistrationNeedsOwnRecentLocalLogin: a passkey signs its user in
// to every organization that allows passkeys, with MFA. So a session that
// one organization's IdP made (whose administrator can sign any of its
// users in), a session that entered its organization by a switch, and a
// stale session must not register one: otherwise the administrator of
// organization A's IdP signs a user of A and B in at A, registers a
// passkey of their own and signs in to B as that user with MFA (T-M.9).
// Registration needs a login of the session's own, by a local method,
// within Config.RecentLogin; access tokens never register.
func TestRegistrationNeedsOwnRecentLocalLogin(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			var skew atomic.Int64
			e := newEnv(t, b, func(c *passkey.Config) {
				c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			})
			u := e.member("jane", "idpcorp", false, false)
			e.joinOrg(u, "victim")

			// Org A's IdP signs jane in at A; its administrator tries to
			// add a passkey and use it at B.
			idp := e.signInWith(&sso.SessionGrant{UserID: u.ID, OrgID: "org_idpcorp", ConnectionID: "conn_idpcorp",
				Method: "saml", Roles: []string{"member"}})
			begin := e.call("POST", "/register/begin", map[string]string{}, idp)
			if begin.code == http.StatusOK {
				// The attack as it would go on: register, then sign in to B.
				cred, id := e.auth.create(begin.body["options"])
				e.call("POST", "/register/finish", map[string]any{"ceremony": begin.str("ceremony"), "credential": cred, "name": "IdP admin's key"}, idp)
				lb := e.call("POST", "/login/begin", map[string]string{}, nil)
				res := e.call("POST", "/login/finish", map[string]any{"ceremony": lb.str("ceremony"),
					"credential": e.auth.get(lb.body["options"], id, nil, -1), "org": "victim"}, nil)
				t.Fatalf("register/begin from org A's SSO session: 200; the passkey then signed in to org B: %d %v", res.code, res.body)
			}
			if begin.code != http.StatusUnauthorized || begin.str("error") != passkey.ReasonReauthenticationRequired || begin.str("message") == "" {
				t.Fatalf("register/begin from an SSO session: %d %v; want 401 reauthentication_required with a message", begin.code, begin.body)
			}
			if n := e.passkeyCount(idp); n != 0 {
				t.Fatalf("%d passkeys stored after the refusal", n)
			}

			// A ceremony begun by a fresh password login but finished
			// after the login went stale is refused too.
			fresh := e.signIn(u, "org_victim")
			begin = e.call("POST", "/register/begin", map[string]string{}, fresh)
			if begin.code != http.StatusOK {
				t.Fatalf("register/begin after a fresh password login: %d %v", begin.code, begin.body)
			}
			cred, _ := e.auth.create(begin.body["options"])
			skew.Store(int64(11 * time.Minute))
			fin := e.call("POST", "/register/finish", map[string]any{"ceremony": begin.str("ceremony"), "credential": cred, "name": "Late"}, fresh)
			if fin.code != http.StatusUnauthorized || fin.str("error") != passkey.ReasonReauthenticationRequired {
				t.Errorf("register/finish 11 minutes after the login: %d %v; want 401 reauthentication_required", fin.code, fin.body)
			}
			if n := e.passkeyCount(fresh); n != 0 {
				t.Errorf("a passkey was stored by a stale session")
			}
			skew.Store(0)
			if id := e.register(e.signIn(u, "org_victim"), "Laptop"); len(id) == 0 {
				t.Error("no passkey registered after a fresh password login")
			}
		})
	}
}

// TestRegistrationPrincipals: which principals may begin a registration.
func TestRegistrationPrincipals(t *testing.T) {
	t.Parallel()
	b := backends(t)[0]
	now := time.Date(2030, 5, 1, 12, 0, 0, 0, time.UTC)
	var m *passkey.Manager
	e := newEnv(t, b, func(c *passkey.Config) {
		c.Now = func() time.Time { return now }
		var err error
		if m, err = passkey.New(*c); err != nil {
			t.Fatal(err)
		}
	})
	u := e.member("jane", "acme", false, false)
	p := func(kind sso.PrincipalKind, method sso.AuthMethod, authAgo time.Duration) *sso.Principal {
		return &sso.Principal{Kind: kind, SessionID: "ses_1", UserID: u.ID, OrgID: "org_acme", Method: method, AuthAt: now.Add(-authAgo)}
	}
	for _, tc := range []struct {
		name   string
		p      *sso.Principal
		reason string
	}{
		{"fresh password login", p(sso.PrincipalSession, sso.AuthPassword, time.Minute), ""},
		{"fresh email code login", p(sso.PrincipalSession, sso.AuthEmailCode, time.Minute), ""},
		{"fresh passkey login", p(sso.PrincipalSession, sso.AuthPasskey, 9*time.Minute), ""},
		{"no principal", nil, passkey.ReasonUnauthenticated},
		{"SSO login", p(sso.PrincipalSession, "oidc", time.Minute), passkey.ReasonReauthenticationRequired},
		{"organization switch", p(sso.PrincipalSession, sso.AuthSwitch, time.Minute), passkey.ReasonReauthenticationRequired},
		{"stale password login", p(sso.PrincipalSession, sso.AuthPassword, 11*time.Minute), passkey.ReasonReauthenticationRequired},
		{"login dated in the future", p(sso.PrincipalSession, sso.AuthPassword, -time.Hour), passkey.ReasonReauthenticationRequired},
		{"no login time", &sso.Principal{Kind: sso.PrincipalSession, SessionID: "ses_1", UserID: u.ID, Method: sso.AuthPassword}, passkey.ReasonReauthenticationRequired},
		{"access token", p(sso.PrincipalAccessToken, sso.AuthPassword, time.Minute), passkey.ReasonReauthenticationRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, _, err := m.BeginRegistration(context.Background(), tc.p)
			if got := sso.ReasonOf(err); tc.reason == "" && (err != nil || id == "") || tc.reason != "" && got != tc.reason {
				t.Errorf("got %q (%v), want reason %q", got, err, tc.reason)
			}
		})
	}
}

// failingLookup is a passkey store whose credential lookups fail as a
// database outage does.
type failingLookup struct {
	passkey.Store
	down atomic.Bool
}

func (f *failingLookup) GetCredential(ctx context.Context, id []byte) (*passkey.Credential, error) {
	if f.down.Load() {
		return nil, fmt.Errorf("sqlstore: connection refused: %w", sso.ErrUnavailable)
	}
	return f.Store.GetCredential(ctx, id)
}

// TestLoginDuringStoreOutage: a login whose passkey lookup fails because
// the store is down is answered 503 "try again", not passkey_unknown,
// whose message tells the person the passkey is not registered (and may
// lead them to delete it from their device).
func TestLoginDuringStoreOutage(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			var fl *failingLookup
			e := newEnv(t, b, func(c *passkey.Config) {
				fl = &failingLookup{Store: c.Store}
				c.Store = fl
			})
			u := e.member("jane", "acme", false, false)
			id := e.register(e.signIn(u, "org_acme"), "Laptop")
			fl.down.Store(true)
			res := e.login(id, nil, -1)
			if res.code != http.StatusServiceUnavailable || res.str("error") == passkey.ReasonUnknown || res.cookie != nil {
				t.Errorf("login while the store is down: %d %s %q; want 503 and no session", res.code, res.str("error"), res.str("message"))
			}
			fl.down.Store(false)
			if res := e.login(id, nil, -1); res.code != http.StatusOK {
				t.Errorf("login once the store is back: %d %s", res.code, res.str("error"))
			}
		})
	}
}
