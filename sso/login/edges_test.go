package login_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// TestDiscoveryEmailSpellings: what real users type. Case, a
// trailing dot, surrounding whitespace, plus-addressing and IDN route like
// the canonical address; subdomains of a verified domain, quoted local
// parts, a second "@" and NUL do not route.
func TestDiscoveryEmailSpellings(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	acme := e.Org("acme", nil)
	e.Verified(acme.ID, "acme.com")
	e.Conn(acme.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	idn := e.Org("idn", nil)
	puny, err := normalize.Domain("例子.广告")
	if err != nil {
		t.Fatal(err)
	}
	e.Verified(idn.ID, puny)
	idnConn := e.Conn(idn.ID, oidc.Protocol, sso.ConnectionActive, "https://entra.example/idn")
	_, de := e.Discovery(t, nil)

	routes := map[string]string{
		"Alice@ACME.COM":              "",
		"alice@acme.com.":             "",
		"  alice@acme.com\t":          "",
		"alice+sso@acme.com":          "",
		"用户@例子.广告":                    idnConn.ID,
		"用户@例子.广告.":                   idnConn.ID,
		"USER@XN--FSQU00A.XN--4RR70V": "",
	}
	for email, conn := range routes {
		before := de.Starter.Calls()
		res := de.PostForm(t, email, "/after")
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "https://idp.example/") {
			t.Errorf("%q: got %d %s, want the IdP", email, res.StatusCode, res.Header.Get("Location"))
			continue
		}
		if de.Starter.Calls() != before+1 {
			t.Errorf("%q: starter not called", email)
			continue
		}
		if conn != "" && de.Starter.Last(t).Conn != conn {
			t.Errorf("%q: routed to %s, want %s", email, de.Starter.Last(t).Conn, conn)
		}
	}
	for _, email := range []string{"alice@eng.acme.com", `"alice"@acme.com`, "a@b@acme.com", "alice @acme.com",
		"al ice@acme.com", "alice@acme..com", "alice\x00@acme.com", "alice@acme.com\x00", "alice@acme.com@evil.com",
		"alice@ａｃｍｅ.com.evil"} {
		res := de.PostForm(t, email, "/after")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/password-login?") {
			t.Errorf("%q: got %d %s, want the local login", email, res.StatusCode, res.Header.Get("Location"))
		}
	}
}

// TestDiscoveryResponsesIdentical compares the whole response —
// status, every header but Date, and the body bytes — between an unknown
// domain and every known domain that does not route to SSO, for forms,
// JSON and GET. Only the echoed login_hint differs, and it is replaced.
func TestDiscoveryResponsesIdentical(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	pw := e.Org("pwonly", nil)
	e.Verified(pw.ID, "pwonly.com")
	gated := e.Org("gated", func(s *sso.OrgSettings) { s.Features = s.Features.Without("saml") })
	e.Verified(gated.ID, "gated.com")
	e.Conn(gated.ID, saml.Protocol, sso.ConnectionActive, "https://g")
	pend := e.Org("pending", nil)
	if err := e.St.CreateDomain(ctx, &sso.Domain{OrgID: pend.ID, Name: "pending.com", Token: "t", State: sso.DomainPending}); err != nil {
		t.Fatal(err)
	}
	e.Conn(pend.ID, saml.Protocol, sso.ConnectionActive, "https://p")
	dis := e.Org("disabled", nil)
	e.Verified(dis.ID, "disabled.com")
	e.Conn(dis.ID, oidc.Protocol, sso.ConnectionDisabled, "https://d")
	_, de := e.Discovery(t, nil)

	type shot struct {
		status int
		header http.Header
		body   string
	}
	take := func(kind, local, domain string) shot {
		email := local + "@" + domain
		var req *http.Request
		switch kind {
		case "form":
			req, _ = http.NewRequest("POST", de.Srv.URL+"/sso/login", strings.NewReader(url.Values{"email": {email}, "return_to": {"/x"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case "json":
			req, _ = http.NewRequest("POST", de.Srv.URL+"/sso/login", strings.NewReader(`{"email":"`+email+`","return_to":"/x"}`))
			req.Header.Set("Content-Type", "application/json")
		default:
			req, _ = http.NewRequest("GET", de.Srv.URL+"/sso/login?"+url.Values{"email": {email}, "return_to": {"/x"}}.Encode(), nil)
		}
		res, err := de.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		h := res.Header.Clone()
		h.Del("Date")
		h.Del("Content-Length") // follows the body, compared below
		enc := url.QueryEscape(domain)
		for k, vs := range h {
			for i := range vs {
				vs[i] = strings.ReplaceAll(vs[i], enc, "DOMAIN")
			}
			h[k] = vs
		}
		body := strings.ReplaceAll(strings.ReplaceAll(string(b), enc, "DOMAIN"), domain, "DOMAIN")
		return shot{res.StatusCode, h, body}
	}
	for _, kind := range []string{"form", "json", "get"} {
		ref := take(kind, "someone", "unknown-zz.com")
		for _, domain := range []string{"pwonly.com", "gated.com", "pending.com", "disabled.com", "gmail.com"} {
			got := take(kind, "someone", domain)
			if got.status != ref.status || got.body != ref.body {
				t.Errorf("%s %s: %d %q, unknown domain gives %d %q", kind, domain, got.status, got.body, ref.status, ref.body)
			}
			if len(got.header) != len(ref.header) {
				t.Errorf("%s %s: headers %v, unknown domain %v", kind, domain, got.header, ref.header)
			}
			for k := range ref.header {
				if got.header.Get(k) != ref.header.Get(k) {
					t.Errorf("%s %s: header %s = %q, unknown domain %q", kind, domain, k, got.header.Get(k), ref.header.Get(k))
				}
			}
		}
	}
	if de.Starter.Calls() != 0 {
		t.Fatalf("starter called %d times", de.Starter.Calls())
	}
}

// TestEmailOfAnotherOrgsDomain: an IdP of org B asserting an email
// in a domain that org A has verified never provisions or links in B —
// even when B accepts unverified domains — and never touches A.
func TestEmailOfAnotherOrgsDomain(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	victim := e.Member(a.ID, "ceo@acme.com", nil)
	b := e.Org("evil", func(s *sso.OrgSettings) { s.AllowUnverifiedEmailDomains = true })
	e.Verified(b.ID, "evil.com")
	bc := e.Conn(b.ID, oidc.Protocol, sso.ConnectionActive, "https://evil-idp.example")
	iss := &ssoenv.FakeIssuer{}
	c := e.Completer(iss)
	for _, email := range []string{"ceo@acme.com", "CEO@ACME.COM.", "new@acme.com"} {
		_, err := e.Login(c, &sso.Login{Connection: bc, Profile: ssoenv.Profile(bc, "sub-"+email, email, true)})
		ssoenv.WantReason(t, err, sso.ErrAccessDenied, "email_domain_not_verified")
	}
	if iss.Count() != 0 || e.CountMembers(b.ID) != 0 || e.CountMembers(a.ID) != 1 {
		t.Fatalf("sessions %d, members of B %d, of A %d", iss.Count(), e.CountMembers(b.ID), e.CountMembers(a.ID))
	}
	if ms, _ := e.St.ListUserMemberships(ctx, victim.ID); len(ms) != 1 || ms[0].OrgID != a.ID {
		t.Fatalf("victim memberships %v", ms)
	}
	// A foreign but unclaimed domain is still allowed in B (the setting's
	// purpose), without linking.
	if _, err := e.Login(c, &sso.Login{Connection: bc, Profile: ssoenv.Profile(bc, "sub-x", "x@contractor.example", true)}); err != nil {
		t.Fatalf("unclaimed domain: %v", err)
	}
	// The test login reports the same reason and issues nothing.
	w, err := e.Login(c, &sso.Login{Connection: bc, Test: true, Profile: ssoenv.Profile(bc, "sub-t", "ceo@acme.com", true)})
	if err != nil || iss.Count() != 1 || strings.Contains(w.Header().Get("Set-Cookie"), "session") {
		t.Fatalf("test login: err %v, sessions %d, cookies %q", err, iss.Count(), w.Header().Get("Set-Cookie"))
	}
}

// TestMemberStates: deactivated and suspended members are refused on
// every path (known identity, email link), and a refused member is never
// provisioned a second account with the same email.
func TestMemberStates(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	cn := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	iss := &ssoenv.FakeIssuer{}
	c := e.Completer(iss)
	for _, st := range []sso.MembershipStatus{sso.MembershipDeactivated, sso.MembershipSuspended} {
		email := string(st) + "@acme.com"
		u := e.Member(o.ID, email, func(m *sso.Membership) { m.Status = st })
		_, err := e.Login(c, &sso.Login{Connection: cn, Profile: ssoenv.Profile(cn, "s-"+email, email, true)})
		ssoenv.WantReason(t, err, sso.ErrAccessDenied, "membership_"+string(st))
		// Unverified email claim: no link, and no second account either.
		_, err = e.Login(c, &sso.Login{Connection: cn, Profile: ssoenv.Profile(cn, "s2-"+email, strings.ToUpper(email), false)})
		if err == nil {
			t.Fatalf("%s: unverified email claim logged in", st)
		}
		// A known identity of a member who is later deactivated.
		if err := e.St.CreateIdentity(ctx, &sso.Identity{ID: opaque.NewID("idn_"), OrgID: o.ID, ConnectionID: cn.ID,
			Issuer: cn.Issuer(), Subject: "known-" + email, UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
		_, err = e.Login(c, &sso.Login{Connection: cn, Profile: ssoenv.Profile(cn, "known-"+email, "other@acme.com", true)})
		ssoenv.WantReason(t, err, sso.ErrAccessDenied, "membership_"+string(st))
	}
	if iss.Count() != 0 || e.CountMembers(o.ID) != 2 {
		t.Fatalf("sessions %d, members %d", iss.Count(), e.CountMembers(o.ID))
	}
}

// TestRoleMappingDropsAdmin: when the IdP stops sending the admin
// group, the next login takes the admin role away.
func TestRoleMappingDropsAdmin(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	cn := e.Conn(o.ID, oidc.Protocol, sso.ConnectionActive, "https://entra.example/acme")
	cn.GroupRoles = []sso.GroupRole{{Group: "admins", Role: "admin"}, {Group: "eng", Role: "member"}}
	if err := e.St.UpdateConnection(ctx, cn); err != nil {
		t.Fatal(err)
	}
	iss := &ssoenv.FakeIssuer{}
	c := e.Completer(iss)
	p := ssoenv.Profile(cn, "sub-1", "boss@acme.com", true)
	p.Groups = []string{"admins", "eng"}
	if _, err := e.Login(c, &sso.Login{Connection: cn, Profile: p}); err != nil {
		t.Fatal(err)
	}
	for _, groups := range [][]string{{"eng"}, nil} {
		p2 := ssoenv.Profile(cn, "sub-1", "boss@acme.com", true)
		p2.Groups = groups
		if _, err := e.Login(c, &sso.Login{Connection: cn, Profile: p2}); err != nil {
			t.Fatal(err)
		}
		g := iss.Grants[len(iss.Grants)-1]
		for _, r := range g.Roles {
			if r == "admin" {
				t.Fatalf("groups %v: session still has admin: %v", groups, g.Roles)
			}
		}
		m, _ := e.St.GetMembership(ctx, o.ID, g.UserID)
		for _, r := range m.Roles {
			if r == "admin" {
				t.Fatalf("groups %v: membership still admin: %v", groups, m.Roles)
			}
		}
	}
}

// TestIdentityAcrossConnections: two connections of one org with
// the same IdP issuer share identities (no duplicate user); an identity
// never matches in another org.
func TestIdentityAcrossConnections(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	c1 := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	c2 := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	other := e.Org("other", nil)
	e.Verified(other.ID, "other.com")
	c3 := e.Conn(other.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
	iss := &ssoenv.FakeIssuer{}
	c := e.Completer(iss)
	for _, cn := range []*sso.Connection{c1, c2, c1} {
		if _, err := e.Login(c, &sso.Login{Connection: cn, Profile: ssoenv.Profile(cn, "00u1", "a@acme.com", true)}); err != nil {
			t.Fatal(err)
		}
	}
	if e.CountMembers(o.ID) != 1 || iss.Grants[0].UserID != iss.Grants[2].UserID {
		t.Fatalf("members %d", e.CountMembers(o.ID))
	}
	// Same issuer and subject at another org's connection: not matched,
	// and the acme address is refused there.
	_, err := e.Login(c, &sso.Login{Connection: c3, Profile: ssoenv.Profile(c3, "00u1", "a@acme.com", true)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "email_domain_not_verified")
	// A profile naming another connection than the one completing it.
	p := ssoenv.Profile(c1, "00u1", "a@acme.com", true)
	_, err = e.Login(c, &sso.Login{Connection: c3, Profile: p})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "connection_mismatch")
}

// TestJITRaceSQLite: concurrent first logins of one identity on a
// real database (as two replicas would do it) end in exactly one user.
func TestJITRaceSQLite(t *testing.T) {
	t.Parallel()
	st, err := sqlstore.New(testdb.SQLite(t), sqlstore.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	o := &sso.Organization{ID: opaque.NewID("org_"), Slug: "acme", Name: "Acme"}
	o.Settings.Features = ssoenv.AllFeatures
	o.Settings.AllowJIT = true
	if err := st.CreateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: o.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	cn := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: o.ID, Protocol: oidc.Protocol, Status: sso.ConnectionActive,
		Config: &oidc.ConnectionConfig{Issuer: "https://idp.example"}}
	if err := st.CreateConnection(ctx, cn); err != nil {
		t.Fatal(err)
	}
	iss := &ssoenv.FakeIssuer{}
	var cs []*login.Completer
	for i := 0; i < 2; i++ {
		aud, err := audit.New(audit.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		c, err := login.New(login.Config{Store: st, Sessions: iss, Auditor: aud})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	e := ssoenv.New(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.Login(cs[i%2], &sso.Login{Connection: cn, Profile: ssoenv.Profile(cn, "sub-race", "race@acme.com", true)})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("concurrent login: %v", err)
		}
	}
	ms, err := st.ListMembers(ctx, o.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ok == 0 {
		t.Fatalf("%d members, %d successful logins", len(ms), ok)
	}
	for _, g := range iss.Grants {
		if g.UserID != ms[0].UserID {
			t.Fatalf("session for %s, member is %s", g.UserID, ms[0].UserID)
		}
	}
}

// TestProfileWithNUL: OIDC claims are JSON strings and may carry
// NUL, which PostgreSQL refuses; such a profile is a policy refusal with
// a stable reason instead of an internal error, and writes nothing.
func TestProfileWithNUL(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	cn := e.Conn(o.ID, oidc.Protocol, sso.ConnectionActive, "https://entra.example/acme")
	iss := &ssoenv.FakeIssuer{}
	c := e.Completer(iss)
	for _, mut := range []func(p *sso.Profile){
		func(p *sso.Profile) { p.Subject = "sub\x00" },
		func(p *sso.Profile) { p.Email = "a\x00@acme.com" },
		func(p *sso.Profile) { p.GivenName = "\x00" },
		func(p *sso.Profile) { p.Groups = []string{"admins", "x\x00"} },
	} {
		p := ssoenv.Profile(cn, "sub-1", "a@acme.com", true)
		mut(p)
		_, err := e.Login(c, &sso.Login{Connection: cn, Profile: p})
		ssoenv.WantReason(t, err, sso.ErrAccessDenied, "profile_invalid")
	}
	if iss.Count() != 0 || e.CountMembers(o.ID) != 0 {
		t.Fatalf("sessions %d, members %d", iss.Count(), e.CountMembers(o.ID))
	}
}

// TestRoleMappingKeepsTheOwner: a group mapping that does not name the
// owner role neither gives nor takes it. Before, an administrator who set
// up any mapping took the owner role from the owner at their next sign-in
// (and with it the owner's protection from suspension). A mapping that
// names it manages it.
func TestRoleMappingKeepsTheOwner(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	cn := e.Conn(o.ID, oidc.Protocol, sso.ConnectionActive, "https://entra.example/acme")
	iss := &ssoenv.FakeIssuer{}
	c := e.Completer(iss)
	login := func(groups ...string) (*sso.SessionGrant, *sso.Membership) {
		t.Helper()
		p := ssoenv.Profile(cn, "sub-1", "boss@acme.com", true)
		p.Groups = groups
		if _, err := e.Login(c, &sso.Login{Connection: cn, Profile: p}); err != nil {
			t.Fatal(err)
		}
		g := iss.Grants[len(iss.Grants)-1]
		m, err := e.St.GetMembership(ctx, o.ID, g.UserID)
		if err != nil {
			t.Fatal(err)
		}
		return g, m
	}
	g, m := login()
	m.Roles = []string{sso.RoleOwner, "admin"}
	if err := e.St.UpdateMembership(ctx, m); err != nil {
		t.Fatal(err)
	}

	cn.GroupRoles = []sso.GroupRole{{Group: "eng", Role: "member"}}
	if err := e.St.UpdateConnection(ctx, cn); err != nil {
		t.Fatal(err)
	}
	g, m = login("eng")
	if !sso.SameRoles(m.Roles, []string{"member", sso.RoleOwner}) || !sso.SameRoles(g.Roles, m.Roles) {
		t.Fatalf("owner through a mapping without owner: membership %v, session %v; want member and owner", m.Roles, g.Roles)
	}

	cn.GroupRoles = append(cn.GroupRoles, sso.GroupRole{Group: "founders", Role: sso.RoleOwner})
	if err := e.St.UpdateConnection(ctx, cn); err != nil {
		t.Fatal(err)
	}
	if g, m = login("eng", "founders"); !sso.SameRoles(m.Roles, []string{"member", sso.RoleOwner}) {
		t.Fatalf("in the group mapped to owner: %v", m.Roles)
	}
	if g, m = login("eng"); !sso.SameRoles(m.Roles, []string{"member"}) || !sso.SameRoles(g.Roles, m.Roles) {
		t.Fatalf("out of the group mapped to owner: membership %v, session %v; want member", m.Roles, g.Roles)
	}
}
