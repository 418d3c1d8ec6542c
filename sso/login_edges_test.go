package sso_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// TestDiscoveryEmailSpellings: what real users type. Case, a
// trailing dot, surrounding whitespace, plus-addressing and IDN route like
// the canonical address; subdomains of a verified domain, quoted local
// parts, a second "@" and NUL do not route.
func TestDiscoveryEmailSpellings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.org("acme", nil)
	e.verified(acme.ID, "acme.com")
	e.conn(acme.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://okta.example/acme")
	idn := e.org("idn", nil)
	puny, err := sso.NormalizeDomain("例子.广告")
	if err != nil {
		t.Fatal(err)
	}
	e.verified(idn.ID, puny)
	idnConn := e.conn(idn.ID, sso.ProtocolOIDC, sso.ConnectionActive, "https://entra.example/idn")
	_, de := newDiscovery(t, e, nil)

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
		before := len(de.starter.calls)
		res := de.postForm(t, email, "/after")
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "https://idp.example/") {
			t.Errorf("%q: got %d %s, want the IdP", email, res.StatusCode, res.Header.Get("Location"))
			continue
		}
		if len(de.starter.calls) != before+1 {
			t.Errorf("%q: starter not called", email)
			continue
		}
		if conn != "" && de.starter.last(t).Conn != conn {
			t.Errorf("%q: routed to %s, want %s", email, de.starter.last(t).Conn, conn)
		}
	}
	for _, email := range []string{"alice@eng.acme.com", `"alice"@acme.com`, "a@b@acme.com", "alice @acme.com",
		"al ice@acme.com", "alice@acme..com", "alice\x00@acme.com", "alice@acme.com\x00", "alice@acme.com@evil.com",
		"alice@ａｃｍｅ.com.evil"} {
		res := de.postForm(t, email, "/after")
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
	e := newEnv(t)
	pw := e.org("pwonly", nil)
	e.verified(pw.ID, "pwonly.com")
	gated := e.org("gated", func(s *sso.OrgSettings) { s.Features.SAML = false })
	e.verified(gated.ID, "gated.com")
	e.conn(gated.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://g")
	pend := e.org("pending", nil)
	if err := e.st.CreateDomain(ctx, &sso.Domain{OrgID: pend.ID, Name: "pending.com", Token: "t", State: sso.DomainPending}); err != nil {
		t.Fatal(err)
	}
	e.conn(pend.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://p")
	dis := e.org("disabled", nil)
	e.verified(dis.ID, "disabled.com")
	e.conn(dis.ID, sso.ProtocolOIDC, sso.ConnectionDisabled, "https://d")
	_, de := newDiscovery(t, e, nil)

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
			req, _ = http.NewRequest("POST", de.srv.URL+"/sso/login", strings.NewReader(url.Values{"email": {email}, "return_to": {"/x"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		case "json":
			req, _ = http.NewRequest("POST", de.srv.URL+"/sso/login", strings.NewReader(`{"email":"`+email+`","return_to":"/x"}`))
			req.Header.Set("Content-Type", "application/json")
		default:
			req, _ = http.NewRequest("GET", de.srv.URL+"/sso/login?"+url.Values{"email": {email}, "return_to": {"/x"}}.Encode(), nil)
		}
		res, err := de.client.Do(req)
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
	if len(de.starter.calls) != 0 {
		t.Fatalf("starter called %d times", len(de.starter.calls))
	}
}

// TestEmailOfAnotherOrgsDomain: an IdP of org B asserting an email
// in a domain that org A has verified never provisions or links in B —
// even when B accepts unverified domains — and never touches A.
func TestEmailOfAnotherOrgsDomain(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.org("acme", nil)
	e.verified(a.ID, "acme.com")
	victim := e.member(a.ID, "ceo@acme.com", nil)
	b := e.org("evil", func(s *sso.OrgSettings) { s.AllowUnverifiedEmailDomains = true })
	e.verified(b.ID, "evil.com")
	bc := e.conn(b.ID, sso.ProtocolOIDC, sso.ConnectionActive, "https://evil-idp.example")
	iss := &fakeIssuer{}
	c := e.completer(iss)
	for _, email := range []string{"ceo@acme.com", "CEO@ACME.COM.", "new@acme.com"} {
		_, err := e.login(c, &sso.Login{Connection: bc, Profile: profile(bc, "sub-"+email, email, true)})
		wantReason(t, err, sso.ErrAccessDenied, "email_domain_not_verified")
	}
	if iss.count() != 0 || e.countMembers(b.ID) != 0 || e.countMembers(a.ID) != 1 {
		t.Fatalf("sessions %d, members of B %d, of A %d", iss.count(), e.countMembers(b.ID), e.countMembers(a.ID))
	}
	if ms, _ := e.st.ListUserMemberships(ctx, victim.ID); len(ms) != 1 || ms[0].OrgID != a.ID {
		t.Fatalf("victim memberships %v", ms)
	}
	// A foreign but unclaimed domain is still allowed in B (the setting's
	// purpose), without linking.
	if _, err := e.login(c, &sso.Login{Connection: bc, Profile: profile(bc, "sub-x", "x@contractor.example", true)}); err != nil {
		t.Fatalf("unclaimed domain: %v", err)
	}
	// The test login reports the same reason and issues nothing.
	w, err := e.login(c, &sso.Login{Connection: bc, Test: true, Profile: profile(bc, "sub-t", "ceo@acme.com", true)})
	if err != nil || iss.count() != 1 || strings.Contains(w.Header().Get("Set-Cookie"), "session") {
		t.Fatalf("test login: err %v, sessions %d, cookies %q", err, iss.count(), w.Header().Get("Set-Cookie"))
	}
}

// TestMemberStates: deactivated and suspended members are refused on
// every path (known identity, email link), and a refused member is never
// provisioned a second account with the same email.
func TestMemberStates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.org("acme", nil)
	e.verified(o.ID, "acme.com")
	cn := e.conn(o.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://okta.example/acme")
	iss := &fakeIssuer{}
	c := e.completer(iss)
	for _, st := range []sso.MembershipStatus{sso.MembershipDeactivated, sso.MembershipSuspended} {
		email := string(st) + "@acme.com"
		u := e.member(o.ID, email, func(m *sso.Membership) { m.Status = st })
		_, err := e.login(c, &sso.Login{Connection: cn, Profile: profile(cn, "s-"+email, email, true)})
		wantReason(t, err, sso.ErrAccessDenied, "membership_"+string(st))
		// Unverified email claim: no link, and no second account either.
		_, err = e.login(c, &sso.Login{Connection: cn, Profile: profile(cn, "s2-"+email, strings.ToUpper(email), false)})
		if err == nil {
			t.Fatalf("%s: unverified email claim logged in", st)
		}
		// A known identity of a member who is later deactivated.
		if err := e.st.CreateIdentity(ctx, &sso.Identity{ID: sso.NewID("idn_"), OrgID: o.ID, ConnectionID: cn.ID,
			Issuer: sso.IssuerOf(cn), Subject: "known-" + email, UserID: u.ID}); err != nil {
			t.Fatal(err)
		}
		_, err = e.login(c, &sso.Login{Connection: cn, Profile: profile(cn, "known-"+email, "other@acme.com", true)})
		wantReason(t, err, sso.ErrAccessDenied, "membership_"+string(st))
	}
	if iss.count() != 0 || e.countMembers(o.ID) != 2 {
		t.Fatalf("sessions %d, members %d", iss.count(), e.countMembers(o.ID))
	}
}

// TestRoleMappingDropsAdmin: when the IdP stops sending the admin
// group, the next login takes the admin role away.
func TestRoleMappingDropsAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.org("acme", nil)
	e.verified(o.ID, "acme.com")
	cn := e.conn(o.ID, sso.ProtocolOIDC, sso.ConnectionActive, "https://entra.example/acme")
	cn.GroupRoles = []sso.GroupRole{{Group: "admins", Role: "admin"}, {Group: "eng", Role: "member"}}
	if err := e.st.UpdateConnection(ctx, cn); err != nil {
		t.Fatal(err)
	}
	iss := &fakeIssuer{}
	c := e.completer(iss)
	p := profile(cn, "sub-1", "boss@acme.com", true)
	p.Groups = []string{"admins", "eng"}
	if _, err := e.login(c, &sso.Login{Connection: cn, Profile: p}); err != nil {
		t.Fatal(err)
	}
	for _, groups := range [][]string{{"eng"}, nil} {
		p2 := profile(cn, "sub-1", "boss@acme.com", true)
		p2.Groups = groups
		if _, err := e.login(c, &sso.Login{Connection: cn, Profile: p2}); err != nil {
			t.Fatal(err)
		}
		g := iss.grants[len(iss.grants)-1]
		for _, r := range g.Roles {
			if r == "admin" {
				t.Fatalf("groups %v: session still has admin: %v", groups, g.Roles)
			}
		}
		m, _ := e.st.GetMembership(ctx, o.ID, g.UserID)
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
	e := newEnv(t)
	o := e.org("acme", nil)
	e.verified(o.ID, "acme.com")
	c1 := e.conn(o.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://okta.example/acme")
	c2 := e.conn(o.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://okta.example/acme")
	other := e.org("other", nil)
	e.verified(other.ID, "other.com")
	c3 := e.conn(other.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://okta.example/acme")
	iss := &fakeIssuer{}
	c := e.completer(iss)
	for _, cn := range []*sso.Connection{c1, c2, c1} {
		if _, err := e.login(c, &sso.Login{Connection: cn, Profile: profile(cn, "00u1", "a@acme.com", true)}); err != nil {
			t.Fatal(err)
		}
	}
	if e.countMembers(o.ID) != 1 || iss.grants[0].UserID != iss.grants[2].UserID {
		t.Fatalf("members %d", e.countMembers(o.ID))
	}
	// Same issuer and subject at another org's connection: not matched,
	// and the acme address is refused there.
	_, err := e.login(c, &sso.Login{Connection: c3, Profile: profile(c3, "00u1", "a@acme.com", true)})
	wantReason(t, err, sso.ErrAccessDenied, "email_domain_not_verified")
	// A profile naming another connection than the one completing it.
	p := profile(c1, "00u1", "a@acme.com", true)
	_, err = e.login(c, &sso.Login{Connection: c3, Profile: p})
	wantReason(t, err, sso.ErrAccessDenied, "connection_mismatch")
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
	o := &sso.Organization{ID: sso.NewID("org_"), Slug: "acme", Name: "Acme"}
	o.Settings.Features = allFeatures
	o.Settings.AllowJIT = true
	if err := st.CreateOrg(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: o.ID, Name: "acme.com", Token: "t", State: sso.DomainVerified}); err != nil {
		t.Fatal(err)
	}
	cn := &sso.Connection{ID: sso.NewID("conn_"), OrgID: o.ID, Protocol: sso.ProtocolOIDC, Status: sso.ConnectionActive,
		OIDC: &sso.OIDCConfig{Issuer: "https://idp.example"}}
	if err := st.CreateConnection(ctx, cn); err != nil {
		t.Fatal(err)
	}
	iss := &fakeIssuer{}
	var cs []*sso.LoginCompleter
	for i := 0; i < 2; i++ {
		aud, err := sso.NewAuditor(sso.AuditorConfig{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		c, err := sso.NewCompleter(sso.CompleterConfig{Store: st, Sessions: iss, Auditor: aud})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := e.login(cs[i%2], &sso.Login{Connection: cn, Profile: profile(cn, "sub-race", "race@acme.com", true)})
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
	for _, g := range iss.grants {
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
	e := newEnv(t)
	o := e.org("acme", nil)
	e.verified(o.ID, "acme.com")
	cn := e.conn(o.ID, sso.ProtocolOIDC, sso.ConnectionActive, "https://entra.example/acme")
	iss := &fakeIssuer{}
	c := e.completer(iss)
	for _, mut := range []func(p *sso.Profile){
		func(p *sso.Profile) { p.Subject = "sub\x00" },
		func(p *sso.Profile) { p.Email = "a\x00@acme.com" },
		func(p *sso.Profile) { p.GivenName = "\x00" },
		func(p *sso.Profile) { p.Groups = []string{"admins", "x\x00"} },
	} {
		p := profile(cn, "sub-1", "a@acme.com", true)
		mut(p)
		_, err := e.login(c, &sso.Login{Connection: cn, Profile: p})
		wantReason(t, err, sso.ErrAccessDenied, "profile_invalid")
	}
	if iss.count() != 0 || e.countMembers(o.ID) != 0 {
		t.Fatalf("sessions %d, members %d", iss.count(), e.countMembers(o.ID))
	}
}
