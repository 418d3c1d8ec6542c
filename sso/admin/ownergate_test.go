package admin_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

// TestAdminCannotMakeThemselvesOwner is the takeover an administrator who
// is not an owner would try: make themselves an owner, take the role from
// the real owner, then suspend them. Every route that gives roles refuses
// to grant or take the owner role (403 not_owner) unless an owner or the
// host's staff asks, and leaves the roles as they were.
func TestAdminCannotMakeThemselvesOwner(t *testing.T) {
	t.Parallel()
	f, _ := newInviteFixture(t)
	a := f.orgA
	owner, ann := "usr_admin_alpha", "usr_ann"
	f.addMember(a, ann, "admin")
	f.addMember(a, "usr_co", "owner", "admin")
	roles := func(user string) []string {
		m, err := f.st.GetMembership(ctx, a.ID, user)
		if err != nil {
			t.Fatal(err)
		}
		return m.Roles
	}
	refused := func(what string, code int, m map[string]any) {
		t.Helper()
		if code != http.StatusForbidden || m["error"] != "not_owner" {
			t.Fatalf("%s by an admin: %d %v, want 403 not_owner", what, code, m)
		}
	}

	code, m := f.as(a, ann, "PUT", "/members/"+ann+"/roles", `{"roles":["owner","admin"]}`)
	refused("making themselves owner", code, m)
	code, m = f.as(a, ann, "PUT", "/members/usr_co/roles", `{"roles":["admin"]}`)
	refused("taking the role from a co-owner", code, m)
	if !slices.Equal(roles(ann), []string{"admin"}) || !slices.Equal(roles("usr_co"), []string{"owner", "admin"}) {
		t.Fatalf("roles after the refusals: %v, %v", roles(ann), roles("usr_co"))
	}
	// Other roles stay the admin's to change, the owner's included.
	if code, m := f.as(a, ann, "PUT", "/members/usr_co/roles", `{"roles":["owner","admin","billing"]}`); code != http.StatusOK {
		t.Fatalf("an admin adding another role to an owner: %d %v", code, m)
	}

	code, m = f.as(a, ann, "POST", "/invitations", `{"email":"friend@elsewhere.example","roles":["owner"]}`)
	refused("inviting an owner", code, m)
	code, m = f.as(a, ann, "POST", "/connections", `{"protocol":"saml","group_roles":[{"group":"Everyone","role":"owner"}]}`)
	refused("a new connection mapping a group to owner", code, m)
	if code, m := f.as(a, ann, "PUT", "/auto-join", `{"mode":"automatic","role":"owner"}`); code != http.StatusBadRequest || m["field"] != "role" {
		t.Fatalf("auto-join as owner: %d %v, want 400 on role", code, m)
	}

	// An owner may do each of these; an admin may then edit such a
	// connection as long as its owner mappings stay as they are.
	code, m = f.as(a, owner, "POST", "/connections", `{"protocol":"saml","group_roles":[{"group":"Founders","role":"owner"}]}`)
	if code != http.StatusCreated {
		t.Fatalf("an owner's connection mapping a group to owner: %d %v", code, m)
	}
	id := m["id"].(string)
	conn := "/connections/" + id
	if code, m := f.as(a, ann, "PATCH", conn, `{"display_name":"Okta","group_roles":[{"group":"Founders","role":"owner"},{"group":"Eng","role":"member"}]}`); code != http.StatusOK {
		t.Fatalf("an admin's edit keeping the owner mapping: %d %v", code, m)
	}
	code, m = f.as(a, ann, "PATCH", conn, `{"group_roles":[{"group":"Founders","role":"owner"},{"group":"Eng","role":"owner"}]}`)
	refused("widening a group mapping to owner", code, m)
	code, m = f.as(a, ann, "PATCH", conn, `{"group_roles":[]}`)
	refused("dropping a group mapping to owner", code, m)
	c, err := f.st.GetConnection(ctx, id)
	if err != nil || len(c.GroupRoles) != 2 || c.GroupRoles[1] != (sso.GroupRole{Group: "Eng", Role: "member"}) {
		t.Fatalf("mapping after the refusals: %+v, %v", c, err)
	}
	if code, m := f.as(a, owner, "POST", "/invitations", `{"email":"cofounder@elsewhere.example","roles":["owner","admin"]}`); code != http.StatusCreated {
		t.Fatalf("an owner inviting an owner: %d %v", code, m)
	}
	if code, m := f.as(a, owner, "PUT", "/members/"+ann+"/roles", `{"roles":["owner","admin"]}`); code != http.StatusOK {
		t.Fatalf("an owner making an admin owner: %d %v", code, m)
	}
	if code, m := f.as(a, "operator", "PUT", "/members/"+ann+"/roles", `{"roles":["admin"]}`); code != http.StatusOK {
		t.Fatalf("the host's staff taking the role: %d %v", code, m)
	}
	if !slices.Equal(roles(ann), []string{"admin"}) {
		t.Fatalf("roles after the owner's grant and the staff's removal: %v", roles(ann))
	}
}
