package sso_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
)

func TestLocalLoginAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.org("acme", nil)
	e.conn(o.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://idp.acme")
	member := e.member(o.ID, "m@acme.com", nil)
	glass := e.member(o.ID, "bg@acme.com", func(m *sso.Membership) { m.BreakGlass = true; m.Roles = []string{"admin"} })
	suspendedGlass := e.member(o.ID, "sbg@acme.com", func(m *sso.Membership) {
		m.BreakGlass = true
		m.Status = sso.MembershipSuspended
	})
	en := e.enforcer(nil)
	// Not enforced: everyone may.
	for _, u := range []string{member.ID, glass.ID, "stranger"} {
		if err := en.LocalLoginAllowed(ctx, o.ID, u); err != nil {
			t.Fatalf("not enforced: %v", err)
		}
	}
	if _, err := en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		user string
		want error
	}{
		{"Member", member.ID, sso.ErrSSORequired},
		{"BreakGlass", glass.ID, nil},
		{"SuspendedBreakGlass", suspendedGlass.ID, sso.ErrSSORequired},
		{"NonMember", "usr_stranger", sso.ErrSSORequired},
	}
	for _, tc := range tests {
		err := en.LocalLoginAllowed(ctx, o.ID, tc.user)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := sso.ReasonOf(en.LocalLoginAllowed(ctx, o.ID, member.ID)); got != "sso_required" {
		t.Fatalf("got reason %q", got)
	}
	// A plan without enforcement lifts it.
	o, _ = e.st.GetOrg(ctx, o.ID)
	o.Settings.Features.EnforceSSO = false
	_ = e.st.UpdateOrg(ctx, o)
	if err := en.LocalLoginAllowed(ctx, o.ID, member.ID); err != nil {
		t.Fatalf("feature off: %v", err)
	}
	if err := en.LocalLoginAllowed(ctx, "org_missing", member.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestSetEnforcementPreconditions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.org("acme", nil)
	en := e.enforcer(nil)
	_, err := en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{})
	wantReason(t, err, sso.ErrInvalidInput, "no_tested_connection")
	// Active but never tested.
	c := e.conn(o.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://idp")
	c.LastTestOK = time.Time{}
	_ = e.st.UpdateConnection(ctx, c)
	_, err = en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{})
	wantReason(t, err, sso.ErrInvalidInput, "no_tested_connection")
	// Tested draft is not enough either.
	c.LastTestOK, c.Status = e.clock(), sso.ConnectionDraft
	_ = e.st.UpdateConnection(ctx, c)
	_, err = en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{})
	wantReason(t, err, sso.ErrInvalidInput, "no_tested_connection")
	c.Status = sso.ConnectionActive
	_ = e.st.UpdateConnection(ctx, c)
	// Revocation asked without a revoker.
	if _, err := en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{RevokeSessions: true}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
	// Plan without the feature.
	o.Settings.Features.EnforceSSO = false
	_ = e.st.UpdateOrg(ctx, o)
	_, err = en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{})
	wantReason(t, err, sso.ErrAccessDenied, "feature_disabled")
	o.Settings.Features.EnforceSSO = true
	_ = e.st.UpdateOrg(ctx, o)
	res, err := en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{})
	if err != nil || !res.Enforced {
		t.Fatalf("got %v %v", res, err)
	}
	got, _ := e.st.GetOrg(ctx, o.ID)
	if !got.Settings.SSOEnforced || !got.Settings.SSOEnforcedAt.Equal(e.clock()) || !sso.Enforced(got) {
		t.Fatalf("got %+v", got.Settings)
	}
	ev := e.lastEvent(o.ID, sso.EventEnforcementChanged)
	if ev.Details["enforced"] != "true" {
		t.Fatalf("got %+v", ev)
	}
	// Switching off is always allowed.
	if _, err := en.SetEnforcement(ctx, o.ID, false, sso.EnforceOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.GetOrg(ctx, o.ID); got.Settings.SSOEnforced {
		t.Fatal("still enforced")
	}
}

func TestFeatureAllowed(t *testing.T) {
	t.Parallel()
	o := &sso.Organization{Settings: sso.OrgSettings{Features: sso.Features{SAML: true, SCIM: true}}}
	for f, want := range map[string]bool{"saml": true, "oidc": false, "scim": true, "mfa": false, "enforce_sso": false, "other": false} {
		if got := sso.FeatureAllowed(o, f); got != want {
			t.Errorf("%s: got %v, want %v", f, got, want)
		}
	}
}

// TestScenarioOktaToEntraMigration: an organization moves from Okta (SAML)
// to Entra (OIDC). The admin re-maps identities (Entra subject prepared
// from the directory export), users without a prepared mapping are linked
// by verified email on first login; no user is duplicated.
func TestScenarioOktaToEntraMigration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.org("acme", nil)
	e.verified(o.ID, "acme.com")
	okta := e.conn(o.ID, sso.ProtocolSAML, sso.ConnectionActive, "http://www.okta.com/exk1")
	iss := &fakeIssuer{}
	comp := e.completer(iss)
	users := map[string]string{}
	for _, name := range []string{"ann", "ben", "cat"} {
		email := name + "@acme.com"
		if _, err := e.login(comp, &sso.Login{Connection: okta, Profile: profile(okta, "okta-"+name, email, true)}); err != nil {
			t.Fatal(err)
		}
		users[name] = iss.grants[len(iss.grants)-1].UserID
	}
	entra := e.conn(o.ID, sso.ProtocolOIDC, sso.ConnectionActive, "https://login.microsoftonline.com/tid/v2.0")
	entraSub := map[string]string{"ann@acme.com": "entra-oid-ann", "ben@acme.com": "entra-oid-ben"}
	n, err := sso.RemapIdentities(ctx, e.st, e.aud, o.ID, okta.ID, entra.ID, func(old *sso.Identity, u *sso.User) (string, bool) {
		s, ok := entraSub[u.Email]
		return s, ok
	})
	if err != nil || n != 2 {
		t.Fatalf("remapped %d, %v", n, err)
	}
	okta.Status = sso.ConnectionDisabled
	_ = e.st.UpdateConnection(ctx, okta)
	// Ann: re-mapped identity; Cat: linked by email (Entra asserts a
	// verified email in a verified domain).
	for name, sub := range map[string]string{"ann": "entra-oid-ann", "cat": "entra-oid-cat", "ben": "entra-oid-ben"} {
		if _, err := e.login(comp, &sso.Login{Connection: entra, Profile: profile(entra, sub, name+"@acme.com", true)}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := iss.grants[len(iss.grants)-1]; got.UserID != users[name] || got.ConnectionID != entra.ID {
			t.Fatalf("%s: got user %s via %s, want %s", name, got.UserID, got.ConnectionID, users[name])
		}
	}
	if n := e.countMembers(o.ID); n != 3 {
		t.Fatalf("got %d members after migration, want 3", n)
	}
	// Okta is off now.
	_, err = e.login(comp, &sso.Login{Connection: okta, Profile: profile(okta, "okta-ann", "ann@acme.com", true)})
	wantReason(t, err, sso.ErrAccessDenied, "connection_disabled")
	if len(e.events(o.ID, sso.EventIdentityRemapped)) != 2 || len(e.events(o.ID, sso.EventIdentityLinked)) != 1 {
		t.Fatal("missing audit events")
	}
	// Cross-org remap is refused.
	other := e.org("other", nil)
	if _, err := sso.RemapIdentities(ctx, e.st, e.aud, other.ID, okta.ID, entra.ID, nil); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

// TestScenarioOrgMerge: Big acquires Small. Small's verified domain,
// connection, members and identities move to Big; every moved member's
// sessions are revoked (re-authentication), then the same IdP login lands
// in Big as the same user.
func TestScenarioOrgMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := e.org("big", nil)
	e.verified(big.ID, "big.com")
	small := e.org("small", nil)
	e.verified(small.ID, "small.io")
	sc := e.conn(small.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://idp.small.io")
	iss := &fakeIssuer{}
	comp := e.completer(iss)
	if _, err := e.login(comp, &sso.Login{Connection: sc, Profile: profile(sc, "s-dev", "dev@small.io", true)}); err != nil {
		t.Fatal(err)
	}
	dev := iss.grants[0].UserID
	// A person already in both orgs keeps Big's membership.
	both := e.member(big.ID, "both@big.com", func(m *sso.Membership) { m.Roles = []string{"admin"} })
	if err := e.st.CreateMembership(ctx, &sso.Membership{OrgID: small.ID, UserID: both.ID, Roles: []string{"member"},
		Status: sso.MembershipActive, Source: sso.SourceAdmin, BreakGlass: true}); err != nil {
		t.Fatal(err)
	}
	rev := &fakeRevoker{now: e.clock}
	res, err := sso.MergeOrganizations(ctx, e.st, e.aud, rev, small.ID, big.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Domains != 1 || res.Members != 2 || res.Connections != 1 || res.Identities != 1 || res.Revoked != 2 {
		t.Fatalf("got %+v", res)
	}
	if dom, err := sso.RoutingDomain(ctx, e.st, "small.io"); err != nil || dom.OrgID != big.ID {
		t.Fatalf("domain: %v %v", dom, err)
	}
	if e.countMembers(small.ID) != 0 || e.countMembers(big.ID) != 2 {
		t.Fatalf("members: small %d big %d", e.countMembers(small.ID), e.countMembers(big.ID))
	}
	if m, _ := e.st.GetMembership(ctx, big.ID, both.ID); m.HasRole("member") || !m.HasRole("admin") || m.BreakGlass {
		t.Fatalf("got %+v", m)
	}
	for _, u := range []string{dev, both.ID} {
		if _, ok := rev.was(u); !ok {
			t.Fatalf("sessions of %s not revoked", u)
		}
	}
	// The old IdP keeps working and signs the same user in to Big.
	moved, _ := e.st.GetConnection(ctx, sc.ID)
	if _, err := e.login(comp, &sso.Login{Connection: moved, Profile: profile(moved, "s-dev", "dev@small.io", true)}); err != nil {
		t.Fatal(err)
	}
	if g := iss.grants[len(iss.grants)-1]; g.UserID != dev || g.OrgID != big.ID {
		t.Fatalf("got %+v", g)
	}
	if len(e.events(big.ID, sso.EventOrgMerged)) != 1 || len(e.events(big.ID, sso.EventMemberMoved)) != 2 {
		t.Fatal("missing audit events")
	}
	// Idempotent: a second run moves nothing.
	res2, err := sso.MergeOrganizations(ctx, e.st, e.aud, rev, small.ID, big.ID)
	if err != nil || res2.Members != 0 || res2.Domains != 0 {
		t.Fatalf("second run: %+v %v", res2, err)
	}
	if _, err := sso.MergeOrganizations(ctx, e.st, e.aud, rev, big.ID, big.ID); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("self merge: %v", err)
	}
}

// TestScenarioIdPDownBreakGlass: with SSO enforced, the IdP is down (the
// starter fails). Members are told to use SSO; the break-glass admin
// still signs in locally.
func TestScenarioIdPDownBreakGlass(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.org("acme", nil)
	e.verified(o.ID, "acme.com")
	e.conn(o.ID, sso.ProtocolSAML, sso.ConnectionActive, "https://idp.acme")
	member := e.member(o.ID, "m@acme.com", nil)
	glass := e.member(o.ID, "root@acme.com", func(m *sso.Membership) { m.BreakGlass = true; m.Roles = []string{"owner"} })
	en := e.enforcer(nil)
	if _, err := en.SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{}); err != nil {
		t.Fatal(err)
	}
	_, de := newDiscovery(t, e, nil)
	de.starter.err = errors.New("dial tcp idp.acme:443: connection refused")
	res := de.postForm(t, "m@acme.com", "/")
	if res.StatusCode != 503 {
		t.Fatalf("IdP down: got %d", res.StatusCode)
	}
	if err := en.LocalLoginAllowed(ctx, o.ID, member.ID); !errors.Is(err, sso.ErrSSORequired) {
		t.Fatalf("member: %v", err)
	}
	if err := en.LocalLoginAllowed(ctx, o.ID, glass.ID); err != nil {
		t.Fatalf("break-glass admin locked out: %v", err)
	}
}

// TestScenarioEnforcementRevokesOldTokens: API tokens and sessions issued
// before enforcement are revoked for every non-break-glass member. The
// revoker is a FAKE standing in for session.Manager, which is built in
// parallel; it records the revocations.
func TestScenarioEnforcementRevokesOldTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	o := e.org("acme", nil)
	e.conn(o.ID, sso.ProtocolOIDC, sso.ConnectionActive, "https://idp.acme")
	var ms []*sso.User
	for i := 0; i < 250; i++ { // more than one page of members
		ms = append(ms, e.member(o.ID, fmt.Sprintf("u%03d@acme.com", i), nil))
	}
	glass := e.member(o.ID, "root@acme.com", func(m *sso.Membership) { m.BreakGlass = true })
	tokenIssuedAt := e.clock()
	e.advance(time.Hour)
	rev := &fakeRevoker{now: e.clock}
	res, err := e.enforcer(rev).SetEnforcement(ctx, o.ID, true, sso.EnforceOptions{RevokeSessions: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revoked != 250 {
		t.Fatalf("revoked %d, want 250", res.Revoked)
	}
	for _, u := range ms {
		at, ok := rev.was(u.ID)
		if !ok || !at.After(tokenIssuedAt) {
			t.Fatalf("%s: revoked %v at %v", u.Email, ok, at)
		}
	}
	if _, ok := rev.was(glass.ID); ok {
		t.Fatal("break-glass admin revoked")
	}
	if n := len(e.events(o.ID, sso.EventSessionRevoked)); n != 250 {
		t.Fatalf("got %d revocation events", n)
	}
	if ev := e.lastEvent(o.ID, sso.EventEnforcementChanged); ev.Details["revoked"] != "250" {
		t.Fatalf("got %+v", ev)
	}
}
