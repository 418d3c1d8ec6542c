package session_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// withAllowlist sets org's network policy in the env's store.
func withAllowlist(t *testing.T, e *env, orgID string, p sso.NetworkPolicy) {
	t.Helper()
	ctx := context.Background()
	org, err := e.cfg.Orgs.GetOrg(ctx, orgID)
	if err != nil {
		t.Fatal(err)
	}
	org.Settings.Network = p
	if err := e.st.Store.UpdateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
}

// clientFrom makes the Manager see every request as coming from *addr, as a
// trusted-proxy rule would.
func clientFrom(addr *string) func(*session.Config) {
	return func(c *session.Config) { c.ClientIP = func(*http.Request) string { return *addr } }
}

// TestIPAllowlistLoginSessionAndToken: an organization's allowlist refuses
// a login from outside it, a live session used from outside it (within the
// policy cache's few seconds of a change), and an access token used from
// outside it; each refusal is a 403 ip_not_allowed recorded in the
// organization's audit trail with the address. IPv6 networks work like
// IPv4 ones.
func TestIPAllowlistLoginSessionAndToken(t *testing.T) {
	addr := "2001:db8:1::20"
	e := newEnv(t, clientFrom(&addr))
	c := e.browser()
	e.login(c, "alice", orgA) // no allowlist yet

	withAllowlist(t, e, orgA, sso.NetworkPolicy{AllowedCIDRs: []string{"2001:db8:1::/48", "203.0.113.0/24"}})
	e.clock.Advance(6 * time.Second) // past the per-replica policy cache
	if resp := e.do(c, "GET", "/me"); resp.StatusCode != http.StatusOK {
		t.Fatalf("session from an allowed IPv6 address: status %d", resp.StatusCode)
	}
	addr = "2001:db8:2::20"
	if resp := e.do(c, "GET", "/me"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("session from outside the allowlist: status %d, want 403", resp.StatusCode)
	}
	if resp := e.do(e.browser(), "POST", "/login?user=bob&org="+orgA); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("login from outside the allowlist succeeded")
	}
	// Another organization without an allowlist is not affected.
	e.login(e.browser(), "mallory", orgB)

	addr = "203.0.113.5"
	pair, err := e.m.IssueTokens(context.Background(), e.sessionFor("alice", orgA), session.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bearer := func() int {
		req, _ := http.NewRequest("GET", e.srv.URL+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := bearer(); st != http.StatusOK {
		t.Fatalf("access token from an allowed address: status %d", st)
	}
	addr = "198.51.100.1"
	if st := bearer(); st != http.StatusForbidden {
		t.Fatalf("access token from outside the allowlist: status %d, want 403", st)
	}

	evs, err := e.cfg.Events.(sso.EventStore).ListEvents(context.Background(), sso.EventQuery{OrgID: orgA, Type: session.EventNetworkRefused})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{}
	for _, ev := range evs {
		refused[ev.Details["refused"]] = ev.Details["ip"]
		if ev.Reason != session.ReasonNetwork || ev.IP == "" {
			t.Errorf("refusal event %+v lacks its reason or address", ev)
		}
	}
	for what, ip := range map[string]string{"session": "2001:db8:2::20", "login": "2001:db8:2::20", "access_token": "198.51.100.1"} {
		if refused[what] != ip {
			t.Errorf("audit of the %s refusal: address %q, want %q (events: %v)", what, refused[what], ip, refused)
		}
	}
}

// TestIPAllowlistBreakGlassExempt: with the exemption on, an active
// break-glass member signs in from anywhere; without it, not even they do.
func TestIPAllowlistBreakGlassExempt(t *testing.T) {
	addr := "192.0.2.77"
	e := newEnv(t, clientFrom(&addr))
	ctx := context.Background()
	mem, err := e.cfg.Memberships.GetMembership(ctx, orgA, "alice")
	if err != nil {
		t.Fatal(err)
	}
	mem.BreakGlass = true
	if err := e.st.Store.UpdateMembership(ctx, mem); err != nil {
		t.Fatal(err)
	}
	withAllowlist(t, e, orgA, sso.NetworkPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}})
	if resp := e.do(e.browser(), "POST", "/login?user=alice&org="+orgA); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("break-glass login from outside the allowlist succeeded without the exemption")
	}
	withAllowlist(t, e, orgA, sso.NetworkPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}, BreakGlassExempt: true})
	e.clock.Advance(6 * time.Second) // past the per-replica policy cache
	e.login(e.browser(), "alice", orgA)
	if resp := e.do(e.browser(), "POST", "/login?user=bob&org="+orgA); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("a member who is not break-glass signed in from outside the allowlist")
	}
}

// TestIPAllowlistOrgSwitch: switching into an organization whose
// allowlist refuses the address is refused.
func TestIPAllowlistOrgSwitch(t *testing.T) {
	addr := "192.0.2.77"
	e := newEnv(t, clientFrom(&addr))
	c := e.browser()
	e.login(c, "alice", orgA)
	withAllowlist(t, e, orgB, sso.NetworkPolicy{AllowedCIDRs: []string{"10.0.0.0/8"}})
	if resp := e.do(c, "POST", "/switch?org="+orgB); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("switch into an organization that refuses the address: status %d, want 403", resp.StatusCode)
	}
}
