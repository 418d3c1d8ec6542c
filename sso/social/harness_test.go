package social_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/store/memstore/memsocial"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsocial"
)

// workTID is the Microsoft-like work tenant of the interop provider.
const workTID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// coreStore is what the environment needs of a core store.
type coreStore interface {
	sso.Store
	session.Store
}

// backend builds the stores of one database kind.
type backend struct {
	name string
	open func(t *testing.T) (coreStore, social.Store)
}

// backends are memstore, SQLite and (when SSOKIT_TEST_POSTGRES is set)
// PostgreSQL: every security test runs on each.
func backends(t *testing.T) []backend {
	var bs []backend
	for _, name := range teststore.Available(t) {
		bs = append(bs, backend{name, func(t *testing.T) (coreStore, social.Store) {
			ms, st := teststore.Open(t, name, time.Now)
			if ms != nil {
				return ms, memsocial.New(ms)
			}
			return st, sqlsocial.New(st)
		}})
	}
	return bs
}

// admission is the test's Admission: invitations by address, consumed
// on acceptance.
type admission struct {
	st     coreStore
	mu     sync.Mutex
	offers map[string]*social.Offer
}

func (a *admission) invite(email, orgID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.offers[email] = &social.Offer{OrgID: orgID, Via: "invitation", Ref: "inv_" + email}
}

func (a *admission) Offer(_ context.Context, email string) (*social.Offer, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if o, ok := a.offers[email]; ok {
		c := *o
		return &c, nil
	}
	return nil, fmt.Errorf("no invitation: %w", sso.ErrNotFound)
}

func (a *admission) Accept(ctx context.Context, o *social.Offer, u *sso.User) (*sso.Membership, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.offers, u.Email)
	m := &sso.Membership{OrgID: o.OrgID, UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: time.Now()}
	return m, a.st.CreateMembership(ctx, m)
}

// issuer records grants and passes them to the real session manager.
type issuer struct {
	*session.Manager
	mu     sync.Mutex
	grants []sso.SessionGrant
}

func (i *issuer) IssueSession(w http.ResponseWriter, r *http.Request, g *sso.SessionGrant) error {
	i.mu.Lock()
	i.grants = append(i.grants, *g)
	i.mu.Unlock()
	return i.Manager.IssueSession(w, r, g)
}

func (i *issuer) last() *sso.SessionGrant {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.grants) == 0 {
		return nil
	}
	g := i.grants[len(i.grants)-1]
	return &g
}

func (i *issuer) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.grants)
}

// env is a social Manager on one backend, with a real session manager,
// SSO enforcement and audit trail, served by the rp server.
type env struct {
	t      *testing.T
	st     coreStore
	social social.Store
	adm    *admission
	iss    *issuer
	m      *social.Manager
	cfg    social.Config
}

// rp is the relying party's HTTP server; its handler is the current env's.
type rp struct {
	srv *httptest.Server
	h   atomic.Pointer[http.Handler]
}

func newRP(t *testing.T) *rp {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rp{}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if h := r.h.Load(); h != nil {
			(*h).ServeHTTP(w, req)
			return
		}
		http.Error(w, "no environment", http.StatusServiceUnavailable)
	}))
	r.srv.Listener.Close()
	r.srv.Listener = l
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rp) redirectURI(provider string) string {
	return r.srv.URL + "/auth/social/" + provider + "/callback"
}

// newEnv builds an env on b serving through r with providers.
func newEnv(t *testing.T, r *rp, b backend, providers []social.Provider, mods ...func(*social.Config)) *env {
	t.Helper()
	st, ss := b.open(t)
	sess, err := session.New(session.Config{Store: st, Events: st, Orgs: st, Memberships: st, AllowInsecureCookie: true})
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.New(audit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New(policy.Config{Store: st, Auditor: trail, Revoker: sess})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New("k1", map[string][]byte{"k1": []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, social: ss, adm: &admission{st: st, offers: map[string]*social.Offer{}}, iss: &issuer{Manager: sess}}
	base, _ := url.Parse(r.srv.URL + "/auth/social/")
	e.cfg = social.Config{BaseURL: base, Providers: providers, Store: ss, Users: st, Orgs: st, Members: st,
		Sessions: e.iss, Enforcer: enf, Admission: e.adm, Auditor: trail, Sealer: kr,
		AllowPrivateAddresses: true, AllowInsecureURLs: true, DefaultReturnTo: "/app", RateLimit: 1e6, Burst: 1e6}
	for _, mod := range mods {
		mod(&e.cfg)
	}
	e.m, err = social.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/social/", sess.Load(http.StripPrefix("/auth/social", e.m)))
	mux.HandleFunc("/test/signin", func(w http.ResponseWriter, req *http.Request) {
		// Stands in for the host's other sign-in methods: a session of
		// ?user in ?org by ?method, logged in now.
		q := req.URL.Query()
		g := &sso.SessionGrant{UserID: q.Get("user"), OrgID: q.Get("org"), Method: sso.AuthMethod(q.Get("method")), Roles: []string{"member"}}
		if err := sess.IssueSession(w, req, g); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	})
	mux.HandleFunc("/sso/login/{org}", func(w http.ResponseWriter, req *http.Request) {
		fmt.Fprintf(w, "sso start for %s", req.PathValue("org"))
	})
	mux.Handle("/app", sess.Load(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s, err := sess.Current(req)
		if err != nil {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"user": s.UserID, "org": s.OrgID, "method": string(s.Method)})
	})))
	var h http.Handler = mux
	r.h.Store(&h)
	return e
}

// org creates an organization; enforced makes it enforce SSO; social
// false leaves the "social" feature out of its plan.
func (e *env) org(slug string, enforced, withSocial bool) *sso.Organization {
	e.t.Helper()
	o := &sso.Organization{ID: "org_" + slug, Slug: slug, Name: slug}
	o.Settings.Features = sso.Features{"saml", "oidc"}
	if withSocial {
		o.Settings.Features = o.Settings.Features.With(social.Feature)
	}
	if enforced {
		o.Settings.SSOEnforced = true
		o.Settings.Features = o.Settings.Features.With("enforce_sso")
	}
	if err := e.st.CreateOrg(context.Background(), o); err != nil {
		e.t.Fatal(err)
	}
	return o
}

// member creates a user with a verified email and an active membership.
func (e *env) member(id, email string, org *sso.Organization, breakGlass bool) *sso.User {
	e.t.Helper()
	ctx := context.Background()
	u := &sso.User{ID: id, Email: email, EmailVerified: true, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := e.st.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	m := &sso.Membership{OrgID: org.ID, UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipActive, Source: sso.SourceAdmin,
		BreakGlass: breakGlass, JoinedAt: time.Now(), UpdatedAt: time.Now()}
	if err := e.st.CreateMembership(ctx, m); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// signInAs gives bw a session of the user in org by method, as the
// host's other sign-in methods would.
func (e *env) signInAs(bw *browser, r *rp, userID, orgID string, method sso.AuthMethod) {
	e.t.Helper()
	q := url.Values{"user": {userID}, "org": {orgID}, "method": {string(method)}}
	if res := bw.get(r.srv.URL + "/test/signin?" + q.Encode()); res.status != http.StatusOK {
		e.t.Fatalf("test sign-in of %s: %d %s", userID, res.status, res.body)
	}
}

// link stores a linked identity provider/subject of the user, as an
// earlier link would have.
func (e *env) link(userID, provider, subject, email string) {
	e.t.Helper()
	id := &social.Identity{Provider: provider, Subject: subject, UserID: userID, Email: email, EmailVerified: true,
		CreatedAt: time.Now(), LastLoginAt: time.Now()}
	if err := e.social.CreateIdentity(context.Background(), id); err != nil {
		e.t.Fatal(err)
	}
}

// events returns the audit events of org (all organizations when "").
func (e *env) events(orgID string) []*sso.Event {
	e.t.Helper()
	evs, err := e.st.ListEvents(context.Background(), sso.EventQuery{OrgID: orgID, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// hasEvent reports whether org's trail holds an event of typ whose reason
// and details match.
func (e *env) hasEvent(orgID, typ, reason string, details map[string]string) bool {
	for _, ev := range e.events(orgID) {
		if ev.Type != typ || (reason != "" && ev.Reason != reason) {
			continue
		}
		ok := true
		for k, v := range details {
			ok = ok && ev.Details[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

// identities returns the user's linked identities.
func (e *env) identities(userID string) []*social.Identity {
	e.t.Helper()
	ids, err := e.social.ListUserIdentities(context.Background(), userID)
	if err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// browser is a cookie-keeping client that follows redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// result is a final page: its URL, status and body.
type result struct {
	url    *url.URL
	status int
	body   string
}

func (b *browser) do(req *http.Request) result {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return result{url: resp.Request.URL, status: resp.StatusCode, body: sb.String()}
}

func (b *browser) get(u string) result {
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

func (b *browser) postForm(u string, v url.Values) result {
	req, _ := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signedIn returns the session the browser holds at the RP, or nil.
func (b *browser) signedIn(r *rp) map[string]string {
	res := b.get(r.srv.URL + "/app")
	if res.status != http.StatusOK {
		return nil
	}
	var out map[string]string
	_ = json.Unmarshal([]byte(res.body), &out)
	return out
}

// --- the real OpenID providers (oidc-provider) -------------------------

// op is the interop server of oidc/testdata/op/social.mjs.
type op struct{ base string }

var formAction = regexp.MustCompile(`action="([^"]+)"`)

// startOP starts the providers with a client registered for r's redirect
// URIs, or skips when SSOKIT_TEST_OIDC_PROVIDER is not set.
func startOP(t *testing.T, r *rp) *op {
	t.Helper()
	dir := os.Getenv("SSOKIT_TEST_OIDC_PROVIDER")
	if dir == "" {
		t.Skip("SSOKIT_TEST_OIDC_PROVIDER not set: set it to the harness dir (oidc/testdata/op, with oidc-provider 9.13.3 installed) to run the Google- and Microsoft-like interop tests")
	}
	if dir == "1" {
		dir = filepath.Join("..", "..", "oidc", "testdata", "op")
	}
	tmp := t.TempDir()
	writeJWKS(t, filepath.Join(tmp, "jwks.json"))
	clients, _ := json.Marshal([]map[string]any{{
		"client_id": "social-rp", "client_secret": "social-secret", "token_endpoint_auth_method": "client_secret_basic",
		"redirect_uris": []string{r.redirectURI("google"), r.redirectURI("microsoft"), r.redirectURI("ms-consumers")},
		"grant_types":   []string{"authorization_code"}, "response_types": []string{"code"},
	}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	out := &lockedBuffer{}
	cmd := exec.Command("node", "social.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprint("OP_PORT=", port), "OP_JWKS="+filepath.Join(tmp, "jwks.json"),
		"OP_CLIENTS="+string(clients), "WORK_TID="+workTID)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("social.mjs output:\n%s", out.String())
		}
	})
	o := &op{base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(o.base + "/google/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return o
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("social.mjs did not start: %v\n%s", err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func writeJWKS(t *testing.T, path string) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"keys": []jose.JSONWebKey{
		{Key: rk, KeyID: "rs-1", Algorithm: "RS256", Use: "sig"},
		{Key: ek, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
	}})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// google and microsoft are the presets pointed at the interop providers.
func (o *op) google() social.Provider {
	p := social.Google("social-rp", "social-secret")
	p.Issuer = o.base + "/google"
	return p
}

func (o *op) microsoft(tenant string) social.Provider {
	return social.Microsoft(tenant, "social-rp", "social-secret", o.base)
}

// login starts a login at provider through r and signs in at the
// provider's form as username; it returns the final page.
func (o *op) login(t *testing.T, b *browser, r *rp, provider, username, query string) result {
	t.Helper()
	res := b.get(r.srv.URL + "/auth/social/" + provider + "/start?" + query)
	if !strings.HasPrefix(res.url.String(), o.base) {
		return res
	}
	m := formAction.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no login form at %s: %d %s", res.url, res.status, res.body)
	}
	return b.postForm(o.base+m[1], url.Values{"username": {username}, "password": {"pw"}})
}
