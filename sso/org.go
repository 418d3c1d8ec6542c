package sso

import "time"

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

// Features are plan-gated capabilities. A host maps its pricing tiers onto
// them; a disabled feature refuses its flows with ErrAccessDenied.
type Features struct {
	SAML       bool
	OIDC       bool
	SCIM       bool
	EnforceSSO bool
	EnforceMFA bool
}

// Allows reports whether the plan includes SSO over protocol p.
func (f Features) Allows(p Protocol) bool {
	switch p {
	case ProtocolSAML:
		return f.SAML
	case ProtocolOIDC:
		return f.OIDC
	}
	return false
}

// Has reports whether the plan includes the feature named name: "scim",
// "mfa" (MFA enforcement), "enforce_sso", or a protocol's name ("saml",
// "oidc").
func (f Features) Has(name string) bool {
	switch name {
	case "scim":
		return f.SCIM
	case "mfa":
		return f.EnforceMFA
	case "enforce_sso":
		return f.EnforceSSO
	}
	return f.Allows(Protocol(name))
}

// EnforcesSSO reports whether o enforces SSO: the setting is on and the
// plan includes enforcement.
func (o *Organization) EnforcesSSO() bool {
	return o.Settings.SSOEnforced && o.Settings.Features.EnforceSSO
}
