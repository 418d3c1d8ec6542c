package social_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/social"
)

// fakeGitHub stands in for GitHub, which cannot run here: an OAuth 2.0
// server and REST API speaking GitHub's documented shapes (the web
// application flow at /login/oauth/authorize and /login/oauth/access_token
// with PKCE S256, a form-encoded token answer, GET /user and GET
// /user/emails). The account "signed in at GitHub" is set by the test.
type fakeGitHub struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	user     map[string]any    // GET /user
	emails   []map[string]any  // GET /user/emails
	codes    map[string]string // code -> code_challenge
	tokens   map[string]bool
	apiDown  bool
	redirect string
}

func newFakeGitHub(t *testing.T, redirectURI string) *fakeGitHub {
	g := &fakeGitHub{t: t, codes: map[string]string{}, tokens: map[string]bool{}, redirect: redirectURI}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-client" || q.Get("redirect_uri") != g.redirect || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		code := "code-" + q.Get("state")[:8]
		g.codes[code] = q.Get("code_challenge")
		g.mu.Unlock()
		http.Redirect(w, r, g.redirect+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		g.mu.Lock()
		challenge, found := g.codes[r.PostForm.Get("code")]
		delete(g.codes, r.PostForm.Get("code"))
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		good := found && id == "gh-client" && secret == "gh-secret" && base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
		tok := "gho_" + r.PostForm.Get("code")
		if good {
			g.tokens[tok] = true
		}
		g.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		if !good {
			// GitHub answers a bad code with 200 and an error field.
			_, _ = w.Write([]byte("error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."))
			return
		}
		_, _ = w.Write([]byte(url.Values{"access_token": {tok}, "scope": {"read:user,user:email"}, "token_type": {"bearer"}}.Encode()))
	})
	api := func(get func() any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			g.mu.Lock()
			down := g.apiDown
			ok := len(r.Header.Get("Authorization")) > 7 && g.tokens[r.Header.Get("Authorization")[7:]]
			g.mu.Unlock()
			switch {
			case down:
				http.Error(w, "unicorn", http.StatusInternalServerError)
			case !ok:
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			default:
				w.Header().Set("Content-Type", "application/json")
				g.mu.Lock()
				_ = json.NewEncoder(w).Encode(get())
				g.mu.Unlock()
			}
		}
	}
	mux.HandleFunc("GET /api/user", api(func() any { return g.user }))
	mux.HandleFunc("GET /api/user/emails", api(func() any { return g.emails }))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// signIn sets the GitHub account the next authorization belongs to.
func (g *fakeGitHub) signIn(id int64, login string, emails ...map[string]any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.user = map[string]any{"id": id, "login": login, "name": nil, "email": nil}
	g.emails = emails
}

// provider is social.GitHub pointed at the stand-in.
func (g *fakeGitHub) provider() social.Provider {
	p := social.GitHub("gh-client", "gh-secret")
	p.AuthURL, p.TokenURL, p.APIURL = g.srv.URL+"/login/oauth/authorize", g.srv.URL+"/login/oauth/access_token", g.srv.URL+"/api"
	return p
}

// trusting is provider with EmailVerifiedOnce cleared, as a host that
// accepts GitHub's verified email for linking and admission configures
// it: the tests of linking by email use it.
func (g *fakeGitHub) trusting() social.Provider {
	p := g.provider()
	p.EmailVerifiedOnce = false
	return p
}

func email(addr string, primary, verified bool) map[string]any {
	return map[string]any{"email": addr, "primary": primary, "verified": verified, "visibility": nil}
}

// TestGitHub runs GitHub sign-in against the stand-in, on every backend,
// with its security tests: only the primary verified email counts.
func TestGitHub(t *testing.T) {
	r := newRP(t)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			gh := newFakeGitHub(t, r.redirectURI("github"))
			e := newEnv(t, r, b, []social.Provider{gh.provider()})
			acme := e.org("acme", false, true)
			member := e.member("usr_member", "member@acme.example", acme, false)
			start := r.srv.URL + "/auth/social/github/start"

			t.Run("the member's address links nothing until the member links GitHub", func(t *testing.T) {
				// Whoever holds a GitHub account that once verified the
				// member's address (a former holder of the mailbox) is not
				// the member: a first sign-in links and creates nothing.
				gh.signIn(1001, "mia", email("Member@Acme.example", true, true), email("mia@personal.example", false, true))
				bw := newBrowser(t)
				res := bw.get(start)
				if res.status != http.StatusForbidden || !strings.Contains(res.body, social.ReasonLinkRequired) || bw.signedIn(r) != nil {
					t.Fatalf("first sign-in with the member's address: %d %s; want 403 link_required", res.status, res.body)
				}
				if ids := e.identities(member.ID); len(ids) != 0 {
					t.Fatalf("linked by email: %+v", ids)
				}
				if !e.hasEvent("", sso.EventLoginFailed, social.ReasonLinkRequired, map[string]string{"provider": "github"}) {
					t.Error("no link_required refusal audited")
				}
				// The member, signed in by an emailed code, links the account.
				e.signInAs(bw, r, member.ID, acme.ID, sso.AuthEmailCode)
				res = bw.postForm(r.srv.URL+"/auth/social/github/link", url.Values{"return_to": {"/app"}})
				if s := bw.signedIn(r); res.url.Path != "/app" || s == nil || s["user"] != member.ID || s["method"] != string(sso.AuthEmailCode) {
					t.Fatalf("link: ended at %s (%d %s), session %v", res.url, res.status, res.body, s)
				}
				ids := e.identities(member.ID)
				if len(ids) != 1 || ids[0].Subject != "1001" || ids[0].Email != "member@acme.example" {
					t.Fatalf("identities %+v; want github/1001 (the numeric ID, never the login)", ids)
				}
				if !e.hasEvent(acme.ID, social.EventLinked, "", map[string]string{"provider": "github", "via": "link"}) {
					t.Error("link not audited")
				}
				// Now GitHub signs the member in.
				bw = newBrowser(t)
				res = bw.get(start)
				if s := bw.signedIn(r); s == nil || s["user"] != member.ID || s["method"] != "social" {
					t.Fatalf("sign-in after the link: %d %s, session %v", res.status, res.body, s)
				}
			})

			t.Run("verified but non-primary email of a member", func(t *testing.T) {
				// The primary address is unverified; a verified secondary one
				// is the member's: nothing links, nothing is created.
				gh.signIn(2002, "mallory", email("mallory@evil.example", true, false), email("member@acme.example", false, true))
				bw := newBrowser(t)
				res := bw.get(start)
				if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
					t.Fatalf("got %d %s; want 403 email_not_verified", res.status, res.body)
				}
				if _, err := e.social.GetIdentity(context.Background(), "github", "2002"); !errors.Is(err, sso.ErrNotFound) {
					t.Errorf("identity stored: %v", err)
				}
				// The primary address verified, the member's address verified
				// but secondary: the account is mallory's own, never the member's.
				gh.signIn(2003, "mallory2", email("mallory@evil.example", true, true), email("member@acme.example", false, true))
				bw = newBrowser(t)
				res = bw.get(start)
				if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
					t.Fatalf("got %d %s; want 403 link_required", res.status, res.body)
				}
				if ids := e.identities(member.ID); len(ids) != 1 || ids[0].Subject != "1001" {
					t.Errorf("the member's account gained identities: %+v", ids)
				}
				if users, _ := e.social.FindUsersByEmail(context.Background(), "mallory@evil.example"); len(users) != 0 {
					t.Errorf("a user was created for mallory: %+v", users)
				}
			})

			t.Run("a linked account rejoins nothing by invitation or domain", func(t *testing.T) {
				// An offboarded member's GitHub account stays linked and
				// keeps the company address "verified"; an invitation or
				// auto-join for that address is for whoever reads it now.
				gone := e.member("usr_gone", "gone@acme.example", e.org("former", false, true), false)
				e.link(gone.ID, "github", "7007", gone.Email)
				e.adm.invite(gone.Email, acme.ID)
				gh.signIn(7007, "gone", email(gone.Email, true, true))
				bw := newBrowser(t)
				res := bw.get(start + "?org=acme")
				if res.status != http.StatusForbidden || bw.signedIn(r) != nil {
					t.Fatalf("got %d %s; want 403 access_denied", res.status, res.body)
				}
				if _, err := e.st.GetMembership(context.Background(), acme.ID, gone.ID); !errors.Is(err, sso.ErrNotFound) {
					t.Errorf("joined acme: %v", err)
				}
				if _, err := e.adm.Offer(context.Background(), gone.Email); err != nil {
					t.Errorf("the invitation was spent: %v", err)
				}
			})

			t.Run("SSO enforcement: break-glass excepted", func(t *testing.T) {
				big := e.org("bigcorp", true, true)
				staff := e.member("usr_staff", "staff@bigcorp.example", big, false)
				root := e.member("usr_root", "root@bigcorp.example", big, true)
				e.link(staff.ID, "github", "3003", staff.Email)
				e.link(root.ID, "github", "3004", root.Email)
				gh.signIn(3003, "staff", email("staff@bigcorp.example", true, true))
				bw := newBrowser(t)
				if res := bw.get(start); res.url.Path != "/sso/login/bigcorp" || bw.signedIn(r) != nil {
					t.Errorf("member of an SSO-enforcing org: ended at %s (%d); want routed to /sso/login/bigcorp", res.url, res.status)
				}
				gh.signIn(3004, "root", email("root@bigcorp.example", true, true))
				bw = newBrowser(t)
				bw.get(start)
				if s := bw.signedIn(r); s == nil || s["user"] != "usr_root" || s["org"] != big.ID {
					t.Errorf("break-glass member: session %v; want root's in bigcorp", s)
				}
			})

			t.Run("floods are rate limited per client", func(t *testing.T) {
				cfg := e.cfg
				cfg.RateLimit, cfg.Burst = 1e-9, 3
				m, err := social.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				codes := map[int]int{}
				for range 5 {
					w := httptest.NewRecorder()
					m.ServeHTTP(w, httptest.NewRequest("GET", "/github/start", nil))
					codes[w.Code]++
				}
				if codes[http.StatusFound] != 3 || codes[http.StatusTooManyRequests] != 2 {
					t.Errorf("statuses %v; want 3 x 302 then 429", codes)
				}
			})

			t.Run("a refused code is an invalid token, a failing API a 502", func(t *testing.T) {
				gh.signIn(1001, "mia", email("member@acme.example", true, true))
				bw := newBrowser(t)
				res := bw.get(start) // signs in; the code is now used
				if bw.signedIn(r) == nil {
					t.Fatalf("login failed: %d %s", res.status, res.body)
				}
				// A code that is not the one issued (or used twice).
				jar := newBrowser(t)
				jar.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
					if req.URL.Path == "/auth/social/github/callback" {
						return http.ErrUseLastResponse
					}
					return nil
				}
				resp, err := jar.c.Get(start)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				cb, _ := url.Parse(resp.Header.Get("Location"))
				q := cb.Query()
				q.Set("code", "code-forged")
				cb.RawQuery = q.Encode()
				jar.c.CheckRedirect = nil
				if res := jar.get(cb.String()); res.status != http.StatusForbidden || jar.signedIn(r) != nil {
					t.Errorf("forged code: got %d %s, want 403 token_invalid", res.status, res.body)
				}
				if !e.hasEvent("", sso.EventLoginFailed, social.ReasonTokenInvalid, map[string]string{"provider": "github"}) {
					t.Error("no token_invalid refusal audited")
				}
				gh.mu.Lock()
				gh.apiDown = true
				gh.mu.Unlock()
				res = newBrowser(t).get(start)
				gh.mu.Lock()
				gh.apiDown = false
				gh.mu.Unlock()
				if res.status != http.StatusBadGateway {
					t.Errorf("API down: got %d %s, want 502", res.status, res.body)
				}
			})
		})
	}
}
