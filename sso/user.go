package sso

import "time"

// User is a person known to the host application. A user may belong to
// several organizations through Memberships.
type User struct {
	ID string
	// Email is stored lower-cased. It is not unique across organizations:
	// linking by email happens only within one organization and only for its
	// verified domains.
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	DisplayName   string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// MembershipStatus is the state of a user's membership in an organization.
type MembershipStatus string

// Membership states. Only active members may sign in.
const (
	MembershipActive      MembershipStatus = "active"
	MembershipSuspended   MembershipStatus = "suspended"
	MembershipDeactivated MembershipStatus = "deactivated"
)

// Source says how a membership came to be.
type Source string

// Membership sources.
const (
	SourceJIT   Source = "jit"
	SourceSCIM  Source = "scim"
	SourceAdmin Source = "admin"
)

// Membership links a User to an Organization.
type Membership struct {
	OrgID  string
	UserID string
	// Roles are application roles, e.g. "admin", "member".
	Roles  []string
	Status MembershipStatus
	Source Source
	// ExternalID is the directory's identifier (SCIM externalId).
	ExternalID string
	// BreakGlass members may sign in locally while SSO is enforced.
	BreakGlass bool
	// JoinedAt starts MFA grace periods.
	JoinedAt  time.Time
	UpdatedAt time.Time
}

// Active reports whether the member may sign in.
func (m *Membership) Active() bool { return m.Status == MembershipActive }

// HasRole reports whether the member holds role.
func (m *Membership) HasRole(role string) bool {
	for _, r := range m.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Identity is a user's account at one IdP, keyed by (OrgID, Issuer, Subject).
// Keying by organization means two organizations that trust the same issuer
// (e.g. a shared OIDC provider) never share an identity.
type Identity struct {
	ID           string
	OrgID        string
	ConnectionID string
	// Issuer is the SAML IdP entity ID or the OIDC issuer.
	Issuer string
	// Subject is the SAML NameID or the OIDC sub.
	Subject     string
	UserID      string
	CreatedAt   time.Time
	LastLoginAt time.Time
}

// Group is an organization-scoped group, usually pushed by SCIM.
type Group struct {
	ID          string
	OrgID       string
	DisplayName string
	ExternalID  string
	// Members are user IDs.
	Members   []string
	CreatedAt time.Time
	UpdatedAt time.Time
}
