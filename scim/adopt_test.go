package scim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// TestTC6_AdoptsExistingJITMember: when the directory is connected after
// people signed in through JIT, a SCIM create for such a member's email
// adopts that member (same user ID, roles and IdP identity) instead of
// creating a second user; deprovisioning through SCIM then reaches the
// account the person actually signs in with.
func TestTC6_AdoptsExistingJITMember(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		jit := &sso.User{ID: sso.NewID("usr_"), Email: "dave@acme.example", EmailVerified: true, CreatedAt: now}
		mem := &sso.Membership{OrgID: e.org.ID, UserID: jit.ID, Roles: []string{"admin"}, Status: sso.MembershipActive,
			Source: sso.SourceJIT, JoinedAt: now}
		idn := &sso.Identity{ID: sso.NewID("idn_"), OrgID: e.org.ID, ConnectionID: "conn_x", Issuer: "https://idp.example",
			Subject: "dave", UserID: jit.ID, CreatedAt: now}
		if err := e.st.Provision(ctx, jit, mem, idn); err != nil {
			t.Fatal(err)
		}

		id := e.createUser("Dave@ACME.example", `"externalId":"okta-123"`)
		if id != jit.ID {
			t.Fatalf("SCIM create made user %s, want the existing JIT member %s", id, jit.ID)
		}
		m := e.membership(id)
		if m.Source != sso.SourceSCIM || m.ExternalID != "okta-123" || !m.HasRole("admin") || !m.JoinedAt.Equal(now) {
			t.Fatalf("adopted membership: %+v", m)
		}
		// A second create of the same userName is a uniqueness conflict.
		e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dave@acme.example"}`).
			wantErr(t, http.StatusConflict, "uniqueness")

		e.do("PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","value":{"active":"False"}}]}`).
			want(t, http.StatusOK)
		if got := e.membership(jit.ID).Status; got != sso.MembershipDeactivated {
			t.Fatalf("JIT member status after SCIM deactivation: %s", got)
		}
		if e.rev.revoked(jit.ID) == 0 {
			t.Fatal("sessions of the adopted member were not revoked")
		}
		// The IdP identity still points at the one (now deactivated) user.
		got, err := e.st.GetIdentity(ctx, e.org.ID, "https://idp.example", "dave")
		if err != nil || got.UserID != jit.ID {
			t.Fatalf("identity after adoption: %+v, %v", got, err)
		}
	})
}

// TestTC6_AdoptedInactiveMemberIsRevoked: a directory that pushes an
// existing member as inactive cuts their sessions at once.
func TestTC6_AdoptedInactiveMemberIsRevoked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Now().UTC()
		u := &sso.User{ID: sso.NewID("usr_"), Email: "erin@acme.example", CreatedAt: now}
		m := &sso.Membership{OrgID: e.org.ID, UserID: u.ID, Status: sso.MembershipActive, Source: sso.SourceJIT, JoinedAt: now}
		if err := e.st.Provision(ctx, u, m, nil); err != nil {
			t.Fatal(err)
		}
		r := e.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"erin@acme.example","active":false}`).
			want(t, http.StatusCreated)
		if r.str("id") != u.ID || e.membership(u.ID).Status != sso.MembershipDeactivated || e.rev.revoked(u.ID) == 0 {
			t.Fatalf("inactive adoption: id %s, status %s, revocations %d", r.str("id"), e.membership(u.ID).Status, e.rev.revoked(u.ID))
		}
	})
}

// TestTC6_RecreateAfterDeleteRevivesTheUser: the directory deletes a person
// and later creates them again; the record is revived under the same user
// ID, so the IdP identity that points at it works again.
func TestTC6_RecreateAfterDeleteRevivesTheUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser("frank@acme.example")
		e.do("DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
		if st := e.membership(id).Status; st != sso.MembershipDeactivated {
			t.Fatalf("status after DELETE: %s", st)
		}
		again := e.createUser("frank@acme.example")
		if again != id {
			t.Fatalf("re-created user %s, want the deleted user %s revived", again, id)
		}
		if st := e.membership(id).Status; st != sso.MembershipActive {
			t.Fatalf("status after re-create: %s", st)
		}
		e.do("GET", "/Users/"+id, "").want(t, http.StatusOK)
	})
}
