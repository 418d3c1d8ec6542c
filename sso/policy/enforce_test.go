package policy_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/routing"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/policy"
)

var ctx = ssoenv.Ctx

func TestLocalLoginAllowed(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme")
	member := e.Member(o.ID, "m@acme.com", nil)
	glass := e.Member(o.ID, "bg@acme.com", func(m *sso.Membership) { m.BreakGlass = true; m.Roles = []string{"admin"} })
	suspendedGlass := e.Member(o.ID, "sbg@acme.com", func(m *sso.Membership) {
		m.BreakGlass = true
		m.Status = sso.MembershipSuspended
	})
	en := e.Enforcer(nil)
	// Not enforced: everyone may.
	for _, u := range []string{member.ID, glass.ID, "stranger"} {
		if err := en.LocalLoginAllowed(ctx, o.ID, u); err != nil {
			t.Fatalf("not enforced: %v", err)
		}
	}
	if _, err := en.SetEnforcement(ctx, o.ID, true, policy.Options{}); err != nil {
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
	o, _ = e.St.GetOrg(ctx, o.ID)
	o.Settings.Features = o.Settings.Features.Without("enforce_sso")
	_ = e.St.UpdateOrg(ctx, o)
	if err := en.LocalLoginAllowed(ctx, o.ID, member.ID); err != nil {
		t.Fatalf("feature off: %v", err)
	}
	if err := en.LocalLoginAllowed(ctx, "org_missing", member.ID); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestSetEnforcementPreconditions(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	en := e.Enforcer(nil)
	_, err := en.SetEnforcement(ctx, o.ID, true, policy.Options{})
	ssoenv.WantReason(t, err, sso.ErrInvalidInput, "no_tested_connection")
	// Active but never tested.
	c := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp")
	c.LastTestOK = time.Time{}
	_ = e.St.UpdateConnection(ctx, c)
	_, err = en.SetEnforcement(ctx, o.ID, true, policy.Options{})
	ssoenv.WantReason(t, err, sso.ErrInvalidInput, "no_tested_connection")
	// Tested draft is not enough either.
	c.LastTestOK, c.Status = e.Clock(), sso.ConnectionDraft
	_ = e.St.UpdateConnection(ctx, c)
	_, err = en.SetEnforcement(ctx, o.ID, true, policy.Options{})
	ssoenv.WantReason(t, err, sso.ErrInvalidInput, "no_tested_connection")
	// Active and once tested, but the latest test failed because a real
	// login would be refused: not ready until a test passes again.
	c.Status = sso.ConnectionActive
	c.LastTest = &sso.TestResult{At: e.Clock(), Reason: "email_domain_not_verified"}
	_ = e.St.UpdateConnection(ctx, c)
	_, err = en.SetEnforcement(ctx, o.ID, true, policy.Options{})
	ssoenv.WantReason(t, err, sso.ErrInvalidInput, "no_tested_connection")
	c.LastTest = &sso.TestResult{At: e.Clock(), OK: true}
	_ = e.St.UpdateConnection(ctx, c)
	// Revocation asked without a revoker.
	if _, err := en.SetEnforcement(ctx, o.ID, true, policy.Options{RevokeSessions: true}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
	// Plan without the feature.
	o.Settings.Features = o.Settings.Features.Without("enforce_sso")
	_ = e.St.UpdateOrg(ctx, o)
	_, err = en.SetEnforcement(ctx, o.ID, true, policy.Options{})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "feature_disabled")
	o.Settings.Features = o.Settings.Features.With("enforce_sso")
	_ = e.St.UpdateOrg(ctx, o)
	res, err := en.SetEnforcement(ctx, o.ID, true, policy.Options{})
	if err != nil || !res.Enforced {
		t.Fatalf("got %v %v", res, err)
	}
	got, _ := e.St.GetOrg(ctx, o.ID)
	if !got.Settings.SSOEnforced || !got.Settings.SSOEnforcedAt.Equal(e.Clock()) || !got.EnforcesSSO() {
		t.Fatalf("got %+v", got.Settings)
	}
	ev := e.LastEvent(o.ID, policy.EventEnforcementChanged)
	if ev.Details["enforced"] != "true" {
		t.Fatalf("got %+v", ev)
	}
	// Switching off is always allowed.
	if _, err := en.SetEnforcement(ctx, o.ID, false, policy.Options{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.St.GetOrg(ctx, o.ID); got.Settings.SSOEnforced {
		t.Fatal("still enforced")
	}
}

func TestFeatureAllowed(t *testing.T) {
	t.Parallel()
	o := &sso.Organization{Settings: sso.OrgSettings{Features: sso.Features{"saml", "scim"}}}
	for f, want := range map[string]bool{"saml": true, "oidc": false, "scim": true, "mfa": false, "enforce_sso": false, "other": false} {
		if got := o.Settings.Features.Has(f); got != want {
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
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	okta := e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "http://www.okta.com/exk1")
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	users := map[string]string{}
	for _, name := range []string{"ann", "ben", "cat"} {
		email := name + "@acme.com"
		if _, err := e.Login(comp, &sso.Login{Connection: okta, Profile: ssoenv.Profile(okta, "okta-"+name, email, true)}); err != nil {
			t.Fatal(err)
		}
		users[name] = iss.Grants[len(iss.Grants)-1].UserID
	}
	entra := e.Conn(o.ID, oidc.Protocol, sso.ConnectionActive, "https://login.microsoftonline.com/tid/v2.0")
	entraSub := map[string]string{"ann@acme.com": "entra-oid-ann", "ben@acme.com": "entra-oid-ben"}
	n, err := login.RemapIdentities(ctx, e.St, e.Aud, o.ID, okta.ID, entra.ID, func(old *sso.Identity, u *sso.User) (string, bool) {
		s, ok := entraSub[u.Email]
		return s, ok
	})
	if err != nil || n != 2 {
		t.Fatalf("remapped %d, %v", n, err)
	}
	okta.Status = sso.ConnectionDisabled
	_ = e.St.UpdateConnection(ctx, okta)
	// Ann: re-mapped identity; Cat: linked by email (Entra asserts a
	// verified email in a verified domain).
	for name, sub := range map[string]string{"ann": "entra-oid-ann", "cat": "entra-oid-cat", "ben": "entra-oid-ben"} {
		if _, err := e.Login(comp, &sso.Login{Connection: entra, Profile: ssoenv.Profile(entra, sub, name+"@acme.com", true)}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := iss.Grants[len(iss.Grants)-1]; got.UserID != users[name] || got.ConnectionID != entra.ID {
			t.Fatalf("%s: got user %s via %s, want %s", name, got.UserID, got.ConnectionID, users[name])
		}
	}
	if n := e.CountMembers(o.ID); n != 3 {
		t.Fatalf("got %d members after migration, want 3", n)
	}
	// Okta is off now.
	_, err = e.Login(comp, &sso.Login{Connection: okta, Profile: ssoenv.Profile(okta, "okta-ann", "ann@acme.com", true)})
	ssoenv.WantReason(t, err, sso.ErrAccessDenied, "connection_disabled")
	if len(e.Events(o.ID, login.EventIdentityRemapped)) != 2 || len(e.Events(o.ID, login.EventIdentityLinked)) != 1 {
		t.Fatal("missing audit events")
	}
	// Cross-org remap is refused.
	other := e.Org("other", nil)
	if _, err := login.RemapIdentities(ctx, e.St, e.Aud, other.ID, okta.ID, entra.ID, nil); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

// TestScenarioOrgMerge: Big acquires Small. Small's verified domain,
// connection, members and identities move to Big; every moved member's
// sessions are revoked (re-authentication), then the same IdP login lands
// in Big as the same user.
func TestScenarioOrgMerge(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	big := e.Org("big", nil)
	e.Verified(big.ID, "big.com")
	small := e.Org("small", nil)
	e.Verified(small.ID, "small.io")
	sc := e.Conn(small.ID, saml.Protocol, sso.ConnectionActive, "https://idp.small.io")
	iss := &ssoenv.FakeIssuer{}
	comp := e.Completer(iss)
	if _, err := e.Login(comp, &sso.Login{Connection: sc, Profile: ssoenv.Profile(sc, "s-dev", "dev@small.io", true)}); err != nil {
		t.Fatal(err)
	}
	dev := iss.Grants[0].UserID
	// A person already in both orgs keeps Big's membership.
	both := e.Member(big.ID, "both@big.com", func(m *sso.Membership) { m.Roles = []string{"admin"} })
	if err := e.St.CreateMembership(ctx, &sso.Membership{OrgID: small.ID, UserID: both.ID, Roles: []string{"member"},
		Status: sso.MembershipActive, Source: sso.SourceAdmin, BreakGlass: true}); err != nil {
		t.Fatal(err)
	}
	rev := sessionsOn(t, e)
	devIn, bothIn := envSignIn(t, rev, dev, small.ID), envSignIn(t, rev, both.ID, small.ID)
	bothBig := envSignIn(t, rev, both.ID, big.ID)
	if _, err := policy.MergeOrganizations(ctx, e.St, e.Aud, &ssoenv.FakeRevoker{Now: e.Clock}, small.ID, big.ID); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("merge with a revoker that ends every organization's sessions: %v, want ErrInvalidConfig", err)
	}
	res, err := policy.MergeOrganizations(ctx, e.St, e.Aud, rev, small.ID, big.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Domains != 1 || res.Members != 2 || res.Connections != 1 || res.Identities != 1 || res.Revoked != 2 {
		t.Fatalf("got %+v", res)
	}
	if dom, err := routing.Domain(ctx, e.St, "small.io"); err != nil || dom.OrgID != big.ID {
		t.Fatalf("domain: %v %v", dom, err)
	}
	if e.CountMembers(small.ID) != 0 || e.CountMembers(big.ID) != 2 {
		t.Fatalf("members: small %d big %d", e.CountMembers(small.ID), e.CountMembers(big.ID))
	}
	if m, _ := e.St.GetMembership(ctx, big.ID, both.ID); m.HasRole("member") || !m.HasRole("admin") || m.BreakGlass {
		t.Fatalf("got %+v", m)
	}
	for _, l := range []envLogin{devIn, bothIn} {
		if _, err := rev.VerifyAccessToken(ctx, l.token); err == nil {
			t.Fatalf("sessions of %s in the merged organization not revoked", l.user)
		}
	}
	if _, err := rev.VerifyAccessToken(ctx, bothBig.token); err != nil {
		t.Fatalf("the merge ended a session in the surviving organization: %v", err)
	}
	// The old IdP keeps working and signs the same user in to Big.
	moved, _ := e.St.GetConnection(ctx, sc.ID)
	if _, err := e.Login(comp, &sso.Login{Connection: moved, Profile: ssoenv.Profile(moved, "s-dev", "dev@small.io", true)}); err != nil {
		t.Fatal(err)
	}
	if g := iss.Grants[len(iss.Grants)-1]; g.UserID != dev || g.OrgID != big.ID {
		t.Fatalf("got %+v", g)
	}
	if len(e.Events(big.ID, policy.EventOrgMerged)) != 1 || len(e.Events(big.ID, policy.EventMemberMoved)) != 2 {
		t.Fatal("missing audit events")
	}
	// Idempotent: a second run moves nothing.
	res2, err := policy.MergeOrganizations(ctx, e.St, e.Aud, rev, small.ID, big.ID)
	if err != nil || res2.Members != 0 || res2.Domains != 0 {
		t.Fatalf("second run: %+v %v", res2, err)
	}
	if _, err := policy.MergeOrganizations(ctx, e.St, e.Aud, rev, big.ID, big.ID); !errors.Is(err, sso.ErrInvalidInput) {
		t.Fatalf("self merge: %v", err)
	}
}

// TestScenarioIdPDownBreakGlass: with SSO enforced, the IdP is down (the
// starter fails). Members are told to use SSO; the break-glass admin
// still signs in locally.
func TestScenarioIdPDownBreakGlass(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Verified(o.ID, "acme.com")
	e.Conn(o.ID, saml.Protocol, sso.ConnectionActive, "https://idp.acme")
	member := e.Member(o.ID, "m@acme.com", nil)
	glass := e.Member(o.ID, "root@acme.com", func(m *sso.Membership) { m.BreakGlass = true; m.Roles = []string{"owner"} })
	en := e.Enforcer(nil)
	if _, err := en.SetEnforcement(ctx, o.ID, true, policy.Options{}); err != nil {
		t.Fatal(err)
	}
	_, de := e.Discovery(t, nil)
	de.Starter.Err = errors.New("dial tcp idp.acme:443: connection refused")
	res := de.PostForm(t, "m@acme.com", "/")
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
// before enforcement are revoked for every non-break-glass member, on a
// real session.Manager.
func TestScenarioEnforcementRevokesOldTokens(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	o := e.Org("acme", nil)
	e.Conn(o.ID, oidc.Protocol, sso.ConnectionActive, "https://idp.acme")
	sm := sessionsOn(t, e)
	var logins []envLogin
	for i := 0; i < 250; i++ { // more than one page of members
		u := e.Member(o.ID, fmt.Sprintf("u%03d@acme.com", i), nil)
		logins = append(logins, envSignIn(t, sm, u.ID, o.ID))
	}
	glass := e.Member(o.ID, "root@acme.com", func(m *sso.Membership) { m.BreakGlass = true })
	glassIn := envSignIn(t, sm, glass.ID, o.ID)
	e.Advance(time.Minute)
	res, err := e.Enforcer(sm).SetEnforcement(ctx, o.ID, true, policy.Options{RevokeSessions: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revoked != 250 || res.EndedSessions != 250 {
		t.Fatalf("revoked %d members, %d sessions; want 250 and 250", res.Revoked, res.EndedSessions)
	}
	for _, l := range logins {
		if _, err := sm.VerifyAccessToken(ctx, l.token); err == nil {
			t.Fatalf("%s: token still accepted", l.user)
		}
		if ss, _ := sm.ListSessions(ctx, o.ID, l.user); len(ss) != 0 {
			t.Fatalf("%s: sessions %+v survived", l.user, ss)
		}
	}
	if _, err := sm.VerifyAccessToken(ctx, glassIn.token); err != nil {
		t.Fatalf("break-glass admin revoked: %v", err)
	}
	evs := e.Events(o.ID, sso.EventSessionRevoked)
	if len(evs) != 250 || evs[0].Reason != "sso_enforced" || evs[0].Target.Type != "session" {
		t.Fatalf("got %d revocation events (%+v)", len(evs), evs[0])
	}
	if ev := e.LastEvent(o.ID, policy.EventEnforcementChanged); ev.Details["revoke_sessions"] != "true" {
		t.Fatalf("got %+v", ev)
	}
}
