package login_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
)

var ctx = ssoenv.Ctx

func TestCompleteJITMatchAndRoles(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", func(s *sso.OrgSettings) { s.DefaultRole = "viewer"; s.MFA.TrustIdPMFA = true })
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)

	p := ssoenv.Profile(c, "00u1", "Alice@acme.com", true)
	p.GivenName, p.MFA = "Alice", true
	w, err := e.Login(comp, &sso.Login{Connection: c, Profile: p, ReturnTo: "/dash?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dash?x=1" {
		t.Fatalf("got %d %s", w.Code, w.Header().Get("Location"))
	}
	g := iss.Grants[0]
	if g.OrgID != a.ID || g.ConnectionID != c.ID || g.Method != sso.AuthMethod("saml") || !g.MFA || g.MFAAt.IsZero() ||
		fmt.Sprint(g.Roles) != "[viewer]" {
		t.Fatalf("got grant %+v", g)
	}
	jit := e.LastEvent(a.ID, login.EventJITProvisioned)
	if jit.Target.ID != g.UserID || jit.IP != "198.51.100.7" || jit.UserAgent != "test-browser" {
		t.Fatalf("got %+v", jit)
	}
	u, _ := e.St.GetUser(ctx, g.UserID)
	if u.Email != "alice@acme.com" || !u.EmailVerified || u.GivenName != "Alice" {
		t.Fatalf("got user %+v", u)
	}
	// Second login: matched by identity, no new user; group mapping applied.
	c.GroupRoles = []sso.GroupRole{{Group: "admins", Role: "admin"}, {Group: "eng", Role: "developer"}}
	if err := e.St.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	p2 := ssoenv.Profile(c, "00u1", "alice@acme.com", true)
	p2.Groups = []string{"eng", "admins"}
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: p2}); err != nil {
		t.Fatal(err)
	}
	g2 := iss.Grants[1]
	if g2.UserID != g.UserID || fmt.Sprint(g2.Roles) != "[admin developer]" || g2.MFA {
		t.Fatalf("got %+v", g2)
	}
	if ev := e.LastEvent(a.ID, sso.EventRolesChanged); ev.Details["to"] != "admin,developer" || ev.Details["from"] != "viewer" {
		t.Fatalf("got %+v", ev)
	}
	// Removed from the group at the IdP: roles shrink on the next login.
	p2.Groups = []string{"eng"}
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: p2}); err != nil {
		t.Fatal(err)
	}
	if m, _ := e.St.GetMembership(ctx, a.ID, g.UserID); fmt.Sprint(m.Roles) != "[developer]" {
		t.Fatalf("got roles %v", m.Roles)
	}
	if n := e.CountMembers(a.ID); n != 1 {
		t.Fatalf("got %d members", n)
	}
	if ev := e.LastEvent(a.ID, sso.EventLoginSucceeded); ev.Details["outcome"] != "matched" || ev.Actor.ID != g.UserID {
		t.Fatalf("got %+v", ev)
	}
}

func TestCompleteLinksVerifiedMember(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://accounts.example")
	existing := e.Member(a.ID, "bob@acme.com", nil)
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "sub-bob", "BOB@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	if iss.Grants[0].UserID != existing.ID || iss.Grants[0].Method != sso.AuthMethod("oidc") {
		t.Fatalf("got %+v", iss.Grants[0])
	}
	ev := e.LastEvent(a.ID, login.EventIdentityLinked)
	if ev.Target.ID != existing.ID || ev.Details["connection_id"] != c.ID {
		t.Fatalf("got %+v", ev)
	}
	if id, err := e.St.GetIdentity(ctx, a.ID, "https://accounts.example", "sub-bob"); err != nil || id.UserID != existing.ID {
		t.Fatalf("identity: %v %v", id, err)
	}
}

// TestTM1_UnverifiedDomainTakeover: tenant B adds acme.com without
// verifying it. Routing ignores B, and B's IdP can neither link to nor
// provision @acme.com accounts.
func TestTM1_UnverifiedDomainTakeover(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	alice := e.Member(a.ID, "alice@acme.com", nil)
	b := e.Org("evil", nil)
	d := e.Domains(&ssoenv.FakeResolver{}, nil)
	if _, err := d.Add(ctx, b.ID, "evil-corp.com"); err != nil {
		t.Fatal(err)
	}
	// B may not even claim acme.com while A holds it verified.
	_, err := d.Add(ctx, b.ID, "acme.com")
	ssoenv.WantReason(t, err, sso.ErrConflict, "claimed_by_other_org")
	// An unverified claim on a fresh domain does not route.
	if _, err := d.Add(ctx, b.ID, "target.com"); err != nil {
		t.Fatal(err)
	}
	cb := e.Conn(b.ID, saml.Protocol, sso.ConnectionActive, "https://idp.evil")
	_, de := e.Discovery(t, nil)
	if res := de.PostForm(t, "ceo@target.com", "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("unverified domain routed: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// B also has a member whose email is in the unverified domain.
	victim := e.Member(b.ID, "ceo@target.com", nil)
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	for _, tc := range []struct{ email, reason string }{
		{"ceo@target.com", "email_domain_not_verified"},
		{"alice@acme.com", "email_domain_not_verified"},
		{"new@target.com", "email_domain_not_verified"},
	} {
		_, err := e.Login(comp, &sso.Login{Connection: cb, Profile: ssoenv.Profile(cb, "s-"+tc.email, tc.email, true)})
		ssoenv.WantReason(t, err, sso.ErrAccessDenied, tc.reason)
		if ev := e.LastEvent(b.ID, sso.EventLoginFailed); ev.Reason != tc.reason {
			t.Fatalf("got %+v", ev)
		}
	}
	if iss.Count() != 0 {
		t.Fatal("a session was issued")
	}
	if ids, _ := e.St.ListUserIdentities(ctx, victim.ID); len(ids) != 0 {
		t.Fatal("identity linked through an unverified domain")
	}
	if ids, _ := e.St.ListUserIdentities(ctx, alice.ID); len(ids) != 0 {
		t.Fatal("cross-tenant identity created")
	}
	if n := e.CountMembers(b.ID); n != 1 {
		t.Fatalf("JIT happened: %d members", n)
	}
}

// TestTM8_IdPEmailVsVerifiedDomain: emails outside the verified domains
// never link; an unverified email never links (T-O.16: only a boolean true
// from the protocol package counts, which reaches here as EmailVerified).
func TestTM8_IdPEmailVsVerifiedDomain(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", func(s *sso.OrgSettings) { s.AllowUnverifiedEmailDomains = true })
	e.Verified(a.ID, "acme.com")
	c := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, "https://idp.acme")
	bob := e.Member(a.ID, "bob@acme.com", nil)
	partner := e.Member(a.ID, "pat@partner.example", nil)
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)

	// email_verified false (absent, "false", "true" as string in the token
	// all map to false in oidc): no linking, and no duplicate account.
	_, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "attacker-1", "bob@acme.com", false)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "link_not_allowed")
	// Email outside the verified domains: never linked, even with
	// AllowUnverifiedEmailDomains.
	_, err = e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "attacker-2", "pat@partner.example", true)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "link_not_allowed")
	for _, u := range []*sso.User{bob, partner} {
		if ids, _ := e.St.ListUserIdentities(ctx, u.ID); len(ids) != 0 {
			t.Fatalf("%s linked: %v", u.Email, ids)
		}
	}
	// A new outside email is provisioned as its own, unverified user.
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "guest", "guest@else.example", true)}); err != nil {
		t.Fatal(err)
	}
	u, _ := e.St.GetUser(ctx, iss.Grants[0].UserID)
	if u.EmailVerified || u.ID == bob.ID {
		t.Fatalf("got %+v", u)
	}
	// Without the setting, outside emails are refused outright.
	a.Settings.AllowUnverifiedEmailDomains = false
	if err := e.St.UpdateOrg(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err = e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "guest2", "g2@else.example", true)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "email_domain_not_verified")
	_, err = e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "noemail", "", true)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "email_missing")
}

// TestTS23_CrossTenantIdentityMapping: tenant A's IdP asserts
// admin@tenantB.com; nothing in B is reachable.
func TestTS23_CrossTenantIdentityMapping(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a, b := e.Org("tenant-a", nil), e.Org("tenant-b", nil)
	e.Verified(a.ID, "tenanta.com")
	e.Verified(b.ID, "tenantb.com")
	ca := e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://idp.tenanta")
	admin := e.Member(b.ID, "admin@tenantb.com", func(m *sso.Membership) { m.Roles = []string{"admin"} })
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	_, err := e.Login(comp, &sso.Login{Connection: ca, Profile: ssoenv.Profile(ca, "admin@tenantb.com", "admin@tenantb.com", true)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "email_domain_not_verified")
	if iss.Count() != 0 || e.CountMembers(a.ID) != 0 {
		t.Fatal("login or JIT happened")
	}
	if ids, _ := e.St.ListUserIdentities(ctx, admin.ID); len(ids) != 0 {
		t.Fatal("B's admin linked to A's IdP")
	}
}

// TestTO15_ProfileFromAnotherTenant: a profile produced for tenant A's
// connection cannot complete at tenant B, and the same (issuer, subject)
// in two organizations are two identities.
func TestTO15_ProfileFromAnotherTenant(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a, b := e.Org("tenant-a", nil), e.Org("tenant-b", nil)
	e.Verified(a.ID, "a.com")
	e.Verified(b.ID, "b.com")
	shared := "https://login.microsoftonline.example/common/v2.0"
	ca := e.Conn(a.ID, oidc.Protocol, sso.ConnectionActive, shared)
	cb := e.Conn(b.ID, oidc.Protocol, sso.ConnectionActive, shared)
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	// A's profile presented with B's connection.
	p := ssoenv.Profile(ca, "oid-1", "x@a.com", true)
	_, err := e.Login(comp, &sso.Login{Connection: cb, Profile: p})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "connection_mismatch")
	// A forged connection object claiming B's org but A's ID.
	forged := *ca
	forged.OrgID = b.ID
	_, err = e.Login(comp, &sso.Login{Connection: &forged, Profile: ssoenv.Profile(&forged, "oid-1", "x@b.com", true)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "connection_mismatch")
	// Same issuer+subject in both orgs: separate users.
	if _, err := e.Login(comp, &sso.Login{Connection: ca, Profile: ssoenv.Profile(ca, "oid-1", "x@a.com", true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Login(comp, &sso.Login{Connection: cb, Profile: ssoenv.Profile(cb, "oid-1", "x@b.com", true)}); err != nil {
		t.Fatal(err)
	}
	if iss.Grants[0].UserID == iss.Grants[1].UserID || iss.Grants[0].OrgID == iss.Grants[1].OrgID {
		t.Fatalf("identities shared across orgs: %+v %+v", iss.Grants[0], iss.Grants[1])
	}
}

func TestCompletePolicyRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(e *ssoenv.Env, org *sso.Organization, c *sso.Connection)
		email    string
		sentinel error
		reason   string
	}{
		{"NoJIT", func(e *ssoenv.Env, o *sso.Organization, c *sso.Connection) {
			o.Settings.AllowJIT = false
			_ = e.St.UpdateOrg(ctx, o)
		}, "new@acme.com", sso.ErrNotProvisioned, "not_provisioned"},
		{"DirectorySyncJITUpdateOnly", func(e *ssoenv.Env, o *sso.Organization, c *sso.Connection) {
			o.Settings.DirectorySync = true
			_ = e.St.UpdateOrg(ctx, o)
		}, "new@acme.com", sso.ErrNotProvisioned, "not_provisioned"},
		{"Suspended", func(e *ssoenv.Env, o *sso.Organization, c *sso.Connection) {
			e.Member(o.ID, "sus@acme.com", func(m *sso.Membership) { m.Status = sso.MembershipSuspended })
		}, "sus@acme.com", sso.ErrAccessDenied, "membership_suspended"},
		{"Deactivated", func(e *ssoenv.Env, o *sso.Organization, c *sso.Connection) {
			e.Member(o.ID, "gone@acme.com", func(m *sso.Membership) { m.Status = sso.MembershipDeactivated })
		}, "gone@acme.com", sso.ErrAccessDenied, "membership_deactivated"},
		{"DisabledConnection", func(e *ssoenv.Env, o *sso.Organization, c *sso.Connection) {
			c.Status = sso.ConnectionDisabled
			_ = e.St.UpdateConnection(ctx, c)
		}, "a@acme.com", sso.ErrAccessDenied, "connection_disabled"},
		{"DraftConnection", func(e *ssoenv.Env, o *sso.Organization, c *sso.Connection) {
			c.Status = sso.ConnectionDraft
			_ = e.St.UpdateConnection(ctx, c)
		}, "a@acme.com", sso.ErrAccessDenied, "connection_not_active"},
		{"FeatureOff", func(e *ssoenv.Env, o *sso.Organization, c *sso.Connection) {
			o.Settings.Features = o.Settings.Features.Without("saml")
			_ = e.St.UpdateOrg(ctx, o)
		}, "a@acme.com", sso.ErrAccessDenied, "feature_disabled"},
		{"InvalidEmail", nil, "not an email", sso.ErrAccessDenied, "email_invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := ssoenv.New(t)
			o := e.Org("acme", nil)
			e.Verified(o.ID, "acme.com")
			c := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme")
			if tc.setup != nil {
				tc.setup(e, o, c)
			}
			before := e.CountMembers(o.ID)
			iss := &ssoenv.FakeIssuer{}
			w, err := e.Login(e.Completer(iss), &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "s1", tc.email, true)})
			ssoenv.WantReason(t, err, tc.sentinel, tc.reason)
			if iss.Count() != 0 || w.Code != 200 || w.Header().Get("Location") != "" || len(w.Header()["Set-Cookie"]) != 0 {
				t.Fatalf("wrote a response or issued a session: %d %v", w.Code, w.Header())
			}
			if e.CountMembers(o.ID) != before {
				t.Fatal("membership created")
			}
			if ev := e.LastEvent(o.ID, sso.EventLoginFailed); ev.Reason != tc.reason || ev.Outcome != sso.OutcomeFailure {
				t.Fatalf("got %+v", ev)
			}
		})
	}
	t.Run("DirectorySyncUpdatesExisting", func(t *testing.T) {
		t.Parallel()
		e := ssoenv.New(t)
		o := e.Org("acme", func(s *sso.OrgSettings) { s.DirectorySync = true })
		e.Verified(o.ID, "acme.com")
		c := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme")
		u := e.Member(o.ID, "scim@acme.com", func(m *sso.Membership) { m.Source = sso.SourceSCIM })
		p := ssoenv.Profile(c, "s1", "scim@acme.com", true)
		p.DisplayName = "Scim User"
		iss := &ssoenv.FakeIssuer{}
		if _, err := e.Login(e.Completer(iss), &sso.Login{Connection: c, Profile: p}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.St.GetUser(ctx, u.ID); got.DisplayName != "Scim User" {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("NotProvisionedMessage", func(t *testing.T) {
		if !strings.Contains(sso.ErrNotProvisioned.Error(), "not provisioned for this organization") {
			t.Fatal(sso.ErrNotProvisioned)
		}
	})
}

func TestCompleteTestLogin(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	c := e.Conn(o.ID, saml.Protocol, sso.ConnectionDraft, "https://idp.acme")
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	w, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "admin", "admin@acme.com", true), Test: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/admin/sso" || iss.Count() != 0 {
		t.Fatalf("got %d %s, sessions %d", w.Code, w.Header().Get("Location"), iss.Count())
	}
	got, _ := e.St.GetConnection(ctx, c.ID)
	if got.LastTest == nil || !got.LastTest.OK || got.LastTestOK.IsZero() || !strings.Contains(got.LastTest.Detail, "provisioned") {
		t.Fatalf("got %+v", got.LastTest)
	}
	if e.CountMembers(o.ID) != 0 {
		t.Fatal("test login provisioned a user")
	}
	// Missing email attribute: failed test naming the check.
	w, err = e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "admin", "", true), Test: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = e.St.GetConnection(ctx, c.ID)
	if got.LastTest.OK || got.LastTest.Reason != "profile_incomplete" || !strings.Contains(got.LastTest.Detail, "attribute mapping") {
		t.Fatalf("got %+v", got.LastTest)
	}
	// A protocol failure during a test records the want/got detail.
	r := httptest.NewRequest("POST", "/acs", nil)
	comp.Fail(r, &sso.LoginFailure{Connection: c, Protocol: saml.Protocol, Test: true,
		Err: &sso.ValidationError{Protocol: saml.Protocol, Reason: "audience_mismatch", Want: "https://app.example/sso/saml/" + c.ID, Got: "https://other"}})
	got, _ = e.St.GetConnection(ctx, c.ID)
	if got.LastTest.OK || got.LastTest.Reason != "audience_mismatch" || !strings.Contains(got.LastTest.Detail, `got "https://other"`) {
		t.Fatalf("got %+v", got.LastTest)
	}
	if got.LastTestOK.IsZero() {
		t.Fatal("LastTestOK cleared; it records the last success")
	}
	ev := e.LastEvent(o.ID, sso.EventLoginFailed)
	if ev.Reason != "audience_mismatch" || ev.Target.ID != c.ID || ev.Details["test"] != "true" {
		t.Fatalf("got %+v", ev)
	}
	if ev := e.LastEvent(o.ID, login.EventConnectionTested); ev.Outcome != sso.OutcomeFailure {
		t.Fatalf("got %+v", ev)
	}
	// Fail with an unknown connection records an org-less event and no test.
	comp.Fail(r, &sso.LoginFailure{Connection: &sso.Connection{ID: "nope", OrgID: o.ID}, Protocol: oidc.Protocol, Err: sso.ErrExpired})
	if evs := e.Events("", sso.EventLoginFailed); len(evs) != 1 || evs[0].Reason != "expired" {
		t.Fatalf("got %v", evs)
	}
}

func TestTS19_CompletionReturnTo(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	c := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme")
	comp := e.Completer(&ssoenv.FakeIssuer{})
	for _, p := range ssoenv.ReturnToPayloads {
		w, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "s", "a@acme.com", true), ReturnTo: p})
		if err != nil {
			t.Fatal(err)
		}
		if loc := w.Header().Get("Location"); loc != "/app" {
			t.Errorf("payload %q redirected to %q", p, loc)
		}
	}
}

func TestCompleteConcurrentFirstLogin(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	c := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme")
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "same", "same@acme.com", true)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, sso.ErrConflict) {
			t.Fatal(err)
		}
	}
	if n := e.CountMembers(o.ID); n != 1 {
		t.Fatalf("got %d members, want 1", n)
	}
}

func TestNewCompleterConfig(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	for i, cfg := range []login.Config{
		{},
		{Store: e.St, Auditor: e.Aud},
		{Store: e.St, Sessions: &ssoenv.FakeIssuer{}},
		{Store: e.St, Sessions: &ssoenv.FakeIssuer{}, Auditor: e.Aud, DefaultReturnTo: "//evil"},
	} {
		if _, err := login.New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("config %d: got %v", i, err)
		}
	}
}

func BenchmarkCompleteMatchedLogin(b *testing.B) {
	e := ssoenv.New(b)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	c := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme")
	comp := e.Completer(&ssoenv.FakeIssuer{})
	l := &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "s", "a@acme.com", true)}
	if _, err := e.Login(comp, l); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := comp.Resolve(ctx, l); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCompleteMFAFromIdP: an MFA asserted through amr or
// AuthnContextClassRef counts only when the organization trusts it.
func TestCompleteMFAFromIdP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		trust bool
		mut   func(p *sso.Profile)
		want  bool
	}{
		{"AMR", true, func(p *sso.Profile) { p.AMR = []string{"pwd", "mfa"} }, true},
		{"AuthnContext", true, func(p *sso.Profile) { p.AuthnContext = "http://schemas.microsoft.com/claims/multipleauthn" }, true},
		{"PasswordOnly", true, func(p *sso.Profile) { p.AMR = []string{"pwd"} }, false},
		{"NotTrusted", false, func(p *sso.Profile) { p.AMR = []string{"mfa"}; p.MFA = true }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := ssoenv.New(t)
			o := e.Org("acme", func(s *sso.OrgSettings) { s.MFA.TrustIdPMFA = tc.trust })
			e.Verified(o.ID, "acme.com")
			c := e.Conn(o.ID, oidc.Protocol, sso.ConnectionActive, "https://idp")
			p := ssoenv.Profile(c, "s", "a@acme.com", true)
			tc.mut(p)
			iss := &ssoenv.FakeIssuer{}
			if _, err := e.Login(e.Completer(iss), &sso.Login{Connection: c, Profile: p}); err != nil {
				t.Fatal(err)
			}
			if g := iss.Grants[0]; g.MFA != tc.want || (g.MFA && g.MFAAt.IsZero()) {
				t.Fatalf("got MFA %v at %v, want %v", g.MFA, g.MFAAt, tc.want)
			}
		})
	}
}

// TestTO16_UnverifiedEmailNeverLinks: only a verified email (the oidc
// package maps email_verified to true only for the JSON boolean true) in a
// verified domain links to an existing account.
func TestTO16_UnverifiedEmailNeverLinks(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	c := e.Conn(o.ID, oidc.Protocol, sso.ConnectionActive, "https://idp")
	victim := e.Member(o.ID, "ceo@acme.com", nil)
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	_, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "attacker", "ceo@acme.com", false)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "link_not_allowed")
	if ids, _ := e.St.ListUserIdentities(ctx, victim.ID); len(ids) != 0 || iss.Count() != 0 {
		t.Fatal("linked through an unverified email")
	}
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "ceo-sub", "ceo@acme.com", true)}); err != nil {
		t.Fatal(err)
	}
	if iss.Grants[0].UserID != victim.ID {
		t.Fatal("verified email did not link")
	}
}

// A test login whose IdP response is valid but whose user a real login
// would refuse (here: the email domain is not verified) is a failed test
// naming the reason, so it cannot be activated on false confidence; the
// earlier success stays recorded in LastTestOK only.
func TestCompleteTestLoginRefusedByPolicy(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	c := e.Conn(o.ID, saml.Protocol, sso.ConnectionDraft, "https://idp.acme")
	comp := e.Completer(&ssoenv.FakeIssuer{})
	if _, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "admin", "admin@acme.com", true), Test: true}); err != nil {
		t.Fatal(err)
	}
	w, err := e.Login(comp, &sso.Login{Connection: c, Profile: ssoenv.Profile(c, "bob", "bob@globex.test", true), Test: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusSeeOther {
		t.Fatalf("got %d, want the admin sent back with the result", w.Code)
	}
	got, _ := e.St.GetConnection(ctx, c.ID)
	if got.LastTest == nil || got.LastTest.OK || got.LastTest.Reason != "email_domain_not_verified" ||
		!strings.Contains(got.LastTest.Detail, "a real login would be refused") || !strings.Contains(got.LastTest.Detail, "bob@globex.test") {
		t.Fatalf("got %+v, want a failed test naming email_domain_not_verified", got.LastTest)
	}
	if got.LastTestOK.IsZero() {
		t.Fatal("LastTestOK cleared; it records the last success")
	}
}
