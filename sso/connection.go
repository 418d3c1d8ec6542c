package sso

import "time"

// Protocol names a sign-in protocol ("saml", "oidc", ...). Each protocol
// package declares its own name and registers it with RegisterProtocol.
type Protocol string

// ConnectionStatus is the lifecycle state of a Connection.
type ConnectionStatus string

// Connection states. Only active connections route logins; a draft may run
// test logins.
const (
	ConnectionDraft    ConnectionStatus = "draft"
	ConnectionActive   ConnectionStatus = "active"
	ConnectionDisabled ConnectionStatus = "disabled"
)

// Connection is one organization's link to one identity provider.
type Connection struct {
	// ID is globally unique and appears in SP URLs (ACS, redirect URI).
	ID string
	// OrgID is the owning organization.
	OrgID       string
	Protocol    Protocol
	Status      ConnectionStatus
	DisplayName string
	// Config is the connection's protocol configuration: a document the
	// protocol package registered for Protocol owns, validates and decodes
	// (see RegisterProtocol). The core and the stores never look inside.
	Config ProtocolConfig
	// Mapping says which IdP attributes or claims fill the Profile. Empty
	// fields use the protocol package's defaults.
	Mapping AttributeMapping
	// GroupRoles maps IdP group names (or IDs) to application roles; it is
	// applied on every login.
	GroupRoles []GroupRole
	// LastTest is the result of the most recent test login.
	LastTest *TestResult
	// LastTestOK is when a test login last succeeded; zero if never.
	// Activation requires it.
	LastTestOK time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// AttributeMapping names the IdP attributes (SAML) or claims (OIDC) that fill
// the Profile. Empty fields use the protocol package's defaults.
type AttributeMapping struct {
	Email       string
	GivenName   string
	FamilyName  string
	DisplayName string
	Groups      string
}

// GroupRole maps one IdP group to one application role.
type GroupRole struct {
	Group string
	Role  string
}

// TestResult is the outcome of an admin's test login.
type TestResult struct {
	At time.Time
	OK bool
	// Reason is the stable failure reason (empty on success) and Detail a
	// human-readable description naming the failed check with want/got.
	Reason string
	Detail string
	// Profile is the profile the IdP produced, on success.
	Profile *Profile
}

// RolesFor returns the roles the connection's group mapping gives to groups,
// in mapping order and without duplicates.
func (c *Connection) RolesFor(groups []string) []string {
	if len(c.GroupRoles) == 0 || len(groups) == 0 {
		return nil
	}
	have := make(map[string]bool, len(groups))
	for _, g := range groups {
		have[g] = true
	}
	var roles []string
	seen := map[string]bool{}
	for _, gr := range c.GroupRoles {
		if have[gr.Group] && !seen[gr.Role] {
			seen[gr.Role] = true
			roles = append(roles, gr.Role)
		}
	}
	return roles
}

// Issuer returns the identifier c's IdP asserts (the SAML entity ID, the
// OIDC issuer), or "" while the configuration does not name one yet.
func (c *Connection) Issuer() string {
	if c.Config == nil {
		return ""
	}
	return c.Config.IdPIssuer()
}
