package mfactx

import (
	"time"

	"github.com/ssokit/ssokit/sso"
)

// MaxClockSkew is how far in the future a time recorded on a session may
// be (replica clocks differ). A later MFAAt was not set by a check of
// ours; it is an IdP's claim and never counts.
const MaxClockSkew = time.Minute

// Origin is where a session's MFA flag comes from.
type Origin int

const (
	// OriginNone: the session has no second factor.
	OriginNone Origin = iota
	// OriginLocal: a check by this application (a TOTP, WebAuthn or
	// recovery code, a passkey's user verification, or the local login's
	// own second step), recorded after the login it completes.
	OriginLocal
	// OriginIdP: asserted by the organization's IdP at the SSO login.
	OriginIdP
	// OriginUntrusted: a flag with no check of ours behind it that no
	// organization setting can vouch for (carried across an organization
	// switch, or dated in the future). It never counts.
	OriginUntrusted
)

// OriginOf classifies p's MFA flag at now. A local check is always
// recorded after the login it completes, whereas login completion records
// an IdP's MFA at the IdP's authentication time, at or before the
// session's AuthAt. A session that entered its organization by a switch
// (sso.AuthSwitch) logged in nowhere here: its AuthAt is the login in the
// other organization and the switch clears its MFA, so only a check
// recorded after that login counts, and nothing on it is IdP-asserted.
func OriginOf(p *sso.Principal, now time.Time) Origin {
	switch {
	case !p.MFA:
		return OriginNone
	case p.MFAAt.After(now.Add(MaxClockSkew)):
		return OriginUntrusted
	case p.Method == sso.AuthSwitch:
		if !p.MFAAt.IsZero() && p.MFAAt.After(p.AuthAt) {
			return OriginLocal
		}
		return OriginUntrusted
	case !p.Method.Local() && p.Method != "" && !p.MFAAt.After(p.AuthAt):
		// An SSO login (its method is the protocol's name): the MFA was the IdP's.
		return OriginIdP
	}
	return OriginLocal
}

// FreshLocal reports whether p's session verified one of its user's
// factors locally within d of now.
func FreshLocal(p *sso.Principal, now time.Time, d time.Duration) bool {
	return OriginOf(p, now) == OriginLocal && !p.MFAAt.IsZero() && now.Sub(p.MFAAt) <= d
}

// RecentLogin reports whether p's session logged in (p.AuthAt) within d of
// now. A login time further in the future than MaxClockSkew was not set
// by this application and never counts.
func RecentLogin(p *sso.Principal, now time.Time, d time.Duration) bool {
	return !p.AuthAt.IsZero() && !p.AuthAt.After(now.Add(MaxClockSkew)) && now.Sub(p.AuthAt) <= d
}

// RecentLocalLogin is RecentLogin for a login by a local method
// (sso.AuthMethod.Local): not an IdP's, not an organization switch.
func RecentLocalLogin(p *sso.Principal, now time.Time, d time.Duration) bool {
	return p.Method.Local() && RecentLogin(p, now, d)
}
