package sso

import "time"

// Protocol names a single sign-on protocol.
type Protocol string

// The protocols ssokit speaks.
const (
	ProtocolSAML Protocol = "saml"
	ProtocolOIDC Protocol = "oidc"
)

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
	// SAML is set when Protocol is ProtocolSAML.
	SAML *SAMLConfig
	// OIDC is set when Protocol is ProtocolOIDC.
	OIDC *OIDCConfig
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

// SAMLConfig is the IdP side of a SAML connection.
type SAMLConfig struct {
	// IdPEntityID is the IdP's entity ID; Response and Assertion Issuer must
	// equal it.
	IdPEntityID string
	// SSOURL is the IdP's SingleSignOnService location and SSOBinding its
	// binding ("redirect" or "post").
	SSOURL     string
	SSOBinding string
	// SLOURL is the IdP's SingleLogoutService location, if any.
	SLOURL string
	// Certificates are the trusted IdP signing certificates, PEM encoded.
	// Several may be trusted at once during a rollover.
	Certificates []string
	// MetadataURL, when set, is refreshed periodically. MetadataXML holds the
	// last metadata that parsed and validated (the last good copy).
	MetadataURL       string
	MetadataXML       string
	MetadataFetchedAt time.Time
	MetadataExpiresAt time.Time
	// NameIDFormat requested in AuthnRequests; empty means unspecified.
	NameIDFormat string
	// SignAuthnRequests signs AuthnRequests with the SP key.
	SignAuthnRequests bool
	// RequireEncryptedAssertions rejects plaintext assertions.
	RequireEncryptedAssertions bool
	// AllowIdPInitiated accepts unsolicited responses (no InResponseTo). It
	// MUST only be enabled for IdPs that cannot start logins at the SP; the
	// replay cache, audience and a short maximum age still apply and
	// RelayState is never used as a URL.
	AllowIdPInitiated bool
	// AllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests. It MUST only be
	// enabled for IdPs that cannot sign with SHA-256.
	AllowSHA1 bool
	// AllowResponseSignatureOnly accepts an unsigned Assertion inside a signed
	// Response. By default the Assertion itself must be signed.
	AllowResponseSignatureOnly bool
}

// OIDCConfig is the IdP side of an OIDC connection.
type OIDCConfig struct {
	// Issuer is the exact issuer identifier. With discovery, the discovered
	// issuer must equal it.
	Issuer string
	// Manual endpoints for IdPs without discovery. When AuthURL is empty the
	// endpoints come from discovery.
	AuthURL     string
	TokenURL    string
	UserInfoURL string
	JWKSURL     string
	// ClientID is the client registered at the IdP.
	ClientID string
	// ClientSecretSealed is the client secret sealed with a Sealer; it is
	// never stored in clear.
	ClientSecretSealed string
	// AuthMethod is the token endpoint authentication: "client_secret_basic"
	// (default), "client_secret_post", "private_key_jwt" or "none".
	AuthMethod string
	// PrivateKeySealed is the PEM private key for private_key_jwt, sealed;
	// PrivateKeyID is its key ID.
	PrivateKeySealed string
	PrivateKeyID     string
	// Scopes requested; empty means "openid email profile".
	Scopes []string
	// UserInfo is "auto" (default), "always" or "never".
	UserInfo string
	// SigningAlgs restricts the ID token algorithms; empty means the IdP's
	// advertised asymmetric algorithms (never "none" or HMAC).
	SigningAlgs []string
	// AllowedTenantIDs, for multi-tenant issuers such as
	// https://login.microsoftonline.com/{tenantid}/v2.0, lists the accepted
	// tenant IDs.
	AllowedTenantIDs []string
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
