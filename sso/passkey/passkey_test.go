package passkey_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mempasskey"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpasskey"
)

const origin = "https://app.acme.example"

// coreStore is what the environment needs of a core store.
type coreStore interface {
	sso.Store
	session.Store
}

// backend opens the core and passkey stores of one database kind.
type backend struct {
	name string
	open func(t *testing.T) (coreStore, passkey.Store)
}

// backends are memstore, SQLite and (when SSOKIT_TEST_POSTGRES is set)
// PostgreSQL: the security tests run on each.
func backends(t *testing.T) []backend {
	var bs []backend
	for _, name := range teststore.Available(t) {
		bs = append(bs, backend{name, func(t *testing.T) (coreStore, passkey.Store) {
			ms, st := teststore.Open(t, name, time.Now)
			if ms != nil {
				return ms, mempasskey.New(ms)
			}
			return st, sqlpasskey.New(st)
		}})
	}
	return bs
}

type env struct {
	t    *testing.T
	ms   coreStore
	sess *session.Manager
	h    http.Handler
	m    *passkey.Manager
	auth *authenticator
}

func newEnv(t *testing.T, b backend, mods ...func(*passkey.Config)) *env {
	t.Helper()
	ms, pks := b.open(t)
	sess, err := session.New(session.Config{Store: ms, Events: ms, Orgs: ms, Memberships: ms})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.New(audit.Config{Store: ms})
	if err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New(policy.Config{Store: ms, Auditor: trail, Revoker: sess})
	if err != nil {
		t.Fatal(err)
	}
	cfg := passkey.Config{RPID: "app.acme.example", Origins: []string{origin}, Store: pks,
		Users: ms, Orgs: ms, Members: ms, Sessions: sess, Enforcer: enf, Auditor: trail, RateLimit: 1e6, Burst: 1e6}
	for _, mod := range mods {
		mod(&cfg)
	}
	m, err := passkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ms: ms, sess: sess, h: sess.Load(m), m: m, auth: newAuthenticator(t, origin, "app.acme.example")}
}

// member creates a user in a new organization.
func (e *env) member(id, slug string, enforced, breakGlass bool) *sso.User {
	e.t.Helper()
	ctx := context.Background()
	o := &sso.Organization{ID: "org_" + slug, Slug: slug, Name: slug, Settings: sso.OrgSettings{Features: sso.Features{"saml", passkey.Feature}}}
	if enforced {
		o.Settings.SSOEnforced, o.Settings.Features = true, o.Settings.Features.With("enforce_sso")
	}
	if err := e.ms.CreateOrg(ctx, o); err != nil {
		e.t.Fatal(err)
	}
	u := &sso.User{ID: id, Email: id + "@acme.example", EmailVerified: true, CreatedAt: time.Now()}
	if err := e.ms.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	if err := e.ms.CreateMembership(ctx, &sso.Membership{OrgID: o.ID, UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive,
		BreakGlass: breakGlass, JoinedAt: time.Now()}); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// signIn issues a session for u (as a password login would) and returns
// its cookie.
func (e *env) signIn(u *sso.User, orgID string) *http.Cookie {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", origin+"/login", nil)
	if err := e.sess.IssueSession(w, r, &sso.SessionGrant{UserID: u.ID, OrgID: orgID, Method: sso.AuthPassword, Roles: []string{"member"}}); err != nil {
		e.t.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

type reply struct {
	code   int
	body   map[string]json.RawMessage
	cookie *http.Cookie
}

func (r reply) str(k string) string {
	var s string
	_ = json.Unmarshal(r.body[k], &s)
	return s
}

func (e *env) call(method, path string, body any, c *http.Cookie) reply {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req := httptest.NewRequest(method, origin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if c != nil {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	out := reply{code: w.Code}
	_ = json.Unmarshal(w.Body.Bytes(), &out.body)
	for _, ck := range w.Result().Cookies() {
		if ck.Value != "" && ck.MaxAge >= 0 {
			out.cookie = ck
		}
	}
	return out
}

// register registers a passkey for the session c and returns its ID.
func (e *env) register(c *http.Cookie, name string) []byte {
	e.t.Helper()
	begin := e.call("POST", "/register/begin", map[string]string{}, c)
	if begin.code != 200 {
		e.t.Fatalf("register/begin: %d %v", begin.code, begin.body)
	}
	cred, id := e.auth.create(begin.body["options"])
	fin := e.call("POST", "/register/finish", map[string]any{"ceremony": begin.str("ceremony"), "credential": cred, "name": name}, c)
	if fin.code != 200 || fin.str("name") != name {
		e.t.Fatalf("register/finish: %d %v", fin.code, fin.body)
	}
	return id
}

// login runs a passwordless login with credential id (handle overrides the
// user handle, counter the signature counter when >= 0).
func (e *env) login(id, handle []byte, counter int64) reply {
	e.t.Helper()
	begin := e.call("POST", "/login/begin", map[string]string{}, nil)
	if begin.code != 200 {
		e.t.Fatalf("login/begin: %d %v", begin.code, begin.body)
	}
	if o := parseOptions(e.t, begin.body["options"]); len(o.AllowCredentials) != 0 {
		e.t.Fatalf("a discoverable login lists credentials: %v", o.AllowCredentials)
	}
	return e.call("POST", "/login/finish", map[string]any{"ceremony": begin.str("ceremony"), "credential": e.auth.get(begin.body["options"], id, handle, counter)}, nil)
}

// TestPasskeyLoginEndToEnd: register a passkey in a session, then sign
// in with it and nothing else: the session names the method and counts
// the passkey's user verification as MFA.
func TestPasskeyLoginEndToEnd(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			u := e.member("jane", "acme", false, false)
			id := e.register(e.signIn(u, "org_acme"), "Laptop")
			res := e.login(id, nil, -1)
			if res.code != 200 || res.cookie == nil {
				t.Fatalf("login: %d %v", res.code, res.body)
			}
			r := httptest.NewRequest("GET", origin+"/", nil)
			r.AddCookie(res.cookie)
			s, err := e.sess.Current(r)
			if err != nil || s.UserID != u.ID || s.OrgID != "org_acme" || s.Method != sso.AuthPasskey || !s.MFA {
				t.Fatalf("session %+v, %v; want jane's in acme with method passkey and MFA", s, err)
			}
			evs, _ := e.ms.ListEvents(context.Background(), sso.EventQuery{OrgID: "org_acme", Limit: 100})
			found := false
			for _, ev := range evs {
				found = found || ev.Type == sso.EventLoginSucceeded && ev.Details["method"] == "passkey"
			}
			if !found {
				t.Error("no login.succeeded event naming the passkey method")
			}
		})
	}
}

func policyOf(t *testing.T, e *env) *policy.Enforcer {
	enf, err := policy.New(policy.Config{Store: e.ms, Auditor: auditOf(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	return enf
}

func auditOf(t *testing.T, e *env) *audit.Trail {
	trail, err := audit.New(audit.Config{Store: e.ms})
	if err != nil {
		t.Fatal(err)
	}
	return trail
}

// TestPasskeySecurity: the attacks on a passwordless login.
func TestPasskeySecurity(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			u := e.member("jane", "acme", false, false)
			id := e.register(e.signIn(u, "org_acme"), "Laptop")
			mallory := e.member("mallory", "evil", false, false)
			mid := e.register(e.signIn(mallory, "org_evil"), "Mallory's key")

			t.Run("userHandle of another user", func(t *testing.T) {
				res := e.login(mid, passkey.UserHandle(u.ID), -1)
				if res.code != http.StatusForbidden || res.cookie != nil {
					t.Errorf("got %d %v; want 403 and no session", res.code, res.body)
				}
			})
			t.Run("unknown credential", func(t *testing.T) {
				res := e.login([]byte("not-registered-id"), passkey.UserHandle(u.ID), -1)
				if res.code != http.StatusForbidden || res.str("error") != passkey.ReasonUnknown {
					t.Errorf("got %d %v; want 403 passkey_unknown", res.code, res.body)
				}
			})
			t.Run("replayed ceremony", func(t *testing.T) {
				begin := e.call("POST", "/login/begin", map[string]string{}, nil)
				body := map[string]any{"ceremony": begin.str("ceremony"), "credential": e.auth.get(begin.body["options"], id, nil, -1)}
				if res := e.call("POST", "/login/finish", body, nil); res.code != 200 {
					t.Fatalf("first use: %d %v", res.code, res.body)
				}
				if res := e.call("POST", "/login/finish", body, nil); res.code != http.StatusBadRequest || res.str("error") != passkey.ReasonCeremonyInvalid {
					t.Errorf("replay: got %d %v; want 400 ceremony_invalid", res.code, res.body)
				}
			})
			t.Run("signature counter going backwards", func(t *testing.T) {
				if res := e.login(id, nil, 50); res.code != 200 {
					t.Fatalf("counter 50: %d %v", res.code, res.body)
				}
				if res := e.login(id, nil, 10); res.code != http.StatusForbidden || res.cookie != nil {
					t.Errorf("counter 10 after 50: got %d %v; want 403", res.code, res.body)
				}
			})
			t.Run("begin floods are rate limited per client", func(t *testing.T) {
				m, err := passkey.New(passkey.Config{RPID: "app.acme.example", Origins: []string{origin}, Store: mempasskey.New(memstore.New()),
					Users: e.ms, Orgs: e.ms, Members: e.ms, Sessions: e.sess, Enforcer: policyOf(t, e), Auditor: auditOf(t, e), Burst: 5})
				if err != nil {
					t.Fatal(err)
				}
				codes := map[int]int{}
				for range 8 {
					req := httptest.NewRequest("POST", origin+"/login/begin", strings.NewReader("{}"))
					req.Header.Set("Sec-Fetch-Site", "same-origin")
					req.RemoteAddr = "203.0.113.9:1234"
					w := httptest.NewRecorder()
					m.ServeHTTP(w, req)
					codes[w.Code]++
				}
				if codes[200] != 5 || codes[http.StatusTooManyRequests] != 3 {
					t.Errorf("statuses %v; want 5 x 200 then 429", codes)
				}
			})
			t.Run("cross-site POST", func(t *testing.T) {
				req := httptest.NewRequest("POST", origin+"/login/begin", strings.NewReader("{}"))
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, req)
				if w.Code != http.StatusForbidden {
					t.Errorf("cross-site begin: %d", w.Code)
				}
			})
		})
	}
}

// TestPasskeyPolicy: an organization that enforces SSO refuses passkey
// logins of its members except break-glass ones; the plan must include
// passkeys.
func TestPasskeyPolicy(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			erin := e.member("erin", "bigcorp", true, false)
			eid := e.register(e.signIn(erin, "org_bigcorp"), "Key")
			if res := e.login(eid, nil, -1); res.code != http.StatusForbidden || res.str("error") != passkey.ReasonSSORequired || res.cookie != nil ||
				res.str("sso_login_url") != "/sso/login/bigcorp" {
				t.Errorf("member of an SSO-enforcing org: got %d %v; want 403 sso_required with sso_login_url /sso/login/bigcorp", res.code, res.body)
			}
			admin := e.member("admin", "bigcorp2", true, true)
			aid := e.register(e.signIn(admin, "org_bigcorp2"), "Key")
			if res := e.login(aid, nil, -1); res.code != 200 {
				t.Errorf("break-glass member: got %d %v; want 200", res.code, res.body)
			}
			bob := e.member("bob", "basic", false, false)
			org, _ := e.ms.GetOrg(context.Background(), "org_basic")
			org.Settings.Features = sso.Features{"saml"}
			if err := e.ms.UpdateOrg(context.Background(), org); err != nil {
				t.Fatal(err)
			}
			bid := e.register(e.signIn(bob, "org_basic"), "Key")
			if res := e.login(bid, nil, -1); res.code != http.StatusForbidden || res.str("error") != passkey.ReasonFeature {
				t.Errorf("plan without passkeys: got %d %v; want 403 feature_disabled", res.code, res.body)
			}
		})
	}
}

// TestPasskeyManagement: list, rename, delete; the last passkey of a
// passkey-only account stays.
func TestPasskeyManagement(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			u := e.member("jane", "acme", false, false)
			c := e.signInMFA(u, "org_acme")
			first := e.register(c, "Laptop")
			second := e.register(c, "Phone")
			list := e.call("GET", "/credentials", nil, c)
			var pks []passkey.Info
			_ = json.Unmarshal(list.body["passkeys"], &pks)
			if len(pks) != 2 || pks[0].Name != "Laptop" || pks[1].Name != "Phone" {
				t.Fatalf("list: %d %v", list.code, pks)
			}
			if res := e.call("PATCH", "/credentials/"+b64.EncodeToString(second), map[string]string{"name": "Work phone"}, c); res.code != 200 {
				t.Errorf("rename: %d %v", res.code, res.body)
			}
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(first), nil, c); res.code != 200 {
				t.Errorf("delete of one of two: %d %v", res.code, res.body)
			}
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(second), nil, c); res.code != http.StatusConflict || res.str("error") != passkey.ReasonLastCredential {
				t.Errorf("delete of the last: got %d %v; want 409 last_credential", res.code, res.body)
			}
			list = e.call("GET", "/credentials", nil, c)
			_ = json.Unmarshal(list.body["passkeys"], &pks)
			if len(pks) != 1 || pks[0].Name != "Work phone" {
				t.Errorf("after rename and delete: %v", pks)
			}
			// Another user cannot touch jane's passkey.
			mallory := e.member("mallory", "evil", false, false)
			mc := e.signIn(mallory, "org_evil")
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(second), nil, mc); res.code != http.StatusNotFound {
				t.Errorf("another user's delete: %d %v; want 404", res.code, res.body)
			}
			if res := e.call("POST", "/register/begin", map[string]string{}, nil); res.code != http.StatusForbidden {
				t.Errorf("registration without a session: %d; want 403", res.code)
			}
		})
	}
}
