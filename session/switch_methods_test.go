package session_test

import (
	"errors"
	"testing"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// TestSwitchIntoOrgThatTurnedMethodOff: a switch keeps a local sign-in's
// method, so it must not carry a password session into an organization
// that turned passwords off (the way around its choice of sign-in
// methods): refused with "method_disabled" and audited in that
// organization; its break-glass member keeps the password; a method the
// organization allows switches.
func TestSwitchIntoOrgThatTurnedMethodOff(t *testing.T) {
	e := newEnv(t)
	e.setOrg(orgB, func(o *sso.Organization) {
		o.Settings.Features = o.Settings.Features.With("passkey")
		o.Settings.SignInMethods = []sso.AuthMethod{sso.AuthPasskey}
	})
	_, c := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthPassword, Roles: []string{"admin"}})
	_, newCookie, err := e.switchDirect(c, orgB)
	var se *session.SwitchError
	if !errors.As(err, &se) || se.Reason != "method_disabled" || !errors.Is(err, sso.ErrAccessDenied) || newCookie != "" {
		t.Fatalf("password session into an org that turned passwords off = %v (cookie %q), want *SwitchError method_disabled", err, newCookie)
	}
	evs := e.events(orgB, sso.EventLoginFailed)
	if len(evs) != 1 || evs[0].Reason != "org_switch_method_disabled" || evs[0].Details["method"] != "password" {
		t.Fatalf("org B audit = %+v, want one org_switch_method_disabled naming password", evs)
	}
	e.setMember(orgB, "alice", func(m *sso.Membership) { m.BreakGlass = true })
	if s, _, err := e.switchDirect(c, orgB); err != nil || s.Method != sso.AuthPassword {
		t.Fatalf("break-glass member's password session: %+v, %v; want a password session in B", s, err)
	}

	_, pk := e.issueCookie(&sso.SessionGrant{UserID: "alice", OrgID: orgA, Method: sso.AuthPasskey, Roles: []string{"admin"}})
	if s, _, err := e.switchDirect(pk, orgB); err != nil || s.Method != sso.AuthPasskey || s.OrgID != orgB {
		t.Fatalf("passkey session into an org that allows passkeys: %+v, %v", s, err)
	}
}
