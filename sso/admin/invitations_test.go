package admin_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
)

// newInviteFixture is the member fixture with invitations enabled.
func newInviteFixture(t *testing.T) (*memberFixture, *mail.DevMailer) {
	t.Helper()
	outbox := &mail.DevMailer{}
	mf := &memberFixture{}
	mf.fixture = newFixture(t, func(c *admin.Config) {
		st := c.Store.(*memstore.Store)
		trail, _ := audit.New(audit.Config{Store: st})
		accept, _ := url.Parse("https://app.example/invite/accept")
		im, err := invite.New(invite.Config{Store: meminvite.New(st), Users: st, Orgs: st, Members: st, Domains: st,
			Auditor: trail, Mailer: outbox, AcceptURL: accept})
		if err != nil {
			t.Fatal(err)
		}
		c.Invites = im
	})
	for _, o := range []*sso.Organization{mf.orgA, mf.orgB} {
		mf.addMember(o, "usr_admin_"+o.Slug, "owner", "admin")
	}
	return mf, outbox
}

// TestInvitationsCrossTenant: beta, given alpha's invitation and join
// request IDs, gets 404 on every route, audited as cross-tenant, and
// alpha's records stay as they were.
func TestInvitationsCrossTenant(t *testing.T) {
	t.Parallel()
	f, _ := newInviteFixture(t)
	a, b := f.orgA, f.orgB
	code, m := f.as(a, "usr_admin_alpha", "POST", "/invitations", `{"email":"new@alpha.example","roles":["member"]}`)
	if code != http.StatusCreated {
		t.Fatalf("invite: %d %v", code, m)
	}
	id := m["id"].(string)
	// A pending join request in alpha.
	if err := f.st.CreateDomain(ctx, &sso.Domain{OrgID: a.ID, Name: "alpha.example", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	f.as(a, "usr_admin_alpha", "PUT", "/auto-join", `{"mode":"approval","role":"member"}`)
	u := &sso.User{ID: "usr_asker", Email: "asker@alpha.example", EmailVerified: true}
	if err := f.st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	im := inviteManager(f)
	out, err := im.AutoJoin(ctx, u)
	if err != nil || out.Requested == nil {
		t.Fatalf("auto-join: %+v, %v", out, err)
	}
	before := len(evs(f.fixture, b.ID))
	for _, rt := range []struct{ method, path string }{
		{"POST", "/invitations/" + id + "/resend"},
		{"DELETE", "/invitations/" + id},
		{"POST", "/join-requests/" + out.Requested.ID + "/approve"},
		{"POST", "/join-requests/" + out.Requested.ID + "/deny"},
	} {
		code, m := f.as(b, "usr_admin_beta", rt.method, rt.path, "")
		if code != http.StatusNotFound || m["error"] != "not_found" {
			t.Errorf("%s %s from beta: %d %v, want 404", rt.method, rt.path, code, m)
		}
	}
	if got := len(evs(f.fixture, b.ID)) - before; got != 4 {
		t.Errorf("%d cross-tenant events for 4 attempts", got)
	}
	_, m = f.as(b, "usr_admin_beta", "GET", "/invitations", "")
	if l := m["invitations"].([]any); len(l) != 0 {
		t.Errorf("beta sees invitations %v", l)
	}
	_, m = f.as(b, "usr_admin_beta", "GET", "/join-requests", "")
	if l := m["join_requests"].([]any); len(l) != 0 {
		t.Errorf("beta sees join requests %v", l)
	}
	_, m = f.as(a, "usr_admin_alpha", "GET", "/invitations", "")
	if l := m["invitations"].([]any); len(l) != 1 || l[0].(map[string]any)["status"] != "pending" {
		t.Errorf("alpha's invitations after beta's attempts: %v", l)
	}
	if _, err := f.st.GetMembership(ctx, a.ID, "usr_asker"); err == nil {
		t.Error("beta's approval made a member of alpha")
	}
}

func inviteManager(f *memberFixture) *invite.Manager {
	st := f.st
	trail, _ := audit.New(audit.Config{Store: st})
	accept, _ := url.Parse("https://app.example/invite/accept")
	im, _ := invite.New(invite.Config{Store: meminvite.New(st.(*memstore.Store)), Users: st, Orgs: st, Members: st, Domains: st,
		Auditor: trail, Mailer: &mail.DevMailer{}, AcceptURL: accept})
	return im
}

// TestInvitationRoutes: invite, refuse a duplicate, resend, revoke once,
// set the auto-join policy and approve a join request, each audited.
func TestInvitationRoutes(t *testing.T) {
	t.Parallel()
	f, outbox := newInviteFixture(t)
	a := f.orgA
	code, m := f.as(a, "usr_admin_alpha", "POST", "/invitations", `{"email":"Jane@Alpha.example","roles":["member"]}`)
	if code != http.StatusCreated || m["email"] != "jane@alpha.example" || m["status"] != "pending" {
		t.Fatalf("invite: %d %v", code, m)
	}
	if _, ok := m["token"]; ok {
		t.Error("the API returned the invitation token")
	}
	if _, ok := outbox.Last("jane@alpha.example"); !ok {
		t.Error("no invitation email")
	}
	id := m["id"].(string)
	code, m = f.as(a, "usr_admin_alpha", "POST", "/invitations", `{"email":"jane@alpha.example","roles":["member"]}`)
	if code != http.StatusConflict || m["error"] != "already_invited" {
		t.Errorf("duplicate: %d %v", code, m)
	}
	for _, body := range []string{`{"email":"nope","roles":["member"]}`, `{"email":"x@alpha.example","roles":[]}`} {
		if code, m := f.as(a, "usr_admin_alpha", "POST", "/invitations", body); code != http.StatusBadRequest || m["field"] == nil {
			t.Errorf("bad invitation %s: %d %v", body, code, m)
		}
	}
	if code, m := f.as(a, "usr_admin_alpha", "POST", "/invitations/"+id+"/resend", ""); code != http.StatusOK {
		t.Errorf("resend: %d %v", code, m)
	}
	if code, m := f.as(a, "usr_admin_alpha", "DELETE", "/invitations/"+id, ""); code != http.StatusOK || m["status"] != "revoked" {
		t.Errorf("revoke: %d %v", code, m)
	}
	if code, m := f.as(a, "usr_admin_alpha", "DELETE", "/invitations/"+id, ""); code != http.StatusConflict || m["error"] != "not_pending" {
		t.Errorf("second revoke: %d %v", code, m)
	}
	if code, m := f.as(a, "usr_admin_alpha", "PUT", "/auto-join", `{"mode":"sometimes","role":"member"}`); code != http.StatusBadRequest || m["field"] != "mode" {
		t.Errorf("bad mode: %d %v", code, m)
	}
	if code, m := f.as(a, "usr_admin_alpha", "PUT", "/auto-join", `{"mode":"approval","role":"member"}`); code != http.StatusOK || m["mode"] != "approval" {
		t.Errorf("set policy: %d %v", code, m)
	}
	if _, m := f.as(a, "usr_admin_alpha", "GET", "/auto-join", ""); m["mode"] != "approval" || m["role"] != "member" {
		t.Errorf("get policy: %v", m)
	}
	for _, typ := range []string{invite.EventInvited, invite.EventResent, invite.EventRevoked, invite.EventAutoJoinPolicySet} {
		if evs := f.events(a.ID, typ); len(evs) != 1 || evs[0].Actor.ID != "usr_admin_alpha" {
			t.Errorf("%s events: %+v", typ, evs)
		}
	}
}
