package login_test

import (
	"database/sql"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/teststore"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// TestRoleMappingKeepsConcurrentSuspension is the lost suspension: a
// login whose group mapping changes the member's roles races an
// administrator's suspension, written as a change of the status alone
// (as any replica or tool may write it). The login must write only the
// roles: the member ends suspended in every round, whichever commits
// first, with the roles of the login.
func TestRoleMappingKeepsConcurrentSuspension(t *testing.T) {
	t.Parallel()
	for name, d := range map[string]sqlstore.Dialect{"sqlite": sqlstore.SQLite, "postgres": sqlstore.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, db := teststore.SQLWithDB(t, d, nil)
			raceRolesAndSuspension(t, st, db)
		})
	}
}

func raceRolesAndSuspension(t *testing.T, st *sqlstore.Store, db *sql.DB) {
	t.Helper()
	o := &sso.Organization{ID: opaque.NewID("org_"), Slug: "acme", Name: "Acme"}
	o.Settings.Features = ssoenv.AllFeatures
	o.Settings.AllowJIT = true
	if err := st.CreateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: o.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	cn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: o.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
		Config: &oidc.ConnectionConfig{Issuer: "https://idp.example"}, GroupRoles: []sso.GroupRole{{Group: "admins", Role: "admin"}}}
	if err := st.CreateConnection(ctx, cn); err != nil {
		t.Fatal(err)
	}
	aud, err := audit.New(audit.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	c, err := login.New(login.Config{Store: st, Sessions: &ssoenv.FakeIssuer{}, Auditor: aud})
	if err != nil {
		t.Fatal(err)
	}
	e := ssoenv.New(t)
	profile := func(groups ...string) *sso.Profile {
		p := ssoenv.Profile(cn, "sub-1", "boss@acme.com", true)
		p.Groups = groups
		return p
	}
	if _, err := e.Login(c, &sso.Login{Connection: cn, Profile: profile()}); err != nil {
		t.Fatal(err)
	}
	ms, err := st.ListMembers(ctx, o.ID, "", 2)
	if err != nil || len(ms) != 1 {
		t.Fatalf("members %v %v", ms, err)
	}
	uid := ms[0].UserID
	setStatus := func(s sso.MembershipStatus) error {
		_, err := db.ExecContext(ctx, `UPDATE ssokit_memberships SET status = $1 WHERE org_id = $2 AND user_id = $3`, string(s), o.ID, uid)
		return err
	}
	lost := 0
	for round := range 40 {
		if err := setStatus(sso.MembershipActive); err != nil {
			t.Fatal(err)
		}
		// Every round's login changes the roles: admin, member, admin ...
		p, want := profile("admins"), "admin"
		if round%2 == 1 {
			p, want = profile(), "member"
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var loginErr, suspendErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, loginErr = e.Login(c, &sso.Login{Connection: cn, Profile: p})
		}()
		go func() {
			defer wg.Done()
			<-start
			suspendErr = setStatus(sso.MembershipSuspended)
		}()
		close(start)
		wg.Wait()
		if suspendErr != nil {
			t.Fatalf("round %d: suspension: %v", round, suspendErr)
		}
		m, err := st.GetMembership(ctx, o.ID, uid)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != sso.MembershipSuspended {
			lost++
			t.Errorf("round %d: status %q after a suspension raced a login (login error %v)", round, m.Status, loginErr)
		}
		if loginErr == nil && (len(m.Roles) != 1 || m.Roles[0] != want) {
			t.Errorf("round %d: roles %v after a successful login, want [%s]", round, m.Roles, want)
		}
	}
	if lost > 0 {
		t.Logf("%d of 40 suspensions lost", lost)
	}
}
