package login_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

// TestTM10_PreAccountHijackAttackerFirst: an attacker signs in first through
// a connection that sends an unverified email claiming a future member's
// address; JIT creates that account. The real owner's later verified login
// must get its own account, never the attacker's, and the attacker's
// account is flagged in the audit event.
func TestTM10_PreAccountHijackAttackerFirst(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	entra := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://login.example/entra")
	okta := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	a.Settings.AllowJIT = true
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)

	if _, err := e.Login(comp, &sso.Login{Connection: entra, Profile: ssoenv.Profile(entra, "attacker-sub", "newhire@acme.com", false)}); err != nil {
		t.Fatal(err)
	}
	attacker := iss.Grants[0].UserID
	if u, _ := e.St.GetUser(ctx, attacker); u.EmailVerified {
		t.Fatal("JIT account from an unverified email was marked verified")
	}
	if ev := e.LastEvent(a.ID, login.EventJITProvisioned); ev.Details["email_verified"] != "false" {
		t.Fatalf("JIT event = %+v, want email_verified=false flagged", ev)
	}
	if _, err := e.Login(comp, &sso.Login{Connection: okta, Profile: ssoenv.Profile(okta, "00u-victim", "newhire@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	victim := iss.Grants[1].UserID
	if victim == attacker {
		t.Fatal("the victim's verified login was linked to the attacker's unverified account")
	}
	ev := e.LastEvent(a.ID, login.EventJITProvisioned)
	if ev.Target.ID != victim || ev.Details["unverified_duplicate"] != attacker || ev.Details["email_verified"] != "true" {
		t.Fatalf("victim's JIT event = %+v, want the unverified duplicate flagged", ev)
	}
	// The attacker's next login stays on the attacker's own account, and a
	// third verified identity links to the victim's, not the attacker's.
	if _, err := e.Login(comp, &sso.Login{Connection: entra, Profile: ssoenv.Profile(entra, "attacker-sub", "newhire@acme.com", false)}); err != nil {
		t.Fatal(err)
	}
	if got := iss.Grants[2].UserID; got != attacker {
		t.Fatalf("attacker's identity now resolves to %s", got)
	}
	third := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://google.example")
	if _, err := e.Login(comp, &sso.Login{Connection: third, Profile: ssoenv.Profile(third, "g-1", "newhire@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	if got := iss.Grants[3].UserID; got != victim {
		t.Fatalf("verified link went to %s, want the victim %s", got, victim)
	}
}

// TestTM10_PreAccountHijackVictimFirst: the real owner exists (JIT with a
// verified email, or created by the directory); an unverified login
// claiming the address is refused, never linked.
func TestTM10_PreAccountHijackVictimFirst(t *testing.T) {
	t.Parallel()
	for _, source := range []sso.Source{sso.SourceJIT, sso.SourceSCIM} {
		t.Run(string(source), func(t *testing.T) {
			e := ssoenv.New(t)
			a := e.Org("acme", nil)
			e.Verified(a.ID, "acme.com")
			entra := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://login.example/entra")
			okta := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
			victim := e.Member(a.ID, "newhire@acme.com", func(m *sso.Membership) { m.Source = source })
			iss := &ssoenv.FakeIssuer{}
			comp := e.Completer(iss)
			_, err := e.Login(comp, &sso.Login{Connection: entra, Profile: ssoenv.Profile(entra, "attacker-sub", "newhire@acme.com", false)})
			ssoenv.WantReason(t, err, sso.ErrAccessDenied, "link_not_allowed")
			if iss.Count() != 0 || e.CountMembers(a.ID) != 1 {
				t.Fatalf("unverified login issued %d sessions, %d members", iss.Count(), e.CountMembers(a.ID))
			}
			if _, err := e.Login(comp, &sso.Login{Connection: okta, Profile: ssoenv.Profile(okta, "00u-victim", "newhire@acme.com", true)}); err != nil {
				t.Fatal(err)
			}
			if iss.Grants[0].UserID != victim.ID {
				t.Fatalf("verified login went to %s, want the existing member", iss.Grants[0].UserID)
			}
		})
	}
}

// TestTM10_SCIMCreatedUnverifiedIsNoLinkTarget: a stored account whose
// email was never verified is not a link target even for a verified login
// (here an account a directory pushed with an address outside the
// organization's verified domains, later verified by the organization).
func TestTM10_SCIMCreatedUnverifiedIsNoLinkTarget(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	okta := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	u := e.Member(a.ID, "pat@acme.com", func(m *sso.Membership) { m.Source = sso.SourceSCIM })
	u.EmailVerified = false
	if err := e.St.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	iss := &ssoenv.FakeIssuer{}
	if _, err := e.Login(e.Completer(iss), &sso.Login{Connection: okta, Profile: ssoenv.Profile(okta, "00u-pat", "pat@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	if iss.Grants[0].UserID == u.ID {
		t.Fatal("verified login linked to an account whose email was never verified")
	}
}

// TestTM11_ProfileOverwriteAcrossOrgs: org A's IdP cannot change the email
// or names of a user org B owns (the user's email is in B's verified
// domain), and can change them for a user A owns.
func TestTM11_ProfileOverwriteAcrossOrgs(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", func(s *sso.OrgSettings) { s.AllowUnverifiedEmailDomains = true })
	b := e.Org("bigco", nil)
	e.Verified(a.ID, "acme.com")
	e.Verified(b.ID, "bigco.com")
	ca := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme.example")
	u := e.Member(b.ID, "x@bigco.com", nil)
	u.GivenName = "Xavier"
	if err := e.St.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := e.St.CreateMembership(ctx, &sso.Membership{OrgID: a.ID, UserID: u.ID, Roles: []string{"member"},
		Status: sso.MembershipActive, Source: sso.SourceAdmin, JoinedAt: e.Clock()}); err != nil {
		t.Fatal(err)
	}
	if err := e.St.CreateIdentity(ctx, &sso.Identity{ID: opaque.NewID("idn_"), OrgID: a.ID, ConnectionID: ca.ID,
		Issuer: ca.Issuer(), Subject: "x-at-acme", UserID: u.ID, CreatedAt: e.Clock()}); err != nil {
		t.Fatal(err)
	}
	comp := e.Completer(&ssoenv.FakeIssuer{})
	p := ssoenv.Profile(ca, "x-at-acme", "attacker@acme.com", true)
	p.GivenName, p.DisplayName = "Mallory", "Mallory"
	if _, err := e.Login(comp, &sso.Login{Connection: ca, Profile: p}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.St.GetUser(ctx, u.ID)
	if got.Email != "x@bigco.com" || got.GivenName != "Xavier" || !got.EmailVerified {
		t.Fatalf("org A's login rewrote a user org B owns: %+v", got)
	}

	// A user A owns (its email in A's domain) is updated by A's IdP, and
	// only to an address in A's verified domains.
	own := e.Member(a.ID, "ann@acme.com", nil)
	if err := e.St.CreateIdentity(ctx, &sso.Identity{ID: opaque.NewID("idn_"), OrgID: a.ID, ConnectionID: ca.ID,
		Issuer: ca.Issuer(), Subject: "ann", UserID: own.ID, CreatedAt: e.Clock()}); err != nil {
		t.Fatal(err)
	}
	p = ssoenv.Profile(ca, "ann", "ann.lee@acme.com", true)
	p.GivenName = "Ann"
	if _, err := e.Login(comp, &sso.Login{Connection: ca, Profile: p}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.St.GetUser(ctx, own.ID); got.Email != "ann.lee@acme.com" || got.GivenName != "Ann" {
		t.Fatalf("owned user not refreshed: %+v", got)
	}
	p = ssoenv.Profile(ca, "ann", "ann@elsewhere.example", true)
	if _, err := e.Login(comp, &sso.Login{Connection: ca, Profile: p}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.St.GetUser(ctx, own.ID); got.Email != "ann.lee@acme.com" {
		t.Fatalf("email moved outside the organization's verified domains: %+v", got)
	}
}

// TestTX10_DirectorySyncOwnsRoles removes the flip-flop: with directory
// sync on, SCIM-granted roles survive logins with or without a groups
// claim; without it, the mapping applies and a change ends the member's
// other sessions at once (real session.Manager on memstore).
func TestTX10_DirectorySyncOwnsRoles(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", func(s *sso.OrgSettings) { s.DirectorySync = true })
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	c.GroupRoles = []sso.GroupRole{{Group: "admins", Role: "admin"}}
	if err := e.St.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	u := e.Member(a.ID, "pat@acme.com", func(m *sso.Membership) { m.Source, m.Roles = sso.SourceSCIM, []string{"admin"} })
	mgr, err := session.New(session.Config{Store: e.St, Events: e.St, Orgs: e.St, Memberships: e.St, Now: e.Clock})
	if err != nil {
		t.Fatal(err)
	}
	comp := e.Completer(mgr)
	roles := func() string {
		m, _ := e.St.GetMembership(ctx, a.ID, u.ID)
		return fmt.Sprint(m.Roles)
	}
	for _, groups := range [][]string{nil, {"staff"}, nil} {
		p := ssoenv.Profile(c, "00u-pat", "pat@acme.com", true)
		p.Groups = groups
		if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: p}); err != nil {
			t.Fatal(err)
		}
		if got := roles(); got != "[admin]" {
			t.Fatalf("login with groups %v changed directory-owned roles to %s", groups, got)
		}
	}

	// Without directory sync, the mapping applies, and the demotion ends
	// the member's earlier session.
	a.Settings.DirectorySync = false
	if err := e.St.UpdateOrg(ctx, a); err != nil {
		t.Fatal(err)
	}
	p := ssoenv.Profile(c, "00u-pat", "pat@acme.com", true)
	p.Groups = []string{"admins"}
	w, err := e.Login(comp, &sso.Login{Connection: c, Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	first := w.Result().Cookies()
	p.Groups = nil
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: p}); err != nil {
		t.Fatal(err)
	}
	if got := roles(); got != "[member]" {
		t.Fatalf("roles after a login without the admin group = %s, want [member]", got)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, ck := range first {
		r.AddCookie(ck)
	}
	if _, err := mgr.Current(r); err == nil {
		t.Fatal("the admin session issued before the demotion is still valid")
	}
	if ev := e.LastEvent(a.ID, sso.EventSessionRevoked); ev.Reason != "membership_changed" {
		t.Fatalf("audit = %+v, want membership_changed", ev)
	}
}
