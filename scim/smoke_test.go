package scim_test

import (
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/sso"
)

func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	forEachBackend(t, testUserLifecycle)
}

func testUserLifecycle(t *testing.T, e *env) {
	id := e.createUser("Alice@Example.com", `"externalId":"ext-1"`)
	r := e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
	if r.str("userName") != "Alice@Example.com" || r.str("externalId") != "ext-1" {
		t.Fatalf("got %s", r.raw)
	}
	if r.header.Get("ETag") != `W/"1"` {
		t.Errorf("ETag %q", r.header.Get("ETag"))
	}
	// Duplicate userName, case-insensitively.
	e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@example.COM"}`).wantErr(t, http.StatusConflict, "uniqueness")
	// Filter.
	r = e.do("GET", "/Users?filter="+urlq(`userName eq "ALICE@example.com"`), "").want(t, http.StatusOK)
	if r.total() != 1 || r.resources()[0]["id"] != id {
		t.Fatalf("filter: %s", r.raw)
	}
	// Deactivate through PATCH with Entra's string boolean.
	e.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).want(t, http.StatusOK)
	if e.rev.revoked(id) != 1 {
		t.Fatalf("revocations = %d, want 1", e.rev.revoked(id))
	}
	if m := e.membership(id); m.Status != sso.MembershipDeactivated {
		t.Fatalf("membership status %q", m.Status)
	}
	e.do("PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","value":{"active":true}}]}`).want(t, http.StatusOK)
	if m := e.membership(id); m.Status != sso.MembershipActive {
		t.Fatalf("membership status after reactivation %q", m.Status)
	}
	e.do("DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
	e.do("GET", "/Users/"+id, "").wantErr(t, http.StatusNotFound, "")
	if m := e.membership(id); m.Status != sso.MembershipDeactivated {
		t.Fatalf("membership after delete %q", m.Status)
	}
	// The userName is free again.
	e.createUser("alice@example.com")
}
