package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/store/memstore"
)

// memberFixture is the admin fixture with a real session.Manager as the
// membership syncer, and members in both organizations: alpha's owner is
// usr_admin_alpha (the fixture's caller), beta's usr_admin_beta.
type memberFixture struct {
	*fixture
	sm *session.Manager
}

func newMemberFixture(t *testing.T) *memberFixture {
	t.Helper()
	mf := &memberFixture{}
	mf.fixture = newFixture(t, func(c *admin.Config) {
		st := c.Store.(*memstore.Store)
		sm, err := session.New(session.Config{Store: st, Events: st, Orgs: st, Memberships: st})
		if err != nil {
			t.Fatal(err)
		}
		mf.sm, c.Sync = sm, sm
	})
	for _, o := range []*sso.Organization{mf.orgA, mf.orgB} {
		mf.addMember(o, "usr_admin_"+o.Slug, "owner", "admin")
	}
	return mf
}

// addMember creates a user and an active membership with roles.
func (f *memberFixture) addMember(o *sso.Organization, id string, roles ...string) {
	f.t.Helper()
	u := &sso.User{ID: id, Email: strings.TrimPrefix(id, "usr_") + "@" + o.Slug + ".example", EmailVerified: true, DisplayName: "Name " + id}
	if err := f.st.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.CreateMembership(ctx, &sso.Membership{OrgID: o.ID, UserID: id, Roles: roles, Status: sso.MembershipActive, Source: sso.SourceAdmin}); err != nil {
		f.t.Fatal(err)
	}
}

// login issues a real session of the member and returns how many sessions
// the user has in the organization afterwards.
func (f *memberFixture) login(o *sso.Organization, id string) {
	f.t.Helper()
	m, err := f.st.GetMembership(ctx, o.ID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://app.example/", nil)
	if err := f.sm.IssueSession(httptest.NewRecorder(), r, &sso.SessionGrant{UserID: id, OrgID: o.ID, Org: o, Roles: m.Roles, Method: sso.AuthPassword}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *memberFixture) sessions(o *sso.Organization, id string) int {
	f.t.Helper()
	ss, err := f.st.(*memstore.Store).ListUserSessions(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, s := range ss {
		if s.OrgID == o.ID {
			n++
		}
	}
	return n
}

// as sends a request as the tenant admin actor of org.
func (f *memberFixture) as(org *sso.Organization, actor, method, path, body string) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+"/admin/sso"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Auth", actor)
	req.Header.Set("X-Test-Org", org.ID)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = decodeJSON(res, &m)
	return res.StatusCode, m
}

func (f *memberFixture) events(orgID, typ string) []*sso.Event {
	e, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: orgID, Type: typ, Limit: 1000})
	return e
}

// TestMembersCrossTenant: beta's admin, given alpha's user IDs, gets the
// 404 of a missing member on every member route (400 naming user_id for
// a transfer), nothing of alpha changes, and beta's list and search never
// show alpha's members.
func TestMembersCrossTenant(t *testing.T) {
	t.Parallel()
	f := newMemberFixture(t)
	a, b := f.orgA, f.orgB
	f.addMember(a, "usr_alice", "member")
	f.login(a, "usr_alice")
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/members/usr_alice", ""},
		{"PUT", "/members/usr_alice/status", `{"status":"suspended"}`},
		{"PUT", "/members/usr_alice/roles", `{"roles":["admin"]}`},
		{"DELETE", "/members/usr_alice", ""},
		{"DELETE", "/members/usr_admin_alpha", ""},
	} {
		code, m := f.as(b, "usr_admin_beta", rt.method, rt.path, rt.body)
		if code != http.StatusNotFound || m["error"] != "not_found" {
			t.Errorf("%s %s from beta: %d %v, want 404 not_found", rt.method, rt.path, code, m)
		}
	}
	code, m := f.as(b, "usr_admin_beta", "POST", "/ownership", `{"user_id":"usr_alice"}`)
	if code != http.StatusBadRequest || m["field"] != "user_id" {
		t.Errorf("transfer of beta to alpha's member: %d %v", code, m)
	}
	// alpha's owner acting on beta's org (its Authorize says beta) is
	// not beta's owner.
	code, m = f.as(b, "usr_admin_alpha", "POST", "/ownership", `{"user_id":"usr_admin_beta"}`)
	if code != http.StatusForbidden || m["error"] != "not_owner" {
		t.Errorf("transfer by another org's owner: %d %v", code, m)
	}
	mem, err := f.st.GetMembership(ctx, a.ID, "usr_alice")
	if err != nil || !mem.Active() || !slices.Equal(mem.Roles, []string{"member"}) || f.sessions(a, "usr_alice") != 1 {
		t.Fatalf("alpha's member after beta's attempts: %+v, %v, sessions %d", mem, err, f.sessions(a, "usr_alice"))
	}
	for _, q := range []string{"", "?q=alice", "?email=alice@alpha.example"} {
		_, m := f.as(b, "usr_admin_beta", "GET", "/members"+q, "")
		for _, x := range m["members"].([]any) {
			if id := x.(map[string]any)["user_id"]; id != "usr_admin_beta" {
				t.Errorf("beta's list %q shows %v", q, id)
			}
		}
	}
}

// TestMemberListPagination: keyset pages in user ID order, exact email
// lookup, search by address or name, and bad parameters named.
func TestMemberListPagination(t *testing.T) {
	t.Parallel()
	f := newMemberFixture(t)
	a := f.orgA
	for i := range 6 {
		f.addMember(a, fmt.Sprintf("usr_m%d", i), "member")
	}
	var all []string
	after := ""
	for page := 0; ; page++ {
		code, m := f.as(a, "usr_admin_alpha", "GET", "/members?limit=3&after="+after, "")
		if code != http.StatusOK || page > 5 {
			t.Fatalf("page %d: %d %v", page, code, m)
		}
		ms := m["members"].([]any)
		for _, x := range ms {
			all = append(all, x.(map[string]any)["user_id"].(string))
		}
		if after = m["next"].(string); after == "" {
			break
		}
		if len(ms) != 3 {
			t.Errorf("page %d has %d members before its end", page, len(ms))
		}
	}
	want := []string{"usr_admin_alpha", "usr_m0", "usr_m1", "usr_m2", "usr_m3", "usr_m4", "usr_m5"}
	if !slices.Equal(all, want) {
		t.Errorf("pages: %v, want %v", all, want)
	}
	_, m := f.as(a, "usr_admin_alpha", "GET", "/members?email=M3@alpha.example", "")
	if ms := m["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["email"] != "m3@alpha.example" {
		t.Errorf("email lookup: %v", m)
	}
	_, m = f.as(a, "usr_admin_alpha", "GET", "/members?q=NAME%20usr_m4", "")
	if ms := m["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["user_id"] != "usr_m4" {
		t.Errorf("search by name: %v", m)
	}
	code, m := f.as(a, "usr_admin_alpha", "GET", "/members?limit=0", "")
	if code != http.StatusBadRequest || m["field"] != "limit" {
		t.Errorf("limit=0: %d %v", code, m)
	}
}

// TestSuspendAndRemove: suspension ends the member's sessions at once and
// is audited; reactivation lets them in again; removal deletes the
// membership and ends the sessions; the owner and the caller themselves
// are protected.
func TestSuspendAndRemove(t *testing.T) {
	t.Parallel()
	f := newMemberFixture(t)
	a := f.orgA
	f.addMember(a, "usr_bob", "member")
	f.addMember(a, "usr_second_admin", "admin")
	f.login(a, "usr_bob")
	code, m := f.as(a, "usr_admin_alpha", "PUT", "/members/usr_bob/status", `{"status":"suspended"}`)
	if code != http.StatusOK || m["status"] != "suspended" {
		t.Fatalf("suspend: %d %v", code, m)
	}
	if n := f.sessions(a, "usr_bob"); n != 0 {
		t.Errorf("%d sessions after suspension, want 0", n)
	}
	if evs := f.events(a.ID, admin.EventMemberSuspended); len(evs) != 1 || evs[0].Target.ID != "usr_bob" || evs[0].Actor.ID != "usr_admin_alpha" {
		t.Errorf("suspension events: %+v", evs)
	}
	code, m = f.as(a, "usr_admin_alpha", "PUT", "/members/usr_bob/status", `{"status":"active"}`)
	if code != http.StatusOK || m["status"] != "active" || len(f.events(a.ID, admin.EventMemberReactivated)) != 1 {
		t.Errorf("reactivate: %d %v", code, m)
	}
	code, m = f.as(a, "usr_admin_alpha", "PUT", "/members/usr_bob/status", `{"status":"deactivated"}`)
	if code != http.StatusBadRequest || m["field"] != "status" {
		t.Errorf("bad status: %d %v", code, m)
	}
	for _, tc := range []struct{ actor, path, reason string }{
		{"usr_second_admin", "/members/usr_admin_alpha", "owner_protected"},
		{"usr_second_admin", "/members/usr_second_admin", "self_protected"},
	} {
		code, m := f.as(a, tc.actor, "PUT", tc.path+"/status", `{"status":"suspended"}`)
		if code != http.StatusConflict || m["error"] != tc.reason {
			t.Errorf("suspend %s by %s: %d %v, want 409 %s", tc.path, tc.actor, code, m, tc.reason)
		}
		code, m = f.as(a, tc.actor, "DELETE", tc.path, "")
		if code != http.StatusConflict || m["error"] != tc.reason {
			t.Errorf("remove %s by %s: %d %v, want 409 %s", tc.path, tc.actor, code, m, tc.reason)
		}
	}
	f.login(a, "usr_bob")
	if code, m := f.as(a, "usr_second_admin", "DELETE", "/members/usr_bob", ""); code != http.StatusNoContent {
		t.Fatalf("remove: %d %v", code, m)
	}
	if _, err := f.st.GetMembership(ctx, a.ID, "usr_bob"); err == nil {
		t.Error("the membership survived its removal")
	}
	if _, err := f.st.GetUser(ctx, "usr_bob"); err != nil {
		t.Errorf("removal deleted the user: %v", err)
	}
	if n := f.sessions(a, "usr_bob"); n != 0 {
		t.Errorf("%d sessions after removal, want 0", n)
	}
	if evs := f.events(a.ID, admin.EventMemberRemoved); len(evs) != 1 || evs[0].Actor.ID != "usr_second_admin" {
		t.Errorf("removal events: %+v", evs)
	}
}

// TestOwnershipTransfer: only the owner may transfer, only to another
// active member; the new owner gains the role, the old one keeps their
// other roles, and the transfer is audited.
func TestOwnershipTransfer(t *testing.T) {
	t.Parallel()
	f := newMemberFixture(t)
	a := f.orgA
	f.addMember(a, "usr_carol", "admin")
	f.addMember(a, "usr_dan", "member")
	if err := f.st.UpdateMembership(ctx, &sso.Membership{OrgID: a.ID, UserID: "usr_dan", Roles: []string{"member"}, Status: sso.MembershipSuspended}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		actor, body string
		code        int
		reason      string
	}{
		{"usr_carol", `{"user_id":"usr_carol"}`, http.StatusForbidden, "not_owner"},
		{"operator", `{"user_id":"usr_carol"}`, http.StatusForbidden, "not_owner"},
		{"usr_admin_alpha", `{"user_id":"usr_dan"}`, http.StatusBadRequest, "invalid_input"},
		{"usr_admin_alpha", `{"user_id":"usr_nobody"}`, http.StatusBadRequest, "invalid_input"},
		{"usr_admin_alpha", `{"user_id":"usr_admin_alpha"}`, http.StatusBadRequest, "invalid_input"},
	} {
		code, m := f.as(a, tc.actor, "POST", "/ownership", tc.body)
		if code != tc.code || m["error"] != tc.reason {
			t.Errorf("transfer by %s %s: %d %v, want %d %s", tc.actor, tc.body, code, m, tc.code, tc.reason)
		}
	}
	code, m := f.as(a, "usr_admin_alpha", "POST", "/ownership", `{"user_id":"usr_carol"}`)
	if code != http.StatusOK {
		t.Fatalf("transfer: %d %v", code, m)
	}
	carol, _ := f.st.GetMembership(ctx, a.ID, "usr_carol")
	old, _ := f.st.GetMembership(ctx, a.ID, "usr_admin_alpha")
	if !carol.HasRole("owner") || !carol.HasRole("admin") || old.HasRole("owner") || !old.HasRole("admin") {
		t.Errorf("roles after transfer: carol %v, old owner %v", carol.Roles, old.Roles)
	}
	if evs := f.events(a.ID, admin.EventOwnershipTransferred); len(evs) != 1 || evs[0].Details["from"] != "usr_admin_alpha" || evs[0].Details["to"] != "usr_carol" {
		t.Errorf("transfer events: %+v", evs)
	}
	// The old owner can no longer transfer; the new one can be removed
	// by nobody.
	if code, m := f.as(a, "usr_admin_alpha", "POST", "/ownership", `{"user_id":"usr_admin_alpha"}`); code != http.StatusForbidden {
		t.Errorf("transfer by the former owner: %d %v", code, m)
	}
	if code, m := f.as(a, "usr_admin_alpha", "DELETE", "/members/usr_carol", ""); code != http.StatusConflict || m["error"] != "owner_protected" {
		t.Errorf("removing the new owner: %d %v", code, m)
	}
}

// TestOrgUpdate: PATCH /org renames (audited); a bad name is refused
// naming the field.
func TestOrgUpdate(t *testing.T) {
	t.Parallel()
	f := newMemberFixture(t)
	a := f.orgA
	code, m := f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"name":"Alpha Inc."}`)
	if code != http.StatusOK || m["name"] != "Alpha Inc." || m["slug"] != "alpha" {
		t.Fatalf("rename: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); o.Name != "Alpha Inc." {
		t.Errorf("stored name %q", o.Name)
	}
	if evs := f.events(a.ID, admin.EventOrgUpdated); len(evs) != 1 || evs[0].Details["to"] != "Alpha Inc." {
		t.Errorf("update events: %+v", evs)
	}
	for _, body := range []string{`{"name":""}`, `{"name":"a\u0000b"}`, `{}`, `{"name":"` + strings.Repeat("x", 129) + `"}`} {
		code, m := f.as(a, "usr_admin_alpha", "PATCH", "/org", body)
		if code != http.StatusBadRequest || (m["field"] != "name" && m["error"] != "invalid_input") {
			t.Errorf("PATCH %s: %d %v", body, code, m)
		}
	}
	if code, m := f.as(f.orgB, "usr_admin_beta", "GET", "/org", ""); code != http.StatusOK || m["slug"] != "beta" {
		t.Errorf("beta's GET /org: %d %v", code, m)
	}
}

// TestOrgAllowUnverifiedEmailDomains: letting members sign in with an
// email outside the verified domains weakens security, so it needs a
// confirmation and is audited as weakening; turning it off needs none.
func TestOrgAllowUnverifiedEmailDomains(t *testing.T) {
	t.Parallel()
	f := newMemberFixture(t)
	a := f.orgA
	code, m := f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"allow_unverified_email_domains":true}`)
	if code != http.StatusBadRequest || m["field"] != "allow_unverified_email_domains" {
		t.Fatalf("unconfirmed weakening: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); o.Settings.AllowUnverifiedEmailDomains {
		t.Fatal("an unconfirmed weakening was stored")
	}
	code, m = f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"allow_unverified_email_domains":true,"confirm":true}`)
	if code != http.StatusOK || m["allow_unverified_email_domains"] != true || m["name"] != a.Name {
		t.Fatalf("confirmed weakening: %d %v", code, m)
	}
	if o, _ := f.st.GetOrg(ctx, a.ID); !o.Settings.AllowUnverifiedEmailDomains {
		t.Fatal("the confirmed change was not stored")
	}
	evs := f.events(a.ID, admin.EventOrgUpdated)
	if len(evs) != 1 || evs[0].Details["field"] != "allow_unverified_email_domains" || evs[0].Details["weakened"] != "true" {
		t.Fatalf("weakening events: %+v", evs)
	}
	if o, _ := f.st.GetOrg(ctx, f.orgB.ID); o.Settings.AllowUnverifiedEmailDomains {
		t.Fatal("another organization changed")
	}
	code, m = f.as(a, "usr_admin_alpha", "PATCH", "/org", `{"allow_unverified_email_domains":false}`)
	if code != http.StatusOK || m["allow_unverified_email_domains"] != false {
		t.Fatalf("turning it off: %d %v", code, m)
	}
	if evs := f.events(a.ID, admin.EventOrgUpdated); len(evs) != 2 || evs[0].Details["weakened"] == evs[1].Details["weakened"] {
		t.Fatalf("events after turning it off: %+v", evs)
	}
}

func decodeJSON(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
