package invite_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
	"github.com/ssokit/ssokit/store/sqlstore/sqlinvite"
)

var ctx = sso.WithAuditInfo(context.Background(), sso.AuditInfo{Actor: sso.Actor{Type: sso.ActorAdmin, ID: "usr_admin"}})

type env struct {
	t      *testing.T
	ms     backend
	is     invite.Store
	clock  *testkit.Clock
	mailer *mail.DevMailer
	m      *invite.Manager
	enf    *policy.Enforcer
}

func newEnv(t *testing.T) *env { return newEnvOn(t, "memstore") }

// backend is the core store of an env.
type backend interface{ sso.Store }

// backends runs f on memstore, SQLite and (when SSOKIT_TEST_POSTGRES is
// set) PostgreSQL, in parallel subtests.
func backends(t *testing.T, f func(t *testing.T, newEnv func(t *testing.T) *env)) {
	teststore.Each(t, func(t *testing.T, name string) {
		f(t, func(t *testing.T) *env { return newEnvOn(t, name) })
	})
}

func stores(t *testing.T, name string, now func() time.Time) (backend, invite.Store) {
	t.Helper()
	ms, st := teststore.Open(t, name, now)
	if ms != nil {
		return ms, meminvite.New(ms)
	}
	return st, sqlinvite.New(st)
}

func newClock() *testkit.Clock { return testkit.NewClock(time.Date(2030, 3, 4, 10, 0, 0, 0, time.UTC)) }

func newEnvOn(t *testing.T, name string) *env {
	t.Helper()
	clock := newClock()
	ms, is := stores(t, name, clock.Now)
	return newEnvWith(t, clock, ms, is, nil)
}

// newEnvWith builds an env on the stores given, with tweak (when non-nil)
// applied to the Manager's configuration.
func newEnvWith(t *testing.T, clock *testkit.Clock, ms backend, is invite.Store, tweak func(*invite.Config)) *env {
	t.Helper()
	trail, err := audit.New(audit.Config{Store: ms, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	enf, err := policy.New(policy.Config{Store: ms, Auditor: trail, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ms: ms, is: is, clock: clock, mailer: &mail.DevMailer{Now: clock.Now}, enf: enf}
	accept, _ := url.Parse("https://app.acme.example/invite/accept")
	cfg := invite.Config{Store: is, Users: ms, Orgs: ms, Members: ms, Domains: ms, Auditor: trail,
		Mailer: e.mailer, AcceptURL: accept, AppName: "Acme", Now: clock.Now}
	if tweak != nil {
		tweak(&cfg)
	}
	e.m, err = invite.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []*sso.Organization{{ID: "org_acme", Slug: "acme", Name: "Acme"}, {ID: "org_corp", Slug: "corp", Name: "Corp"}} {
		if o.ID == "org_corp" {
			o.Settings.SSOEnforced = true
			o.Settings.Features = o.Settings.Features.With("enforce_sso", "saml")
		}
		if err := ms.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

var tokenRE = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

func (e *env) token(addr string) string {
	e.t.Helper()
	msg, ok := e.mailer.Last(addr)
	if !ok {
		e.t.Fatalf("no email to %s", addr)
	}
	return tokenRE.FindStringSubmatch(msg.Text)[1]
}

func (e *env) user(id, email string, verified bool) {
	e.t.Helper()
	if err := e.ms.CreateUser(ctx, &sso.User{ID: id, Email: email, EmailVerified: verified}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) events(orgID, typ string) []*sso.Event {
	evs, _ := e.ms.ListEvents(ctx, sso.EventQuery{OrgID: orgID, Type: typ, Limit: 1000})
	return evs
}

func wantReason(t *testing.T, what string, err error, reason string) {
	t.Helper()
	if sso.ReasonOf(err) != reason {
		t.Errorf("%s: got %v (reason %q), want %q", what, err, sso.ReasonOf(err), reason)
	}
}

// TestAcceptNewUser: a new address accepts once; it gets a user with the
// address verified and the invited roles; the token's reuse is refused.
func TestAcceptNewUser(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		inv, err := e.m.Invite(ctx, "org_acme", "New@Acme.example", []string{"member"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(inv.TokenHash, e.token("new@acme.example")) {
			t.Error("the store holds the token itself")
		}
		tok := e.token("new@acme.example")
		org, mem, err := e.m.Accept(ctx, tok, "")
		if err != nil || org.ID != "org_acme" || !mem.Active() || !mem.HasRole("member") {
			t.Fatalf("accept: %v, %+v, %v", org, mem, err)
		}
		u, _ := e.ms.GetUser(ctx, mem.UserID)
		if u == nil || u.Email != "new@acme.example" || !u.EmailVerified {
			t.Errorf("the new user: %+v", u)
		}
		_, _, err = e.m.Accept(ctx, tok, "")
		wantReason(t, "reused invitation token", err, invite.ReasonTokenInvalid)
		if evs := e.events("org_acme", invite.EventAccepted); len(evs) != 1 {
			t.Errorf("accepted events: %d", len(evs))
		}
	})
}

// TestAcceptConcurrent: concurrent accepts of one token make one member.
func TestAcceptConcurrent(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		if _, err := e.m.Invite(ctx, "org_acme", "new@acme.example", []string{"member"}); err != nil {
			t.Fatal(err)
		}
		tok := e.token("new@acme.example")
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, _, err := e.m.Accept(ctx, tok, ""); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		ms, _ := e.ms.ListMembers(ctx, "org_acme", "", 100)
		if ok != 1 || len(ms) != 1 {
			t.Errorf("%d accepts succeeded, %d members; want 1 and 1", ok, len(ms))
		}
	})
}

// TestAcceptByAnotherEmail: a signed-in user whose address is not the
// invited one (or is unverified) is refused and the invitation stays
// usable by the invited address; an existing account must sign in first.
func TestAcceptByAnotherEmail(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		e.user("usr_mallory", "mallory@evil.example", true)
		e.user("usr_fake", "jane@acme.example", false)
		e.user("usr_jane", "jane@acme.example", true)
		if err := e.ms.CreateMembership(ctx, &sso.Membership{OrgID: "org_corp", UserID: "usr_jane", Roles: []string{"member"}, Status: sso.MembershipActive}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Invite(ctx, "org_acme", "jane@acme.example", []string{"admin"}); err != nil {
			t.Fatal(err)
		}
		tok := e.token("jane@acme.example")
		_, _, err := e.m.Accept(ctx, tok, "usr_mallory")
		wantReason(t, "accept by another address", err, invite.ReasonWrongAccount)
		_, _, err = e.m.Accept(ctx, tok, "usr_fake")
		wantReason(t, "accept by an unverified holder of the address", err, invite.ReasonWrongAccount)
		_, _, err = e.m.Accept(ctx, tok, "")
		wantReason(t, "accept without a session for an existing account", err, invite.ReasonSignInRequired)
		for _, id := range []string{"usr_mallory", "usr_fake"} {
			if _, err := e.ms.GetMembership(ctx, "org_acme", id); !errors.Is(err, sso.ErrNotFound) {
				t.Errorf("%s became a member: %v", id, err)
			}
		}
		if evs := e.events("org_acme", invite.EventAcceptRefused); len(evs) != 3 {
			t.Errorf("%d refused-accept events, want 3", len(evs))
		}
		_, mem, err := e.m.Accept(ctx, tok, "usr_jane")
		if err != nil || mem.UserID != "usr_jane" || !mem.HasRole("admin") {
			t.Errorf("accept by the invited account: %+v, %v", mem, err)
		}
	})
}

// TestResendRevokeExpire: a resend voids the earlier link; a revoked
// invitation and an expired one cannot be used; a second invitation of a
// pending address is refused.
func TestResendRevokeExpire(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		inv, _ := e.m.Invite(ctx, "org_acme", "a@acme.example", []string{"member"})
		old := e.token("a@acme.example")
		_, err := e.m.Invite(ctx, "org_acme", "a@acme.example", []string{"member"})
		wantReason(t, "a second invitation", err, invite.ReasonAlreadyInvited)
		if _, err := e.m.Resend(ctx, "org_acme", inv.ID); err != nil {
			t.Fatal(err)
		}
		fresh := e.token("a@acme.example")
		_, _, err = e.m.Accept(ctx, old, "")
		wantReason(t, "the link before a resend", err, invite.ReasonTokenInvalid)
		if _, err := e.m.Revoke(ctx, "org_acme", inv.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = e.m.Accept(ctx, fresh, "")
		wantReason(t, "a revoked invitation", err, invite.ReasonTokenInvalid)
		_, err = e.m.Resend(ctx, "org_acme", inv.ID)
		wantReason(t, "resend of a revoked invitation", err, invite.ReasonNotPending)
		if _, err := e.m.Revoke(ctx, "org_corp", inv.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Errorf("revoke through another organization: %v, want ErrNotFound", err)
		}
		e.m.Invite(ctx, "org_acme", "b@acme.example", []string{"member"})
		tok := e.token("b@acme.example")
		e.clock.Advance(7*24*time.Hour + time.Second)
		_, _, err = e.m.Accept(ctx, tok, "")
		wantReason(t, "an expired invitation", err, invite.ReasonTokenExpired)
	})
}

// TestAcceptIntoSSOOrg: joining an organization that enforces SSO makes a
// member whose local sign-in is refused: joining means SSO.
func TestAcceptIntoSSOOrg(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		e.m.Invite(ctx, "org_corp", "new@corp.example", []string{"member"})
		_, mem, err := e.m.Accept(ctx, e.token("new@corp.example"), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.enf.LocalLoginAllowed(ctx, "org_corp", mem.UserID); !errors.Is(err, sso.ErrSSORequired) {
			t.Errorf("local sign-in of the new member of an SSO org: %v, want ErrSSORequired", err)
		}
	})
}

// TestAutoJoin: only a verified email in a domain the organization has
// verified joins; join mode adds a member, approval mode a request an
// admin decides once; an unverified domain claim admits nobody.
func TestAutoJoin(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		if err := e.ms.CreateDomain(ctx, &sso.Domain{OrgID: "org_acme", Name: "acme.example", State: sso.DomainVerified}); err != nil {
			t.Fatal(err)
		}
		if err := e.ms.CreateDomain(ctx, &sso.Domain{OrgID: "org_corp", Name: "claimed.example", State: sso.DomainPending}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.SetPolicy(ctx, "org_corp", invite.ModeJoin, "member"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.SetPolicy(ctx, "org_acme", invite.ModeJoin, "member"); err != nil {
			t.Fatal(err)
		}
		_, err := e.m.SetPolicy(ctx, "org_acme", "sometimes", "member")
		wantReason(t, "a bad mode", err, invite.ReasonModeInvalid)
		for _, u := range []*sso.User{{ID: "usr_claimed", Email: "x@claimed.example", EmailVerified: true},
			{ID: "usr_unverified", Email: "y@acme.example"}} {
			out, err := e.m.AutoJoin(ctx, u)
			if err != nil || out.Joined != nil || out.Requested != nil {
				t.Errorf("auto-join of %s: %+v, %v; want nothing", u.ID, out, err)
			}
		}
		out, err := e.m.AutoJoin(ctx, &sso.User{ID: "usr_ok", Email: "ok@acme.example", EmailVerified: true})
		if err != nil || out.Joined == nil || out.Joined.OrgID != "org_acme" || !out.Joined.HasRole("member") {
			t.Fatalf("auto-join: %+v, %v", out, err)
		}
		if _, err := e.m.SetPolicy(ctx, "org_acme", invite.ModeApproval, "viewer"); err != nil {
			t.Fatal(err)
		}
		u := &sso.User{ID: "usr_ask", Email: "ask@acme.example", EmailVerified: true}
		out, err = e.m.AutoJoin(ctx, u)
		if err != nil || out.Requested == nil || out.Joined != nil {
			t.Fatalf("auto-join under approval: %+v, %v", out, err)
		}
		if _, err := e.ms.GetMembership(ctx, "org_acme", u.ID); !errors.Is(err, sso.ErrNotFound) {
			t.Error("approval mode made a member before the approval")
		}
		if _, err := e.m.Decide(ctx, "org_corp", out.Requested.ID, true); !errors.Is(err, sso.ErrNotFound) {
			t.Errorf("approval through another organization: %v, want ErrNotFound", err)
		}
		if _, err := e.m.Decide(ctx, "org_acme", out.Requested.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = e.m.Decide(ctx, "org_acme", out.Requested.ID, false)
		wantReason(t, "a second decision", err, invite.ReasonNotPending)
		if mem, err := e.ms.GetMembership(ctx, "org_acme", u.ID); err != nil || !mem.HasRole("viewer") {
			t.Errorf("after approval: %+v, %v", mem, err)
		}
		for _, typ := range []string{invite.EventAutoJoined, invite.EventJoinRequested, invite.EventJoinApproved, invite.EventAutoJoinPolicySet} {
			if len(e.events("org_acme", typ)) == 0 {
				t.Errorf("no %s event", typ)
			}
		}
	})
}

// TestAcceptPage: the GET page uses nothing; the POST accepts; another
// address's session is refused on a page that says what to do.
func TestAcceptPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.m.Invite(ctx, "org_acme", "p@acme.example", []string{"member"})
	tok := e.token("p@acme.example")
	w := httptest.NewRecorder()
	e.m.ServeHTTP(w, httptest.NewRequest("GET", "/accept?token="+tok, nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "You are invited to join Acme as p@acme.example") {
		t.Fatalf("GET page: %d %s", w.Code, w.Body)
	}
	e.user("usr_other", "other@acme.example", true)
	post := func(userID string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "https://app.acme.example/accept", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		if userID != "" {
			r = r.WithContext(sso.WithPrincipal(r.Context(), &sso.Principal{Kind: sso.PrincipalSession, UserID: userID}))
		}
		w := httptest.NewRecorder()
		e.m.ServeHTTP(w, r)
		return w
	}
	if w := post("usr_other"); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "This invitation is for p@acme.example") {
		t.Errorf("POST as another address: %d %s", w.Code, w.Body)
	}
	if w := post(""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "You joined Acme") {
		t.Errorf("POST: %d %s", w.Code, w.Body)
	}
	if w := post(""); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "already used") {
		t.Errorf("POST again: %d %s", w.Code, w.Body)
	}
}

// TestAcceptByAccountWithoutOrg: a verified account in no organization
// (a fresh password sign-up, which cannot sign in yet) accepts without a
// session, as the same user.
func TestAcceptByAccountWithoutOrg(t *testing.T) {
	t.Parallel()
	backends(t, func(t *testing.T, newEnv func(t *testing.T) *env) {
		e := newEnv(t)
		e.user("usr_fresh", "fresh@example.org", true)
		e.m.Invite(ctx, "org_acme", "fresh@example.org", []string{"member"})
		_, mem, err := e.m.Accept(ctx, e.token("fresh@example.org"), "")
		if err != nil || mem.UserID != "usr_fresh" {
			t.Fatalf("accept: %+v, %v; want usr_fresh's membership", mem, err)
		}
	})
}
