package login_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/login"
)

// memberGuardRig is a returning member of an organization, an admin, with
// a real session.Manager on one of the back-ends.
type memberGuardRig struct {
	st    teststore.LoginStore
	hook  *teststore.BeforeLoginWrite
	c     *login.Completer
	conn  *sso.Connection
	orgID string
	uid   string
}

func newMemberGuardRig(t *testing.T, backend string) *memberGuardRig {
	return newMemberGuardRigOn(t, backend, nil)
}

// newMemberGuardRigOn is newMemberGuardRig whose completer reads and
// writes the core records through wrap(store) when wrap is set.
func newMemberGuardRigOn(t *testing.T, backend string, wrap func(teststore.LoginStore) sso.Store) *memberGuardRig {
	e := ssoenv.New(t)
	st := teststore.OpenLogin(t, backend, e.Clock)
	org := &sso.Organization{ID: opaque.NewID("org_"), Slug: "acme", Name: "Acme"}
	org.Settings.Features, org.Settings.AllowJIT = ssoenv.AllFeatures, true
	if err := st.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	conn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: org.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
		Config: &oidc.ConnectionConfig{Issuer: "https://idp.example"}}
	if err := st.CreateConnection(ctx, conn); err != nil {
		t.Fatal(err)
	}
	hook := &teststore.BeforeLoginWrite{LoginStore: st}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sessions, err := session.New(session.Config{Store: hook, Events: st, Orgs: st, Memberships: st, Now: e.Clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	aud, err := audit.New(audit.Config{Store: st, Now: e.Clock})
	if err != nil {
		t.Fatal(err)
	}
	var core sso.Store = st
	if wrap != nil {
		core = wrap(st)
	}
	c, err := login.New(login.Config{Store: core, Sessions: sessions, Auditor: aud, Now: e.Clock, Logger: log, WriteWithSession: true})
	if err != nil {
		t.Fatal(err)
	}
	r := &memberGuardRig{st: st, hook: hook, c: c, conn: conn, orgID: org.ID}
	if err := r.login(); err != nil {
		t.Fatalf("first login: %v", err)
	}
	ms, err := st.ListMembers(ctx, org.ID, "", 2)
	if err != nil || len(ms) != 1 {
		t.Fatalf("members after the first login = %v, %v", ms, err)
	}
	r.uid = ms[0].UserID
	r.edit(t, func(m *sso.Membership) { m.Roles = []string{"admin"} })
	return r
}

func (r *memberGuardRig) login() error {
	req := httptest.NewRequest("POST", "https://app.example/sso/oidc/callback", nil)
	return r.c.Complete(httptest.NewRecorder(), req, &sso.Login{Connection: r.conn,
		Profile: ssoenv.Profile(r.conn, "sub-1", "boss@acme.com", true)})
}

// edit changes the stored membership as an administrator would.
func (r *memberGuardRig) edit(t *testing.T, f func(m *sso.Membership)) {
	t.Helper()
	m, err := r.st.GetMembership(ctx, r.orgID, r.uid)
	if err != nil {
		t.Fatal(err)
	}
	f(m)
	if err := r.st.UpdateMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
}

func (r *memberGuardRig) sessions(t *testing.T) []*session.Session {
	t.Helper()
	ss, err := r.st.ListUserSessions(ctx, r.uid)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// TestSessionWriteSeesSuspensionDuringLogin: a member suspended after the
// login read the membership, before its session was written, gets no
// session: the login is resolved again and refused as suspended.
func TestSessionWriteSeesSuspensionDuringLogin(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		r := newMemberGuardRig(t, backend)
		before := len(r.sessions(t))
		r.hook.Before(func() { r.edit(t, func(m *sso.Membership) { m.Status = sso.MembershipSuspended }) })
		err := r.login()
		ssoenv.WantReason(t, err, sso.ErrAccessDenied, "membership_suspended")
		if n := len(r.sessions(t)); n != before {
			t.Fatalf("the suspended member has %d sessions after the login, had %d", n, before)
		}
	})
}

// TestSessionWriteSeesDemotionDuringLogin: an admin demoted after the login
// read the membership, before its session was written, gets a session
// with the roles the member holds now, never the admin role it was read
// with.
func TestSessionWriteSeesDemotionDuringLogin(t *testing.T) {
	t.Parallel()
	teststore.Each(t, func(t *testing.T, backend string) {
		r := newMemberGuardRig(t, backend)
		had := map[string]bool{}
		for _, s := range r.sessions(t) {
			had[s.ID] = true
		}
		r.hook.Before(func() { r.edit(t, func(m *sso.Membership) { m.Roles = []string{"member"} }) })
		if err := r.login(); err != nil {
			t.Fatalf("login after a demotion: %v", err)
		}
		var added []*session.Session
		for _, s := range r.sessions(t) {
			if !had[s.ID] {
				added = append(added, s)
			}
		}
		if len(added) != 1 || !slices.Equal(added[0].Roles, []string{"member"}) {
			for _, s := range added {
				t.Logf("new session %s: roles %v", s.ID, s.Roles)
			}
			t.Fatalf("the login after the demotion added %d sessions; want one with roles [member]", len(added))
		}
	})
}
