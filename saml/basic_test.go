package saml_test

import (
	"testing"
)

func TestLoginRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	resp := h.login(t, h.conn, nil)
	l := h.expectAccepted(t, resp)
	p := l.Profile
	if p.Subject != "alice@example.com" || p.Email != "alice@example.com" || p.GivenName != "Alice" || p.FamilyName != "Liddell" ||
		p.Issuer != testIdP || p.OrgID != "org_a" || p.ConnectionID != "conn_a" || len(p.Groups) != 2 || p.SessionIndex != "_sess1" {
		t.Fatalf("profile %+v", p)
	}
}
