package portal_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// sessionsFixture is the portal fixture whose admin API has a real
// session.Manager as Sessions, on memstore or PostgreSQL.
type sessionsFixture struct {
	*fixture
	sm *session.Manager
}

func sessionsFixtures() map[string]func(t *testing.T) *sessionsFixture {
	on := func(t *testing.T, st fixtureStore) *sessionsFixture {
		sf := &sessionsFixture{}
		key, err := session.GenerateSigningKey("k1", session.ES256)
		if err != nil {
			t.Fatal(err)
		}
		sf.sm, err = session.New(session.Config{Store: st, Tokens: st, Revocations: st, Events: st, Orgs: st, Memberships: st,
			SigningKeys: []session.SigningKey{key}, Issuer: "https://app.test"})
		if err != nil {
			t.Fatal(err)
		}
		sf.fixture = newFixtureOn(t, st, func(c *portal.Config) { c.Admin.Sessions = sf.sm })
		return sf
	}
	return map[string]func(t *testing.T) *sessionsFixture{
		"memstore": func(t *testing.T) *sessionsFixture { return on(t, memstore.New()) },
		"PostgreSQL": func(t *testing.T) *sessionsFixture {
			st, err := sqlstore.New(testdb.Postgres(t), sqlstore.Postgres)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return on(t, st)
		},
	}
}

// member creates user id with an active membership in each of orgs.
func (f *sessionsFixture) member(id string, breakGlass bool, orgs ...*sso.Organization) {
	f.t.Helper()
	if err := f.st.CreateUser(ctx, &sso.User{ID: id, Email: strings.TrimPrefix(id, "usr_") + "@example.com"}); err != nil {
		f.t.Fatal(err)
	}
	for _, o := range orgs {
		if err := f.st.CreateMembership(ctx, &sso.Membership{OrgID: o.ID, UserID: id, Roles: []string{"member"},
			Status: sso.MembershipActive, Source: sso.SourceAdmin, BreakGlass: breakGlass}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// signIn issues a session and returns its cookie value.
func (f *sessionsFixture) signIn(o *sso.Organization, user string, method sso.AuthMethod) string {
	f.t.Helper()
	w := httptest.NewRecorder()
	if _, err := f.sm.Issue(w, httptest.NewRequest("POST", "https://app.test/login", nil),
		&sso.SessionGrant{UserID: user, OrgID: o.ID, Method: method, Roles: []string{"member"}}); err != nil {
		f.t.Fatal(err)
	}
	return w.Result().Cookies()[0].Value
}

func (f *sessionsFixture) works(cookie string) bool {
	f.t.Helper()
	r := httptest.NewRequest("GET", "https://app.test/me", nil)
	r.Header.Set("Cookie", f.sm.CookieName()+"="+cookie)
	_, err := f.sm.Current(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		f.t.Fatal(err)
	}
	return err == nil
}

// TestSignInMethodsPageEndsSessions: with an admin API that can end
// sessions, the page offers a checkbox, ticked by default, that signs out
// the sessions of the ways turned off (saying what it does and that
// break-glass administrators and other organizations keep theirs); saving
// with it ticked ends them in this organization only and says how many;
// unticked, nothing ends and the page says sessions stay open.
func TestSignInMethodsPageEndsSessions(t *testing.T) {
	t.Parallel()
	for name, open := range sessionsFixtures() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := open(t)
			for _, o := range []*sso.Organization{f.orgA, f.orgB} {
				got, _ := f.st.GetOrg(ctx, o.ID)
				got.Settings.Features = got.Settings.Features.With("passkey", "email_code")
				if err := f.st.UpdateOrg(ctx, got); err != nil {
					t.Fatal(err)
				}
			}
			f.member("usr_shared", false, f.orgA, f.orgB)
			f.member("usr_glass", true, f.orgA)
			codeA := f.signIn(f.orgA, "usr_shared", sso.AuthEmailCode)
			pwA := f.signIn(f.orgA, "usr_shared", sso.AuthPassword)
			keyA := f.signIn(f.orgA, "usr_shared", sso.AuthPasskey)
			pwB := f.signIn(f.orgB, "usr_shared", sso.AuthPassword)
			glassPw := f.signIn(f.orgA, "usr_glass", sso.AuthPassword)

			b, _ := f.open(f.orgA, portal.SectionSSO)
			r := b.get("/sign-in-methods")
			if r.Status != http.StatusOK || !strings.Contains(r.Body, `name="end_sessions" value="on" checked`) ||
				!strings.Contains(r.text(), "Sign out everyone who signed in a way that is no longer allowed") ||
				!strings.Contains(r.text(), "Break-glass administrators keep their password sessions") ||
				!strings.Contains(r.text(), "Sessions in other organizations are not affected") {
				t.Fatalf("page: %d %s", r.Status, r.text())
			}

			// Unticked: email codes off, nothing ends.
			form := b.form("choice", "some")
			form["method"] = []string{"password", "passkey"}
			if r := b.post("/sign-in-methods", form); r.Status != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "ended") {
				t.Fatalf("save unticked: %d %s", r.Status, r.Header.Get("Location"))
			}
			if !f.works(codeA) {
				t.Fatal("an unticked save ended a session")
			}

			// Ticked: password off too; the email-code and password sessions
			// of the member end, the passkey one, the break-glass password
			// session and the session in B stay.
			form = b.form("choice", "some", "end_sessions", "on")
			form["method"] = []string{"passkey"}
			r = b.post("/sign-in-methods", form)
			loc := r.Header.Get("Location")
			if r.Status != http.StatusSeeOther || !strings.HasSuffix(loc, "/sign-in-methods?done=saved&ended=2") {
				t.Fatalf("save ticked: %d %s %s", r.Status, loc, r.text())
			}
			if f.works(codeA) || f.works(pwA) {
				t.Fatal("a session of a way turned off survived")
			}
			if !f.works(keyA) || !f.works(glassPw) || !f.works(pwB) {
				t.Fatal("a session that should stay ended")
			}
			if r := b.get("/sign-in-methods?done=saved&ended=2"); !strings.Contains(r.text(), "Changes saved. 2 sessions signed in a way that is no longer allowed were ended.") {
				t.Fatalf("confirmation: %s", r.text())
			}
			if r := b.get("/sign-in-methods?done=saved&ended=1"); !strings.Contains(r.text(), "1 session signed in a way that is no longer allowed was ended.") {
				t.Fatalf("confirmation of one: %s", r.text())
			}
			evs := f.events(f.orgA, sso.EventSessionRevoked)
			if len(evs) != 2 || evs[0].Reason != admin.ReasonSignInMethodOff {
				t.Fatalf("audit: %+v", evs)
			}
			if evs := f.events(f.orgB, sso.EventSessionRevoked); len(evs) != 0 {
				t.Fatalf("B's audit: %+v", evs)
			}
		})
	}
}

// TestSignInMethodsPageWithoutSessionEnding: when the admin API cannot end
// sessions, the page has no checkbox and says sessions stay open.
func TestSignInMethodsPageWithoutSessionEnding(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b, _ := f.open(f.orgA, portal.SectionSSO)
	r := b.get("/sign-in-methods")
	if r.Status != http.StatusOK || strings.Contains(r.Body, `name="end_sessions"`) ||
		!strings.Contains(r.text(), "Sessions already open stay open until they expire.") {
		t.Fatalf("page: %d %s", r.Status, r.text())
	}
	// A hand-made end_sessions is ignored, not an error.
	form := b.form("choice", "some", "end_sessions", "on")
	form["method"] = []string{"password"}
	if r := b.post("/sign-in-methods", form); r.Status != http.StatusSeeOther || strings.Contains(r.Header.Get("Location"), "ended") {
		t.Fatalf("save: %d %s", r.Status, r.Header.Get("Location"))
	}
}
