package scim_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

// withSync sets Config.Sync.
func withSync(s sso.MembershipSyncer) envOpt { return func(c *scim.Config) { c.Sync = s } }

// mapAdmins maps the SCIM group "Admins" to the admin role (and "Eng" to
// developer) in e's organization.
func (e *env) mapAdmins() {
	e.t.Helper()
	conn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: e.org.ID, Protocol: saml.Protocol, Status: sso.ConnectionActive,
		GroupRoles: []sso.GroupRole{{Group: "Admins", Role: "admin"}, {Group: "Eng", Role: "developer"}}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := e.st.CreateConnection(context.Background(), conn); err != nil {
		e.t.Fatal(err)
	}
}

// lastSync returns the last membership synced for userID after the first
// skip calls, failing when there is none.
func lastSync(t *testing.T, s *recordingSyncer, userID string, skip int) sso.Membership {
	t.Helper()
	calls := s.of(userID)
	if len(calls) <= skip {
		t.Fatalf("%d syncs of %s, want more than %d", len(calls), userID, skip)
	}
	return calls[len(calls)-1]
}

// TestTX10_GroupChangesSyncRoles: every SCIM change of a member's
// groups that changes their roles hands the stored membership to the
// MembershipSyncer (a recording fake here; the real one, session.Manager,
// is tested in package session): removal from the admin group (PATCH,
// PUT, group DELETE, group rename) syncs roles without admin, adding syncs
// them with admin, and a change that maps to the same roles syncs nothing.
func TestTX10_GroupChangesSyncRoles(t *testing.T) {
	t.Parallel()
	syncer := &recordingSyncer{}
	e := newEnv(t, withSync(syncer))
	e.mapAdmins()
	alice := e.createUser("alice@acme.test")
	bob := e.createUser("bob@acme.test")
	if n := len(syncer.of(alice)); n != 0 {
		t.Fatalf("%d syncs for a new user with no sessions", n)
	}
	admins := e.createGroup("Admins", alice)
	if m := lastSync(t, syncer, alice, 0); !m.HasRole("admin") || m.OrgID != e.org.ID {
		t.Fatalf("sync after joining Admins: %+v", m)
	}
	step := func(name, method, path, body string, status int, wantAdmin bool) {
		t.Helper()
		n := len(syncer.of(alice))
		e.do(method, path, body).want(t, status)
		m := lastSync(t, syncer, alice, n)
		if m.HasRole("admin") != wantAdmin || len(m.Roles) == 0 {
			t.Errorf("%s: synced roles %v, want admin=%v", name, m.Roles, wantAdmin)
		}
		if stored := e.membership(alice); !equalRoles(stored.Roles, m.Roles) {
			t.Errorf("%s: synced roles %v, stored %v", name, m.Roles, stored.Roles)
		}
	}
	step("PATCH remove", "PATCH", "/Groups/"+admins, patchOps(`{"op":"remove","path":"members[value eq \"`+alice+`\"]"}`), http.StatusNoContent, false)
	step("PATCH add", "PATCH", "/Groups/"+admins, patchOps(`{"op":"add","path":"members","value":[{"value":`+q(alice)+`}]}`), http.StatusNoContent, true)
	step("PUT without her", "PUT", "/Groups/"+admins, `{"displayName":"Admins","members":[{"value":`+q(bob)+`}]}`, http.StatusOK, false)
	step("PUT with her", "PUT", "/Groups/"+admins, `{"displayName":"Admins","members":[{"value":`+q(alice)+`}]}`, http.StatusOK, true)
	step("rename", "PATCH", "/Groups/"+admins, patchOps(`{"op":"replace","path":"displayName","value":"Former admins"}`), http.StatusNoContent, false)
	step("rename back", "PATCH", "/Groups/"+admins, patchOps(`{"op":"replace","path":"displayName","value":"Admins"}`), http.StatusNoContent, true)
	step("group DELETE", "DELETE", "/Groups/"+admins, "", http.StatusNoContent, false)

	// A group that maps to no role changes nothing and syncs nothing.
	n := len(syncer.of(alice))
	e.createGroup("Book club", alice)
	if got := len(syncer.of(alice)); got != n {
		t.Errorf("%d syncs for a change that kept the roles", got-n)
	}
	if e.rev.revoked(alice) != 0 {
		t.Error("sessions revoked although every sync succeeded")
	}
}

func equalRoles(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTX10_StatusChangesSyncAndStillRevoke: deactivation (PATCH
// active=false, DELETE) syncs the deactivated membership and still
// revokes the sessions; reactivation syncs the active one. A DELETE also
// takes the user out of every group, so the admin role goes with it.
func TestTX10_StatusChangesSyncAndStillRevoke(t *testing.T) {
	t.Parallel()
	syncer := &recordingSyncer{}
	e := newEnv(t, withSync(syncer))
	e.mapAdmins()
	id := e.createUser("carol@acme.test")
	e.createGroup("Admins", id)
	n := len(syncer.of(id))

	e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"active","value":false}`)).want(t, http.StatusOK)
	if m := lastSync(t, syncer, id, n); m.Status != sso.MembershipDeactivated {
		t.Errorf("sync after deactivation: status %s", m.Status)
	}
	if e.rev.revoked(id) != 1 {
		t.Errorf("RevokeUser called %d times on deactivation, want 1", e.rev.revoked(id))
	}
	n = len(syncer.of(id))
	e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"active","value":true}`)).want(t, http.StatusOK)
	if m := lastSync(t, syncer, id, n); m.Status != sso.MembershipActive || !m.HasRole("admin") {
		t.Errorf("sync after reactivation: %+v", m)
	}
	n = len(syncer.of(id))
	e.do("DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
	m := lastSync(t, syncer, id, n)
	if m.Status != sso.MembershipDeactivated || m.HasRole("admin") {
		t.Errorf("sync after DELETE: %+v, want deactivated without admin", m)
	}
	if got := len(syncer.of(id)) - n; got != 1 {
		t.Errorf("%d syncs for one DELETE, want 1", got)
	}
	if e.membership(id).HasRole("admin") {
		t.Error("a deleted user kept the role of a group the store took them out of")
	}
	if e.rev.revoked(id) != 2 {
		t.Errorf("RevokeUser called %d times after DELETE, want 2", e.rev.revoked(id))
	}
}

// syncingRevoker is a Revoker that is also a MembershipSyncer, as
// session.Manager is.
type syncingRevoker struct {
	*recordingRevoker
	*recordingSyncer
}

// TestTX10_RevokerThatSyncsIsTheDefaultSyncer: with Config.Sync unset,
// a Revoker that implements sso.MembershipSyncer is used, so existing
// wiring (Revoker: sessionManager) gets role sync without a change.
func TestTX10_RevokerThatSyncsIsTheDefaultSyncer(t *testing.T) {
	t.Parallel()
	sr := syncingRevoker{&recordingRevoker{}, &recordingSyncer{}}
	e := newEnv(t, func(c *scim.Config) { c.Revoker = sr })
	e.mapAdmins()
	id := e.createUser("dan@acme.test")
	g := e.createGroup("Admins", id)
	e.do("PATCH", "/Groups/"+g, patchOps(`{"op":"remove","path":"members"}`)).want(t, http.StatusNoContent)
	calls := sr.recordingSyncer.of(id)
	if len(calls) != 2 || !calls[0].HasRole("admin") || calls[1].HasRole("admin") {
		t.Fatalf("syncs through the Revoker: %+v", calls)
	}
	// Config.Sync, when set, wins.
	own := &recordingSyncer{}
	e2 := newEnv(t, func(c *scim.Config) { c.Revoker, c.Sync = sr, own })
	e2.mapAdmins()
	id2 := e2.createUser("dee@acme.test")
	e2.createGroup("Admins", id2)
	if len(own.of(id2)) != 1 || len(sr.recordingSyncer.of(id2)) != 0 {
		t.Errorf("Config.Sync got %d syncs, the Revoker %d; want 1 and 0", len(own.of(id2)), len(sr.recordingSyncer.of(id2)))
	}
}

// TestTX10_RoleLossFailsClosed: when the sync fails, or there is no
// syncer, a member who lost a role is signed out (RevokeUser) rather than
// left with the role in live sessions; a change that only adds roles
// revokes nothing. When revocation fails too the request answers 503, and
// the stored roles are already the new ones.
func TestTX10_RoleLossFailsClosed(t *testing.T) {
	t.Parallel()
	syncer := &recordingSyncer{}
	e := newEnv(t, withSync(syncer))
	e.mapAdmins()
	id := e.createUser("eve@acme.test")
	e.createGroup("Eng", id) // roles: developer
	g := e.createGroup("Admins")
	syncer.mu.Lock()
	syncer.err = errors.New("session store down")
	syncer.mu.Unlock()

	remove := patchOps(`{"op":"remove","path":"members[value eq \"` + id + `\"]"}`)
	add := patchOps(`{"op":"add","path":"members","value":[{"value":` + q(id) + `}]}`)
	e.do("PATCH", "/Groups/"+g, add).want(t, http.StatusNoContent)
	if m := e.membership(id); !m.HasRole("admin") || !m.HasRole("developer") {
		t.Fatalf("roles %v, want developer and admin", m.Roles)
	}
	if n := e.rev.revoked(id); n != 0 {
		t.Fatalf("a failed sync of gained roles revoked the sessions %d times", n)
	}
	e.do("PATCH", "/Groups/"+g, remove).want(t, http.StatusNoContent)
	if n := e.rev.revoked(id); n != 1 {
		t.Fatalf("failed sync of a lost role: %d revocations, want 1", n)
	}
	evs, err := e.st.ListEvents(context.Background(), sso.EventQuery{OrgID: e.org.ID, Type: sso.EventSessionRevoked, Limit: 10})
	if err != nil || len(evs) != 1 || evs[0].Details["cause"] != "scim_role_removed" || evs[0].Target.ID != id {
		t.Errorf("revocation events: %+v, %v", evs, err)
	}

	e.do("PATCH", "/Groups/"+g, add).want(t, http.StatusNoContent)
	e.rev.mu.Lock()
	e.rev.err = errors.New("revocation down too")
	e.rev.mu.Unlock()
	e.do("PATCH", "/Groups/"+g, remove).wantErr(t, http.StatusServiceUnavailable, "")
	if e.membership(id).HasRole("admin") {
		t.Error("the role removal was not stored")
	}

	// No syncer at all: the same fail-closed revocation.
	plain := newEnv(t)
	plain.mapAdmins()
	pid := plain.createUser("fay@acme.test")
	pg := plain.createGroup("Admins", pid)
	before := plain.rev.revoked(pid)
	plain.do("PATCH", "/Groups/"+pg, patchOps(`{"op":"remove","path":"members"}`)).want(t, http.StatusNoContent)
	if n := plain.rev.revoked(pid) - before; n != 1 {
		t.Errorf("no syncer, lost admin: %d revocations, want 1", n)
	}
	e.rev.wantOnly(t, e.org.ID)
	plain.rev.wantOnly(t, plain.org.ID)
}
