package sso

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Organization is a tenant of the host application: one enterprise customer
// with its own domains, connections, members and policies.
type Organization struct {
	// ID is an opaque, globally unique identifier chosen by the caller or by
	// NewID. It never changes.
	ID string
	// Slug is a short, URL-safe, globally unique name (e.g. "acme"), used in
	// login URLs such as /login/acme. See ValidateSlug.
	Slug string
	// Name is the display name.
	Name string
	// Settings holds the organization's policies.
	Settings OrgSettings
	// CreatedAt and UpdatedAt are maintained by the caller.
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OrgSettings are an organization's policies. The zero value is the most
// restrictive: no SSO enforcement, no JIT, no features enabled.
type OrgSettings struct {
	// SSOEnforced, when true, forbids local (password) sign-in for members who
	// are not break-glass admins. See the enforcement rules in the package doc.
	SSOEnforced bool
	// SSOEnforcedAt is when enforcement was last switched on.
	SSOEnforcedAt time.Time
	// AllowJIT lets a first SSO login create the user and membership.
	AllowJIT bool
	// DirectorySync marks SCIM as the source of truth for membership: JIT may
	// then only update existing members, never create them.
	DirectorySync bool
	// DefaultRole is the role given to JIT-provisioned members when no
	// group->role mapping applies. Empty means "member".
	DefaultRole string
	// AllowUnverifiedEmailDomains lets members sign in through SSO with an
	// email outside the organization's verified domains. Such emails are
	// never used for account linking, and an email in a domain that another
	// organization has verified is refused even with this switch on. It is
	// off by default.
	AllowUnverifiedEmailDomains bool
	// MFA is the organization's multi-factor policy.
	MFA MFAPolicy
	// Session overrides the host's session defaults for this organization.
	Session SessionPolicy
	// Features are the capabilities the organization's plan includes.
	Features Features
	// Network restricts the addresses members sign in and use their
	// sessions and access tokens from (plan feature FeatureIPAllowlist).
	Network NetworkPolicy
	// ExchangeAudiences are the audiences (downstream APIs, e.g.
	// "https://billing.internal.example") the organization's API clients
	// may obtain tokens for by OAuth 2.0 Token Exchange. Empty allows none.
	ExchangeAudiences []string
	// SignInMethods narrows the sign-in methods without an IdP (see
	// LocalSignInMethods) that members may use, within what the plan
	// includes: a method is allowed when the plan includes it and this
	// list names it. Nil allows every method the plan includes. A method
	// listed here that the plan lacks stays refused. Use
	// Organization.SignInVerdict to decide.
	SignInMethods []AuthMethod
}

// MFAPolicy is an organization's multi-factor policy.
type MFAPolicy struct {
	// Required makes a second factor mandatory for members.
	Required bool
	// ChangedAt is when Required last changed; grace periods start here.
	ChangedAt time.Time
	// GracePeriod is how long members may postpone enrolment after the policy
	// change or after joining. Zero means 7 days.
	GracePeriod time.Duration
	// TrustIdPMFA counts an MFA asserted by the IdP (SAML
	// AuthnContextClassRef, OIDC amr) as satisfying the policy.
	TrustIdPMFA bool
	// StepUpAtIdP, with TrustIdPMFA, sends a member whose session an SSO
	// connection made back to that connection for a step-up (and asks an
	// SSO login for MFA when Required is in force) instead of asking for a
	// local factor: the login asks the IdP for MFA (SAML
	// RequestedAuthnContext, OIDC acr_values, as the connection configures
	// them) and a fresh authentication, and the answer must prove both.
	// The accepted contexts are the connection's (saml mfa_authn_contexts,
	// oidc mfa_acr_values).
	StepUpAtIdP bool
	// StepUpLocalFallback offers the local factor (TOTP, WebAuthn) to a
	// member whose step-up at the IdP was refused. Off, the member must
	// try the IdP again.
	StepUpLocalFallback bool
}

// SessionPolicy overrides session lifetimes for one organization. Zero
// fields fall back to the session manager's configuration.
type SessionPolicy struct {
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	MaxSessions     int
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
}

// Features are the plan-gated capabilities of an organization, a set of
// names: a protocol's name ("saml", "oidc", ...) allows logins over it,
// "scim" directory sync, "enforce_sso" SSO enforcement, "enforce_mfa"
// MFA enforcement and FeatureIPAllowlist the network policy. A host maps its pricing tiers onto them; a missing
// feature refuses its flows with ErrAccessDenied. Treat a Features value as
// immutable: With and Without return changed copies.
type Features []string

// Has reports whether the plan includes the feature named name.
func (f Features) Has(name string) bool {
	for _, n := range f {
		if n == name {
			return true
		}
	}
	return false
}

// Allows reports whether the plan includes logins over protocol p.
func (f Features) Allows(p Protocol) bool { return f.Has(string(p)) }

// With returns a copy of f that includes names.
func (f Features) With(names ...string) Features {
	out := append(Features(nil), f...)
	for _, n := range names {
		if !out.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// Without returns a copy of f without names.
func (f Features) Without(names ...string) Features {
	out := Features{}
	for _, n := range f {
		drop := false
		for _, m := range names {
			drop = drop || n == m
		}
		if !drop {
			out = append(out, n)
		}
	}
	return out
}

// legacyFeatures are the field names of the fixed feature struct that
// documents stored before features became a set use.
var legacyFeatures = map[string]string{"SAML": "saml", "OIDC": "oidc", "SCIM": "scim",
	"EnforceSSO": "enforce_sso", "EnforceMFA": "enforce_mfa"}

// UnmarshalJSON reads a list of names, or the object of booleans that
// earlier versions stored ({"SAML":true,...}), so stored organizations
// migrate in place when they are next read.
func (f *Features) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err == nil {
		*f = Features(nil).With(names...)
		return nil
	}
	var old map[string]bool
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("sso: features: %w", err)
	}
	var out Features
	for k, on := range old {
		if n, ok := legacyFeatures[k]; ok && on {
			out = out.With(n)
		}
	}
	sort.Strings(out)
	*f = out
	return nil
}

// EnforcesSSO reports whether o enforces SSO: the setting is on and the
// plan includes enforcement.
func (o *Organization) EnforcesSSO() bool {
	return o.Settings.SSOEnforced && o.Settings.Features.Has("enforce_sso")
}

// localSignInMethods are the sign-in methods without an IdP, in the order
// a login page offers them.
var localSignInMethods = []AuthMethod{AuthPassword, AuthPasskey, AuthEmailCode, AuthMagicLink, AuthSocial}

// LocalSignInMethods returns the sign-in methods without an IdP that an
// organization can offer and narrow (OrgSettings.SignInMethods), in the
// order a login page offers them: password, passkey, email code, magic
// link, social.
func LocalSignInMethods() []AuthMethod { return append([]AuthMethod(nil), localSignInMethods...) }

// IncludesSignIn reports whether the plan includes the local sign-in
// method m: a password is in every plan; a passkey, an email code, a magic
// link and social sign-in need the feature of the method's name
// ("passkey", "email_code", "magic_link", "social"). Any other method is
// not a local sign-in method and is never included.
func (f Features) IncludesSignIn(m AuthMethod) bool {
	switch m {
	case AuthPassword:
		return true
	case AuthPasskey, AuthEmailCode, AuthMagicLink, AuthSocial:
		return f.Has(string(m))
	}
	return false
}

// SignInVerdict is whether an organization lets its members sign in with
// a local method, and if not, who decided.
type SignInVerdict int

// The verdicts of Organization.SignInVerdict.
const (
	// SignInAllowed: the plan includes the method and the organization
	// allows it.
	SignInAllowed SignInVerdict = iota
	// SignInNotInPlan: the organization's plan does not include the
	// method (or it is no local sign-in method), whatever
	// OrgSettings.SignInMethods says.
	SignInNotInPlan
	// SignInTurnedOff: the plan includes the method but the
	// organization's administrators turned it off
	// (OrgSettings.SignInMethods does not list it).
	SignInTurnedOff
)

// String returns the verdict's name.
func (v SignInVerdict) String() string {
	switch v {
	case SignInAllowed:
		return "allowed"
	case SignInNotInPlan:
		return "not_in_plan"
	case SignInTurnedOff:
		return "turned_off"
	}
	return fmt.Sprintf("SignInVerdict(%d)", int(v))
}

// SignInVerdict decides whether o lets its members sign in with the local
// method m: the plan must include it (Features.IncludesSignIn) and
// OrgSettings.SignInMethods, when not nil, must list it. Every local
// sign-in (password, email code and magic link, passkey, social) asks it
// before issuing a session; SSO enforcement is a separate check.
func (o *Organization) SignInVerdict(m AuthMethod) SignInVerdict {
	if !o.Settings.Features.IncludesSignIn(m) {
		return SignInNotInPlan
	}
	if o.Settings.SignInMethods != nil && !slices.Contains(o.Settings.SignInMethods, m) {
		return SignInTurnedOff
	}
	return SignInAllowed
}

// AllowedSignInMethods returns the local methods o lets its members sign
// in with (those SignInVerdict allows), in LocalSignInMethods order. It
// says nothing about SSO enforcement.
func (o *Organization) AllowedSignInMethods() []AuthMethod {
	out := []AuthMethod{}
	for _, m := range localSignInMethods {
		if o.SignInVerdict(m) == SignInAllowed {
			out = append(out, m)
		}
	}
	return out
}
