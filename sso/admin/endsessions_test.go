package admin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// sessionFixtures open the member fixture with a real session.Manager as
// Sessions (and so as the organization-scoped revoker), on memstore and
// PostgreSQL; then changes the configuration after that.
func sessionFixtures(then ...func(*admin.Config)) map[string]func(t *testing.T) *memberFixture {
	withSessions := func(mf *memberFixture) func(c *admin.Config) {
		return func(c *admin.Config) {
			mf.sm = realSessions(mf.t, c.Store)
			c.Sessions, c.Sync = mf.sm, mf.sm
			for _, f := range then {
				f(c)
			}
		}
	}
	finish := func(mf *memberFixture) *memberFixture {
		for _, o := range []*sso.Organization{mf.orgA, mf.orgB} {
			mf.addMember(o, "usr_admin_"+o.Slug, "owner", "admin")
		}
		return mf
	}
	return map[string]func(t *testing.T) *memberFixture{
		"memstore": func(t *testing.T) *memberFixture {
			mf := &memberFixture{fixture: &fixture{t: t}}
			mf.fixture = newFixtureOn(t, memstore.New(), withSessions(mf))
			return finish(mf)
		},
		"PostgreSQL": func(t *testing.T) *memberFixture {
			mf := &memberFixture{fixture: &fixture{t: t}}
			mf.fixture, _ = sqlFixture(t, sqlstore.Postgres, withSessions(mf))
			return finish(mf)
		},
	}
}

// liveLogin is a real session with its access token.
type liveLogin struct {
	name          string
	id            string
	cookie, token string
}

func (f *memberFixture) signIn(o *sso.Organization, user string, method sso.AuthMethod) liveLogin {
	f.t.Helper()
	w := httptest.NewRecorder()
	s, err := f.sm.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: user, OrgID: o.ID, Method: method, Roles: []string{"member"}})
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.sm.IssueTokens(ctx, s, session.TokenOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return liveLogin{name: user + "/" + o.Slug + "/" + string(method), id: s.ID, cookie: w.Result().Cookies()[0].Value, token: p.AccessToken}
}

// works reports whether l's session and access token both still work.
func (f *memberFixture) works(l liveLogin) bool {
	f.t.Helper()
	r := httptest.NewRequest("GET", "https://app.test/me", nil)
	r.Header.Set("Cookie", f.sm.CookieName()+"="+l.cookie)
	_, serr := f.sm.Current(r)
	if serr != nil && !errors.Is(serr, session.ErrNoSession) {
		f.t.Fatal(serr)
	}
	_, terr := f.sm.VerifyAccessToken(ctx, l.token)
	if (serr == nil) != (terr == nil) {
		f.t.Fatalf("%s: cookie error %v, token error %v", l.name, serr, terr)
	}
	return serr == nil
}

// TestOrgEndSessionsOfTurnedOffMethods: PATCH /org with end_sessions ends
// the organization's sessions signed in with a method it turns off, keeps
// a break-glass member's password sessions, the sessions of methods still
// allowed and of SSO, and every session in the other organization (where
// the same user signed in with the same method), counts what it ended and
// audits each; without end_sessions nothing ends, and the same request
// with end_sessions later finishes the job.
func TestOrgEndSessionsOfTurnedOffMethods(t *testing.T) {
	t.Parallel()
	for name, open := range sessionFixtures() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := open(t)
			a, b := f.orgA, f.orgB
			for _, o := range []*sso.Organization{a, b} {
				got, _ := f.st.GetOrg(ctx, o.ID)
				got.Settings.Features = got.Settings.Features.With("passkey").With("email_code")
				if err := f.st.UpdateOrg(ctx, got); err != nil {
					t.Fatal(err)
				}
			}
			f.addMember(a, "usr_shared", "member")
			if err := f.st.CreateMembership(ctx, &sso.Membership{OrgID: b.ID, UserID: "usr_shared", Roles: []string{"member"},
				Status: sso.MembershipActive, Source: sso.SourceAdmin}); err != nil {
				t.Fatal(err)
			}
			f.addMember(a, "usr_glass", "admin")
			glassM, _ := f.st.GetMembership(ctx, a.ID, "usr_glass")
			glassM.BreakGlass = true
			if err := f.st.UpdateMembership(ctx, glassM); err != nil {
				t.Fatal(err)
			}
			pwA := f.signIn(a, "usr_shared", sso.AuthPassword)
			codeA := f.signIn(a, "usr_shared", sso.AuthEmailCode)
			keyA := f.signIn(a, "usr_shared", sso.AuthPasskey)
			ssoA := f.signIn(a, "usr_shared", sso.AuthMethod("saml"))
			pwB := f.signIn(b, "usr_shared", sso.AuthPassword)
			glassPw := f.signIn(a, "usr_glass", sso.AuthPassword)
			glassCode := f.signIn(a, "usr_glass", sso.AuthEmailCode)

			// Validation: end_sessions goes with sign_in_methods and is a boolean.
			for _, tc := range []struct{ body, field string }{
				{`{"name":"Alpha","end_sessions":true}`, "end_sessions"},
				{`{"sign_in_methods":["passkey"],"end_sessions":"yes"}`, ""},
			} {
				code, m := f.as(a, "usr_admin_alpha", "PATCH", "/org", tc.body)
				if code != http.StatusBadRequest || (tc.field != "" && m["field"] != tc.field) {
					t.Fatalf("PATCH %s: %d %v, want 400 naming %q", tc.body, code, m, tc.field)
				}
			}
			if o, _ := f.st.GetOrg(ctx, a.ID); o.Settings.SignInMethods != nil || o.Name != a.Name {
				t.Fatalf("a refused request changed the organization: %+v", o.Settings.SignInMethods)
			}

			// Default: turning email codes off ends nothing.
			code, m := f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"sign_in_methods":["password","passkey"]}`)
			if code != http.StatusOK || m["ended_sessions"] != nil {
				t.Fatalf("turn off without end_sessions: %d %v", code, m)
			}
			if !f.works(codeA) || !f.works(glassCode) {
				t.Fatal("turning a method off without end_sessions ended sessions")
			}

			// Turn the password off too, ending sessions: the email-code
			// sessions (turned off before) and the password ones end, but
			// not the break-glass password session, the passkey and SSO
			// sessions, or anything in B.
			code, m = f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"sign_in_methods":["passkey"],"end_sessions":true}`)
			if code != http.StatusOK || m["ended_sessions"] != float64(3) || join(m["sign_in_methods"]) != "passkey" {
				t.Fatalf("end_sessions: %d %v, want 200 with ended_sessions 3", code, m)
			}
			for _, l := range []liveLogin{pwA, codeA, glassCode} {
				if f.works(l) {
					t.Errorf("%s survived", l.name)
				}
			}
			for _, l := range []liveLogin{keyA, ssoA, pwB, glassPw} {
				if !f.works(l) {
					t.Errorf("%s ended", l.name)
				}
			}
			evs := f.events(a.ID, sso.EventSessionRevoked)
			ended := map[string]string{}
			for _, ev := range evs {
				if ev.Reason != admin.ReasonSignInMethodOff || ev.Actor.ID != "usr_admin_alpha" || ev.Target.Type != "session" {
					t.Errorf("revocation event %+v", ev)
				}
				ended[ev.Target.ID] = ev.Details["method"]
			}
			if len(evs) != 3 || ended[pwA.id] != "password" || ended[codeA.id] != "email_code" || ended[glassCode.id] != "email_code" {
				t.Fatalf("revocation events: %v", ended)
			}
			if evs := f.events(b.ID, sso.EventSessionRevoked); len(evs) != 0 {
				t.Fatalf("B's audit trail: %+v", evs)
			}
			upd := f.events(a.ID, admin.EventOrgUpdated)
			if last := upd[len(upd)-1]; last.Details["to"] != "passkey" || last.Details["end_sessions"] != "true" {
				t.Fatalf("org.updated: %+v", last.Details)
			}
			if o, _ := f.st.GetOrg(ctx, b.ID); o.Settings.SignInMethods != nil {
				t.Fatalf("B's methods changed: %v", o.Settings.SignInMethods)
			}

			// The same list again with end_sessions (a retry) ends what a
			// new login through a since-turned-off method left: nothing
			// here, and it is still answered with a count.
			code, m = f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"sign_in_methods":["passkey"],"end_sessions":true}`)
			if code != http.StatusOK || m["ended_sessions"] != float64(0) {
				t.Fatalf("retry: %d %v", code, m)
			}
			if len(f.events(a.ID, admin.EventOrgUpdated)) != len(upd) {
				t.Fatal("an unchanged list recorded a change")
			}
		})
	}
}

// TestEndSessionsNeedsOrgRevoker: without a Sessions that can end an
// organization's sessions, end_sessions is refused before the change.
func TestEndSessionsNeedsOrgRevoker(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	code, m := f.json(f.orgA, "PATCH", "/org", `{"sign_in_methods":["password"],"end_sessions":true}`)
	if code != http.StatusInternalServerError {
		t.Fatalf("end_sessions without a revoker: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, f.orgA.ID); o.Settings.SignInMethods != nil {
		t.Fatalf("the change was stored: %v", o.Settings.SignInMethods)
	}
}

// TestMemberSuspendRemoveEndOnlyThatOrg: A's admin suspending, then
// removing, a member who also belongs to B ends their session and token
// in A; those in B keep working.
func TestMemberSuspendRemoveEndOnlyThatOrg(t *testing.T) {
	t.Parallel()
	for name, open := range sessionFixtures() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := open(t)
			a, b := f.orgA, f.orgB
			f.addMember(a, "usr_shared", "member")
			if err := f.st.CreateMembership(ctx, &sso.Membership{OrgID: b.ID, UserID: "usr_shared", Roles: []string{"member"},
				Status: sso.MembershipActive, Source: sso.SourceAdmin}); err != nil {
				t.Fatal(err)
			}
			inB := f.signIn(b, "usr_shared", sso.AuthPassword)
			for _, step := range [][3]string{
				{"PUT", "/members/usr_shared/status", `{"status":"suspended"}`},
				{"DELETE", "/members/usr_shared", ""},
			} {
				if step[1] == "/members/usr_shared" {
					if code, m := f.as(a, "usr_admin_alpha", "PUT", "/members/usr_shared/status", `{"status":"active"}`); code != http.StatusOK {
						t.Fatalf("reactivate: %d %v", code, m)
					}
				}
				inA := f.signIn(a, "usr_shared", sso.AuthPassword)
				if code, m := f.as(a, "usr_admin_alpha", step[0], step[1], step[2]); code != http.StatusOK && code != http.StatusNoContent {
					t.Fatalf("%s %s: %d %v", step[0], step[1], code, m)
				}
				if f.works(inA) {
					t.Fatalf("%s %s: the session in A survived", step[0], step[1])
				}
				if !f.works(inB) {
					t.Fatalf("%s %s: A's admin ended the member's session and token in B", step[0], step[1])
				}
			}
		})
	}
}

// failingSync is a MembershipSyncer that fails while fail is set, then
// hands the membership to next.
type failingSync struct {
	next sso.MembershipSyncer
	fail atomic.Bool
}

func (f *failingSync) SyncMembership(ctx context.Context, m *sso.Membership) error {
	if f.fail.Load() {
		return fmt.Errorf("%w: session store down", sso.ErrUnavailable)
	}
	return f.next.SyncMembership(ctx, m)
}

// TestRemoveMemberRetryEndsSessions: a removal whose session sync failed
// has deleted the membership; the admin's retry finds no member, and
// still ends the former member's sessions in the organization before it
// answers 404, leaving their sessions elsewhere alone.
func TestRemoveMemberRetryEndsSessions(t *testing.T) {
	t.Parallel()
	for name := range sessionFixtures() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var fs *failingSync
			f := sessionFixtures(func(c *admin.Config) {
				fs = &failingSync{next: c.Sync}
				c.Sync = fs
			})[name](t)
			a, b := f.orgA, f.orgB
			f.addMember(a, "usr_gone", "member")
			if err := f.st.CreateMembership(ctx, &sso.Membership{OrgID: b.ID, UserID: "usr_gone", Roles: []string{"member"},
				Status: sso.MembershipActive, Source: sso.SourceAdmin}); err != nil {
				t.Fatal(err)
			}
			inA, inB := f.signIn(a, "usr_gone", sso.AuthPassword), f.signIn(b, "usr_gone", sso.AuthPassword)
			fs.fail.Store(true)
			if code, m := f.as(a, "usr_admin_alpha", "DELETE", "/members/usr_gone", ""); code < 500 {
				t.Fatalf("removal with the sync down: %d %v; want a server error", code, m)
			}
			if _, err := f.st.GetMembership(ctx, a.ID, "usr_gone"); !errors.Is(err, sso.ErrNotFound) {
				t.Fatalf("the membership: %v; the test needs the removal stored", err)
			}
			if !f.works(inA) {
				t.Fatal("the session in A ended although the sync failed; the test needs it alive")
			}
			fs.fail.Store(false)
			if code, m := f.as(a, "usr_admin_alpha", "DELETE", "/members/usr_gone", ""); code != http.StatusNotFound {
				t.Fatalf("retry: %d %v; want 404", code, m)
			}
			if f.works(inA) {
				t.Fatal("the retry left the former member's session in A")
			}
			if !f.works(inB) {
				t.Fatal("the retry in A ended the session in B")
			}
		})
	}
}
