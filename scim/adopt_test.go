package scim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/scim"
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
		jit := &sso.User{ID: opaque.NewID("usr_"), Email: "dave@acme.example", EmailVerified: true, CreatedAt: now}
		mem := &sso.Membership{OrgID: e.org.ID, UserID: jit.ID, Roles: []string{"admin"}, Status: sso.MembershipActive,
			Source: sso.SourceJIT, JoinedAt: now}
		idn := &sso.Identity{ID: opaque.NewID("idn_"), OrgID: e.org.ID, ConnectionID: "conn_x", Issuer: "https://idp.example",
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
// existing (verified) member as inactive cuts their sessions at once.
func TestTC6_AdoptedInactiveMemberIsRevoked(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Now().UTC()
		u := &sso.User{ID: opaque.NewID("usr_"), Email: "erin@acme.example", EmailVerified: true, CreatedAt: now}
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

// TestTC6_AdoptionKeepsASuspension: an administrator suspended a member
// who signed in through JIT; when the directory is connected later and
// creates that person (active, as the IdP still lists them), the member
// is adopted but stays suspended, as every later SCIM write leaves a
// suspension alone: only an administrator lifts it.
func TestTC6_AdoptionKeepsASuspension(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		u := &sso.User{ID: opaque.NewID("usr_"), Email: "sam@acme.example", EmailVerified: true, CreatedAt: now}
		m := &sso.Membership{OrgID: e.org.ID, UserID: u.ID, Roles: []string{"member"}, Status: sso.MembershipSuspended,
			Source: sso.SourceJIT, JoinedAt: now}
		if err := e.st.Provision(ctx, u, m, nil); err != nil {
			t.Fatal(err)
		}
		id := e.createUser("sam@acme.example")
		if id != u.ID {
			t.Fatalf("SCIM create made user %s, want the member %s adopted", id, u.ID)
		}
		if got := e.membership(id); got.Status != sso.MembershipSuspended || got.Source != sso.SourceSCIM {
			t.Fatalf("adopted member: status %s, source %s; want suspended, scim", got.Status, got.Source)
		}
		// A deactivation and reactivation by the directory keep it too.
		e.do("PATCH", "/Users/"+id, patchOps(`{"op":"Replace","path":"active","value":"False"}`)).want(t, http.StatusOK)
		e.do("PATCH", "/Users/"+id, patchOps(`{"op":"Replace","path":"active","value":"True"}`)).want(t, http.StatusOK)
		if got := e.membership(id).Status; got != sso.MembershipSuspended {
			t.Fatalf("status after the directory reactivated the user: %s, want suspended", got)
		}
		// Deleted by the directory and created again: still suspended.
		e.do("DELETE", "/Users/"+id, "").want(t, http.StatusNoContent)
		if again := e.createUser("sam@acme.example"); again != id {
			t.Fatalf("re-created user %s, want %s revived", again, id)
		}
		if got := e.membership(id).Status; got != sso.MembershipSuspended {
			t.Fatalf("status after delete and re-create: %s, want suspended", got)
		}
	})
}

// verifyDomain records name as verified by orgID.
func (e *env) verifyDomain(orgID, name string) {
	e.t.Helper()
	now := time.Now().UTC()
	if err := e.st.CreateDomain(context.Background(), &sso.Domain{OrgID: orgID, Name: name, Token: "t", State: sso.DomainVerified,
		VerifiedAt: now, LastCheckedAt: now, CreatedAt: now}); err != nil {
		e.t.Fatalf("CreateDomain: %v", err)
	}
}

func (e *env) coreUser(id string) *sso.User {
	e.t.Helper()
	u, err := e.st.GetUser(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetUser: %v", err)
	}
	return u
}

// TestTM10_EmailVerifiedOnlyInTheOrgsVerifiedDomains: the directory is
// the organization's authority for its own verified domains, and for
// nothing else: a SCIM user's email is stored verified exactly when its
// domain is one the organization verified. A changed email (PATCH, PUT)
// is evaluated again.
func TestTM10_EmailVerifiedOnlyInTheOrgsVerifiedDomains(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		e.verifyDomain(e.org.ID, "acme.example")
		e.verifyDomain(e.addOrg("rival").ID, "rival.example")
		for email, want := range map[string]bool{
			"ann@acme.example":     true,
			"Bea@ACME.example.":    true,
			"cy@unverified.test":   false,
			"dee@rival.example":    false, // verified, but by another organization
			"eve@sub.acme.example": false,
		} {
			id := e.createUser(email)
			if got := e.coreUser(id).EmailVerified; got != want {
				t.Errorf("%s: EmailVerified %v, want %v", email, got, want)
			}
		}
		// userName as the email when there is no emails attribute.
		id := e.do("POST", "/Users", `{"userName":"fay@acme.example"}`).want(t, http.StatusCreated).str("id")
		if !e.coreUser(id).EmailVerified {
			t.Error("userName-only address in a verified domain not verified")
		}

		id = e.createUser("gus@acme.example")
		setEmail := func(addr string) {
			t.Helper()
			e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"emails[type eq \"work\"].value","value":`+q(addr)+`}`)).want(t, http.StatusOK)
		}
		setEmail("gus@elsewhere.test")
		if u := e.coreUser(id); u.Email != "gus@elsewhere.test" || u.EmailVerified {
			t.Errorf("after a PATCH to another domain: %s verified=%v, want unverified", u.Email, u.EmailVerified)
		}
		setEmail("gus@acme.example")
		if u := e.coreUser(id); !u.EmailVerified {
			t.Errorf("after a PATCH back into the verified domain: verified=%v", u.EmailVerified)
		}
		// An unrelated change keeps the verification.
		e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"title","value":"Boss"}`)).want(t, http.StatusOK)
		if !e.coreUser(id).EmailVerified {
			t.Error("an unrelated PATCH dropped the verification")
		}
		e.do("PUT", "/Users/"+id, `{"userName":"gus@acme.example","emails":[{"value":"gus@rival.example","primary":true}]}`).want(t, http.StatusOK)
		if u := e.coreUser(id); u.Email != "gus@rival.example" || u.EmailVerified {
			t.Errorf("after a PUT into another organization's domain: %s verified=%v", u.Email, u.EmailVerified)
		}
	})
}

// TestTM10_UnverifiedJITAccountIsNeverAdopted: an attacker signed in
// first, through an IdP that sent the future member's address unverified,
// and got a JIT account. When the directory later creates the real person,
// SCIM must not adopt that account: the person gets a separate user, and
// the attacker's account gets nothing (no SCIM record, externalId, roles,
// verification, and later directory changes do not touch it).
func TestTM10_UnverifiedJITAccountIsNeverAdopted(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.verifyDomain(e.org.ID, "acme.example")
		conn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: e.org.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
			GroupRoles: []sso.GroupRole{{Group: "Admins", Role: "admin"}}, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := e.st.CreateConnection(ctx, conn); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		mallory := &sso.User{ID: opaque.NewID("usr_"), Email: "vic@acme.example", EmailVerified: false, GivenName: "Mal", CreatedAt: now, UpdatedAt: now}
		mem := &sso.Membership{OrgID: e.org.ID, UserID: mallory.ID, Roles: []string{"member"}, Status: sso.MembershipActive,
			Source: sso.SourceJIT, JoinedAt: now, UpdatedAt: now}
		idn := &sso.Identity{ID: opaque.NewID("idn_"), OrgID: e.org.ID, ConnectionID: conn.ID, Issuer: "https://sloppy-idp.example",
			Subject: "mallory", UserID: mallory.ID, CreatedAt: now}
		if err := e.st.Provision(ctx, mallory, mem, idn); err != nil {
			t.Fatal(err)
		}

		vic := e.createUser("vic@acme.example", `"externalId":"okta-vic"`)
		if vic == mallory.ID {
			t.Fatal("SCIM adopted an account whose email was never verified")
		}
		if u := e.coreUser(vic); u.Email != "vic@acme.example" || !u.EmailVerified {
			t.Errorf("the directory's user: %+v, want a verified vic@acme.example", u)
		}
		admins := e.createGroup("Admins", vic)
		if !e.membership(vic).HasRole("admin") {
			t.Fatal("the directory's user did not get the admin role")
		}
		e.do("PATCH", "/Users/"+vic, patchOps(`{"op":"replace","path":"active","value":false}`)).want(t, http.StatusOK)

		// Mallory's account got nothing and lost nothing.
		if _, err := e.st.GetUserSCIM(ctx, e.org.ID, mallory.ID); err == nil {
			t.Error("the unverified account got a SCIM record")
		}
		m := e.membership(mallory.ID)
		if m.Source != sso.SourceJIT || m.ExternalID != "" || m.HasRole("admin") || m.Status != sso.MembershipActive {
			t.Errorf("unverified account's membership changed: %+v", m)
		}
		if u := e.coreUser(mallory.ID); u.EmailVerified || u.GivenName != "Mal" {
			t.Errorf("unverified account's user changed: %+v", u)
		}
		if n := e.rev.revoked(mallory.ID); n != 0 {
			t.Errorf("the directory's changes revoked the other account %d times", n)
		}
		r := e.do("GET", "/Groups/"+admins, "").want(t, http.StatusOK)
		if ms, _ := r.body["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["value"] != vic {
			t.Errorf("Admins members %v, want only %s", r.body["members"], vic)
		}
		// The refusal is audited, naming both accounts.
		evs, err := e.st.ListEvents(ctx, sso.EventQuery{OrgID: e.org.ID, Type: scim.EventAdoptionRefused, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Target.ID != vic || evs[0].Details["existing_user_id"] != mallory.ID {
			t.Errorf("adoption-refused events: %+v", evs)
		}
	})
}

// TestTM10_VerifiedJITMemberIsAdoptedAndStaysVerified: the other order, a
// member who signed in through JIT with a verified email, is adopted as
// before (same user, roles kept), and the adoption and later SCIM writes
// keep the email verified.
func TestTM10_VerifiedJITMemberIsAdoptedAndStaysVerified(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		jit := &sso.User{ID: opaque.NewID("usr_"), Email: "val@acme.example", EmailVerified: true, CreatedAt: now, UpdatedAt: now}
		mem := &sso.Membership{OrgID: e.org.ID, UserID: jit.ID, Roles: []string{"billing"}, Status: sso.MembershipActive,
			Source: sso.SourceJIT, JoinedAt: now, UpdatedAt: now}
		if err := e.st.Provision(ctx, jit, mem, nil); err != nil {
			t.Fatal(err)
		}
		// No verified domain here: the verification the member earned at
		// login is what counts, and it is not reset.
		id := e.createUser("val@acme.example")
		if id != jit.ID {
			t.Fatalf("SCIM create made %s, want the verified JIT member %s adopted", id, jit.ID)
		}
		if m := e.membership(id); m.Source != sso.SourceSCIM || !m.HasRole("billing") {
			t.Errorf("adopted membership %+v", m)
		}
		if u := e.coreUser(id); !u.EmailVerified || !u.CreatedAt.Equal(now) {
			t.Errorf("after adoption: verified=%v created=%v, want true and %v", u.EmailVerified, u.CreatedAt, now)
		}
		e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"name.givenName","value":"Val"}`)).want(t, http.StatusOK)
		if u := e.coreUser(id); !u.EmailVerified || u.GivenName != "Val" || !u.CreatedAt.Equal(now) {
			t.Errorf("after a PATCH: %+v", u)
		}
		// A new address outside the organization's verified domains is not.
		e.do("PATCH", "/Users/"+id, patchOps(`{"op":"replace","path":"emails[type eq \"work\"].value","value":"val@elsewhere.test"}`)).want(t, http.StatusOK)
		if u := e.coreUser(id); u.EmailVerified {
			t.Errorf("changed email %s kept the old verification", u.Email)
		}
	})
}
