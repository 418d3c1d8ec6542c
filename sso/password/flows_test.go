package password_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
)

// TestSignUpVerifyLogin walks the whole tier: sign-up, a login refused
// until the email is verified, verification, a login that issues a
// password session without MFA, and the audit trail.
func TestSignUpVerifyLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	res := e.post("/signup", map[string]string{"email": "Jane@Example.com", "password": goodPassword, "name": "Jane"}, "198.51.100.1", nil)
	if res.code != http.StatusAccepted || res.body["status"] != "check_email" {
		t.Fatalf("signup: got %d %s", res.code, res.raw)
	}
	token := e.lastToken("jane@example.com")
	login := map[string]string{"email": "jane@example.com", "password": goodPassword}
	wantRefusal(t, "login before verification", e.post("/login", login, "198.51.100.1", nil), http.StatusForbidden, password.ReasonEmailNotVerified)

	if res := e.post("/verify", map[string]string{"token": token}, "198.51.100.1", nil); res.code != http.StatusOK || res.body["status"] != "verified" {
		t.Fatalf("verify: got %d %s", res.code, res.raw)
	}
	wantRefusal(t, "verification link used twice", e.post("/verify", map[string]string{"token": token}, "198.51.100.1", nil),
		http.StatusBadRequest, password.ReasonTokenInvalid)

	// A session belongs to an organization: the host places the new user.
	wantRefusal(t, "login without a membership", e.post("/login", login, "198.51.100.1", nil), http.StatusForbidden, password.ReasonNoOrganization)
	cred, _ := e.st.FindCredential(context.Background(), "jane@example.com")
	e.org("acme", false, &sso.Membership{UserID: cred.UserID, Roles: []string{"member"}})

	res = e.post("/login", login, "198.51.100.1", nil)
	if res.code != http.StatusOK || res.body["status"] != "signed_in" || res.sessionCookie() == nil {
		t.Fatalf("login: got %d %s, cookie %v", res.code, res.raw, res.sessionCookie())
	}
	g := e.issuer.last()
	if g == nil || g.Method != password.Method || g.MFA || g.OrgID != "org_acme" {
		t.Fatalf("grant: got %+v, want method password, MFA false, org_acme", g)
	}
	var types []string
	for _, org := range []string{"", "org_acme"} {
		evs, _ := e.ms.ListEvents(context.Background(), sso.EventQuery{OrgID: org})
		for _, ev := range evs {
			types = append(types, ev.Type)
		}
	}
	joined := strings.Join(types, ",")
	for _, want := range []string{password.EventSignedUp, password.EventEmailVerified, sso.EventLoginFailed, sso.EventLoginSucceeded} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit trail %v lacks %s", types, want)
		}
	}
}

// TestLoginIntoOrganization issues the session in the named organization
// with the membership's roles, and asks for the organization when the user
// belongs to several.
func TestLoginIntoOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("ann@acme.example", goodPassword) // a member of ann-home
	login := map[string]string{"email": u.Email, "password": goodPassword}
	if res := e.post("/login", login, "198.51.100.2", nil); res.code != http.StatusOK || e.issuer.last().OrgID != "org_ann-home" {
		t.Fatalf("login with one membership: %d %s", res.code, res.raw)
	}
	e.org("acme", false, &sso.Membership{UserID: u.ID, Roles: []string{"admin"}})
	res := e.post("/login", login, "198.51.100.2", nil)
	wantRefusal(t, "login with two organizations", res, http.StatusBadRequest, password.ReasonOrgRequired)
	if res.body["field"] != "org" {
		t.Errorf("org_required names field %q, want org", res.body["field"])
	}
	login["org"] = "acme"
	if res := e.post("/login", login, "198.51.100.2", nil); res.code != http.StatusOK {
		t.Fatalf("login into acme: %d %s", res.code, res.raw)
	}
	if g := e.issuer.last(); g.OrgID != "org_acme" || len(g.Roles) != 1 || g.Roles[0] != "admin" || g.MFA || g.Method != password.Method {
		t.Errorf("grant: got %+v, want org_acme, [admin], method password, MFA false", g)
	}
	e.org("gamma", false)
	login["org"] = "gamma"
	wantRefusal(t, "login into an organization the user is not in", e.post("/login", login, "198.51.100.2", nil), http.StatusForbidden, password.ReasonAccessDenied)
}

// TestLoginUpgradesWeakerHash checks that a hash made with weaker
// parameters is replaced, on a successful login, by one with the
// configured parameters recorded in the PHC string.
func TestLoginUpgradesWeakerHash(t *testing.T) {
	t.Parallel()
	weak := newEnv(t, nil)
	u := weak.user("old@acme.example", goodPassword)
	before, _ := weak.st.GetCredential(context.Background(), u.ID)
	if !strings.HasPrefix(before.Hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q does not record the parameters", before.Hash)
	}
	strong := password.Params{Time: 2, MemoryKiB: 128, Threads: 1, KeyLen: 32, SaltLen: 16}
	m, err := password.New(configOf(weak, func(c *password.Config) { c.Params = strong }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Authenticate(context.Background(), u.Email, goodPassword, "192.0.2.1"); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	after, _ := weak.st.GetCredential(context.Background(), u.ID)
	if !strings.HasPrefix(after.Hash, "$argon2id$v=19$m=128,t=2,p=1$") || after.Version != before.Version {
		t.Errorf("after login: hash %q version %d; want m=128,t=2 and version %d", after.Hash, after.Version, before.Version)
	}
	if _, err := m.Authenticate(context.Background(), u.Email, goodPassword, "192.0.2.1"); err != nil {
		t.Errorf("the upgraded hash does not verify: %v", err)
	}
	// A stronger stored hash is kept under weaker settings.
	if _, err := weak.m.Authenticate(context.Background(), u.Email, goodPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if again, _ := weak.st.GetCredential(context.Background(), u.ID); again.Hash != after.Hash {
		t.Errorf("weaker settings downgraded the hash: %q", again.Hash)
	}
}

// configOf rebuilds the Config of e (for a second Manager on its stores).
func configOf(e *env, mod func(*password.Config)) password.Config {
	c := password.Config{Store: e.st, Users: e.ms, Orgs: e.ms, Members: e.ms, Sessions: e.issuer, Revoker: e.sess,
		Enforcer: e.enforce, Auditor: e.trail, Mailer: e.mailer, VerifyURL: mustURL("https://app.acme.example/verify"),
		ResetURL: mustURL("https://app.acme.example/reset"), Params: fastParams, RateLimit: 1e6, Burst: 1e6, Now: e.clock.Now}
	mod(&c)
	return c
}

// TestResetFlow resets a forgotten password: the link works once, the new
// password signs in, the old one no longer does, and every session of the
// user ends.
func TestResetFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("bob@acme.example", goodPassword)
	old := e.post("/login", map[string]string{"email": u.Email, "password": goodPassword}, "198.51.100.3", nil).sessionCookie()
	if old == nil {
		t.Fatal("no session")
	}
	if res := e.post("/reset/request", map[string]string{"email": u.Email}, "198.51.100.3", nil); res.code != http.StatusAccepted {
		t.Fatalf("reset request: %d %s", res.code, res.raw)
	}
	token := e.lastToken(u.Email)
	const next = "a new and different passphrase"
	if res := e.post("/reset", map[string]string{"token": token, "password": next}, "198.51.100.3", nil); res.code != http.StatusOK {
		t.Fatalf("reset: %d %s", res.code, res.raw)
	}
	if ss, _ := e.ms.ListUserSessions(context.Background(), u.ID); len(ss) != 0 {
		t.Errorf("after a reset the user still has %d sessions", len(ss))
	}
	wantRefusal(t, "old password after reset", e.post("/login", map[string]string{"email": u.Email, "password": goodPassword}, "198.51.100.3", nil),
		http.StatusUnauthorized, password.ReasonInvalidCredentials)
	if res := e.post("/login", map[string]string{"email": u.Email, "password": next}, "198.51.100.3", nil); res.code != http.StatusOK {
		t.Errorf("new password: %d %s", res.code, res.raw)
	}
}

// TestChangeEndsOtherSessions changes the password from one session: the
// other session and its refresh family end, the request gets a fresh
// session.
func TestChangeEndsOtherSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("cat@acme.example", goodPassword)
	login := map[string]string{"email": u.Email, "password": goodPassword}
	mine := e.post("/login", login, "198.51.100.4", nil).sessionCookie()
	other := e.post("/login", login, "203.0.113.9", nil).sessionCookie()
	if mine == nil || other == nil {
		t.Fatal("no sessions")
	}
	const next = "another long passphrase here"
	wantRefusal(t, "change without a session", e.post("/change", map[string]string{"current_password": goodPassword, "new_password": next}, "198.51.100.4", nil),
		http.StatusUnauthorized, password.ReasonUnauthenticated)
	wrong := e.post("/change", map[string]string{"current_password": "not my password!", "new_password": next}, "198.51.100.4", mine)
	wantRefusal(t, "change with a wrong current password", wrong, http.StatusUnauthorized, password.ReasonInvalidCredentials)
	res := e.post("/change", map[string]string{"current_password": goodPassword, "new_password": next}, "198.51.100.4", mine)
	if res.code != http.StatusOK || res.body["status"] != "password_changed" {
		t.Fatalf("change: %d %s", res.code, res.raw)
	}
	fresh := res.sessionCookie()
	if fresh == nil || fresh.Value == mine.Value {
		t.Fatalf("change issued no fresh session: %v", fresh)
	}
	ss, _ := e.ms.ListUserSessions(context.Background(), u.ID)
	if len(ss) != 1 {
		t.Fatalf("after change: %d sessions, want only the fresh one", len(ss))
	}
	for _, c := range []*http.Cookie{mine, other} {
		r := httptest.NewRequest("GET", "https://app.acme.example/", nil)
		r.AddCookie(c)
		if _, err := e.sess.Current(r); err == nil {
			t.Errorf("a session from before the change still works")
		}
	}
}

// TestFormPost answers a same-origin form post with a redirect to its safe
// return path, and never to another site.
func TestFormPost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("dan@acme.example", goodPassword)
	for _, tc := range []struct{ returnTo, want string }{{"/dashboard", "/dashboard"}, {"https://evil.example/", "/"}, {"//evil.example", "/"}} {
		form := url.Values{"email": {u.Email}, "password": {goodPassword}, "return_to": {tc.returnTo}}
		r := httptest.NewRequest("POST", "https://app.acme.example/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://app.acme.example")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tc.want {
			t.Errorf("form login with return_to %q: got %d to %q, want 303 to %q", tc.returnTo, w.Code, w.Header().Get("Location"), tc.want)
		}
	}
}

// TestErrorBodyNamesFieldAndFix checks the admin JSON error shape.
func TestErrorBodyNamesFieldAndFix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	res := e.post("/signup", map[string]string{"email": "eve@acme.example", "password": "short"}, "198.51.100.5", nil)
	wantRefusal(t, "short password", res, http.StatusBadRequest, password.ReasonPasswordTooShort)
	if res.body["field"] != "password" || !strings.Contains(res.body["fix"], "at least 8 characters") || res.body["message"] == "" {
		t.Errorf("body %s does not name the field and the fix", res.raw)
	}
	res = e.post("/signup", map[string]string{"email": "not-an-email", "password": goodPassword}, "198.51.100.5", nil)
	wantRefusal(t, "bad email", res, http.StatusBadRequest, password.ReasonEmailInvalid)
	if res.body["field"] != "email" {
		t.Errorf("bad email names field %q", res.body["field"])
	}
	res = e.post("/signup", map[string]string{"email": "nul@acme.example", "password": goodPassword, "name": "Ja\x00ne"}, "198.51.100.5", nil)
	wantRefusal(t, "control character in the name", res, http.StatusBadRequest, password.ReasonNameInvalid)
	if res.body["field"] != "name" {
		t.Errorf("bad name names field %q", res.body["field"])
	}
	r := httptest.NewRequest("POST", "https://app.acme.example/signup", strings.NewReader(`{"email":"x@acme.example","extra":1}`))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), password.ReasonMalformed) {
		t.Errorf("unknown field: got %d %s", w.Code, w.Body.String())
	}
}

// TestSetPasswordReplacesAndRevokes gives an admin-provisioned user a
// password and replaces it, which ends the user's sessions.
func TestSetPasswordReplacesAndRevokes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	u := e.user("fay@acme.example", goodPassword)
	if e.post("/login", map[string]string{"email": u.Email, "password": goodPassword}, "198.51.100.6", nil).sessionCookie() == nil {
		t.Fatal("no session")
	}
	if err := e.m.SetPassword(context.Background(), u, "password"); !errors.Is(err, sso.ErrInvalidInput) {
		t.Errorf("SetPassword with a breached password: %v", err)
	}
	if err := e.m.SetPassword(context.Background(), u, "the replacement passphrase"); err != nil {
		t.Fatal(err)
	}
	if ss, _ := e.ms.ListUserSessions(context.Background(), u.ID); len(ss) != 0 {
		t.Errorf("replacing the password left %d sessions", len(ss))
	}
}

// TestOverlongInputNeverMatches: a login input longer than any storable
// password is refused even when its prefix is the password.
func TestOverlongInputNeverMatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *password.Config) { c.Policy.MaxLength = 1024 })
	long := strings.Repeat("😀😃😄😁🙂", 1024/5) + "😀😃😄😁" // 1024 characters, 4096 bytes
	u := e.user("long@acme.example", long)
	if _, err := e.m.Authenticate(context.Background(), u.Email, long, "192.0.2.2"); err != nil {
		t.Fatalf("the exact password: %v", err)
	}
	_, err := e.m.Authenticate(context.Background(), u.Email, long+"extra", "192.0.2.2")
	if sso.ReasonOf(err) != password.ReasonInvalidCredentials {
		t.Errorf("the password with a suffix: got %v, want invalid_credentials", err)
	}
}
