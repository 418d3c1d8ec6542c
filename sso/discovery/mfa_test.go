package discovery_test

import (
	"net/http"
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/discovery"
)

// An organization that requires MFA and has it asked at its IdP sends SSO
// logins with RequireMFA; every other policy leaves it off.
func TestDiscoveryAsksIdPForMFA(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pol  sso.MFAPolicy
		plan bool
		want bool
	}{
		{"required, trusted, at the IdP", sso.MFAPolicy{Required: true, TrustIdPMFA: true, StepUpAtIdP: true}, true, true},
		{"plan without enforce_mfa", sso.MFAPolicy{Required: true, TrustIdPMFA: true, StepUpAtIdP: true}, false, false},
		{"IdP MFA not trusted", sso.MFAPolicy{Required: true, StepUpAtIdP: true}, true, false},
		{"local factor", sso.MFAPolicy{Required: true, TrustIdPMFA: true}, true, false},
		{"MFA not required", sso.MFAPolicy{TrustIdPMFA: true, StepUpAtIdP: true}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := ssoenv.New(t)
			a := e.Org("acme", func(s *sso.OrgSettings) {
				s.MFA = tc.pol
				if !tc.plan {
					s.Features = s.Features.Without("enforce_mfa")
				}
			})
			e.Verified(a.ID, "acme.com")
			e.Conn(a.ID, saml.Protocol, sso.ConnectionActive, "https://okta.example/acme")
			_, de := e.Discovery(t, nil)
			if res := de.PostForm(t, "alice@acme.com", "/"); res.StatusCode != http.StatusFound {
				t.Fatalf("status %d", res.StatusCode)
			}
			org, _ := e.St.GetOrg(ctx, a.ID)
			if got := de.Starter.Last(t).Opts.RequireMFA; got != tc.want || discovery.MFAAtLogin(org) != tc.want {
				t.Fatalf("RequireMFA = %v, want %v", got, tc.want)
			}
		})
	}
}
