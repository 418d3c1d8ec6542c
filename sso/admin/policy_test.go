package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// TestTX11_RequireAdminGuardsEveryRoute: the RequireAdmin middleware (the
// host's MFA and recent-auth policy) runs, in order, before every route a
// tenant admin calls, including unknown ones, and a refusal stops the
// route; the operator credential is not a member session and is the only
// one that skips it (an unexpected actor type fails closed).
func TestTX11_RequireAdminGuardsEveryRoute(t *testing.T) {
	var order []string
	refuse := true
	step := func(name string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				order = append(order, name)
				if name == "mfa" && refuse {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusForbidden)
					_, _ = w.Write([]byte(`{"error":"mfa_verification_required"}`))
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	f := newFixture(t, func(c *admin.Config) { c.RequireAdmin = []func(http.Handler) http.Handler{step("recent"), step("mfa")} })
	for _, rt := range []struct{ method, path, body string }{
		{"GET", "/connections", ""},
		{"POST", "/scim-tokens", `{"description":"x"}`},
		{"PUT", "/enforcement", `{"enforced":false}`},
		{"GET", "/audit/export", ""},
		{"GET", "/no-such-route", ""},
	} {
		order = nil
		code, body := f.json(f.orgA, rt.method, rt.path, rt.body)
		if code != http.StatusForbidden || body["error"] != "mfa_verification_required" {
			t.Fatalf("%s %s: %d %v, want the policy's 403", rt.method, rt.path, code, body)
		}
		if len(order) != 2 || order[0] != "recent" || order[1] != "mfa" {
			t.Fatalf("%s %s: middleware ran %v, want [recent mfa]", rt.method, rt.path, order)
		}
	}
	if toks, _ := f.st.ListSCIMTokens(ctx, f.orgA.ID); len(toks) != 0 {
		t.Fatal("a refused request minted a SCIM token")
	}
	refuse = false
	if code, _ := f.json(f.orgA, "GET", "/connections", ""); code != http.StatusOK {
		t.Fatalf("policy satisfied: %d, want 200", code)
	}
	// A member attributed to another actor type than ActorAdmin passes the
	// policy too: only the operator credential skips it.
	refuse, order = true, nil
	ureq, _ := http.NewRequest("GET", f.srv.URL+"/admin/sso/connections", nil)
	ureq.Header.Set("X-Test-Auth", "user")
	ureq.Header.Set("X-Test-Org", f.orgA.ID)
	ures, err := http.DefaultClient.Do(ureq)
	if err != nil {
		t.Fatal(err)
	}
	ures.Body.Close()
	if ures.StatusCode != http.StatusForbidden || len(order) != 2 {
		t.Fatalf("ActorUser: %d, middleware %v; want the policy's 403", ures.StatusCode, order)
	}
	order = nil
	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/sso/connections", nil)
	req.Header.Set("X-Test-Auth", "operator")
	req.Header.Set("X-Test-Org", f.orgA.ID)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(order) != 0 {
		t.Fatalf("operator: %d, middleware %v; want 200 without member policy", res.StatusCode, order)
	}
}

// TestTX10_AdminRoleChangeEndsSessions: a demotion through the admin API is
// stored, audited and handed to the session sync; a directory-managed
// organization refuses it; bad role names name the field.
func TestTX10_AdminRoleChangeEndsSessions(t *testing.T) {
	sync := &recordingSync{}
	f := newFixture(t, func(c *admin.Config) { c.Sync = sync })
	if err := f.st.CreateUser(ctx, &sso.User{ID: "usr_x", Email: "x@alpha.example"}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateMembership(ctx, &sso.Membership{OrgID: f.orgA.ID, UserID: "usr_x", Roles: []string{"admin"},
		Status: sso.MembershipActive}); err != nil {
		t.Fatal(err)
	}
	code, body := f.json(f.orgA, "PUT", "/members/usr_x/roles", `{"roles":["member"]}`)
	if code != http.StatusOK || fmt.Sprint(body["roles"]) != "[member]" {
		t.Fatalf("demotion: %d %v", code, body)
	}
	if m, _ := f.st.GetMembership(ctx, f.orgA.ID, "usr_x"); fmt.Sprint(m.Roles) != "[member]" {
		t.Fatalf("stored roles %v", m.Roles)
	}
	if len(sync.got) != 1 || sync.got[0].UserID != "usr_x" || fmt.Sprint(sync.got[0].Roles) != "[member]" {
		t.Fatalf("sync calls = %+v, want one with [member]", sync.got)
	}
	evs, _ := f.st.ListEvents(ctx, sso.EventQuery{OrgID: f.orgA.ID, Type: sso.EventRolesChanged})
	if len(evs) != 1 || evs[0].Details["from"] != "admin" || evs[0].Details["to"] != "member" {
		t.Fatalf("audit = %+v", evs)
	}
	// The same roles again change nothing.
	if code, _ := f.json(f.orgA, "PUT", "/members/usr_x/roles", `{"roles":["member"]}`); code != http.StatusOK || len(sync.got) != 1 {
		t.Fatalf("no-op: %d, sync calls %d", code, len(sync.got))
	}
	for _, bad := range []string{`{"roles":[]}`, `{"roles":["a b"]}`, `{"roles":["x,y"]}`, `{"roles":[""]}`} {
		if code, body := f.json(f.orgA, "PUT", "/members/usr_x/roles", bad); code != http.StatusBadRequest {
			t.Fatalf("%s: %d %v, want 400", bad, code, body)
		}
	}
	// Another organization's member is not found.
	if code, _ := f.json(f.orgB, "PUT", "/members/usr_x/roles", `{"roles":["admin"]}`); code != http.StatusNotFound {
		t.Fatalf("cross-tenant role change: %d, want 404", code)
	}
	f.orgA.Settings.DirectorySync = true
	if err := f.st.UpdateOrg(ctx, f.orgA); err != nil {
		t.Fatal(err)
	}
	if code, _ := f.json(f.orgA, "PUT", "/members/usr_x/roles", `{"roles":["admin"]}`); code != http.StatusConflict {
		t.Fatalf("directory-managed roles: %d, want 409", code)
	}
}

// recordingSync records SyncMembership calls; the real session.Manager is
// tested in the session package.
type recordingSync struct{ got []*sso.Membership }

func (r *recordingSync) SyncMembership(_ context.Context, m *sso.Membership) error {
	c := *m
	r.got = append(r.got, &c)
	return nil
}
