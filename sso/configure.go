package sso

import (
	"context"
	"time"
)

// ConnectionInput is what an admin supplies to configure a connection's IdP
// side. SAML uses MetadataXML, MetadataURL or the manual fields; OIDC uses
// Issuer (with discovery) or the manual endpoints, plus the client fields.
type ConnectionInput struct {
	// SAML
	MetadataXML  string   `json:"metadata_xml,omitempty"`
	MetadataURL  string   `json:"metadata_url,omitempty"`
	IdPEntityID  string   `json:"idp_entity_id,omitempty"`
	SSOURL       string   `json:"sso_url,omitempty"`
	Certificates []string `json:"certificates,omitempty"`

	// OIDC
	Issuer       string   `json:"issuer,omitempty"`
	ClientID     string   `json:"client_id,omitempty"`
	ClientSecret string   `json:"client_secret,omitempty"`
	AuthMethod   string   `json:"auth_method,omitempty"`
	AuthURL      string   `json:"authorization_endpoint,omitempty"`
	TokenURL     string   `json:"token_endpoint,omitempty"`
	UserInfoURL  string   `json:"userinfo_endpoint,omitempty"`
	JWKSURL      string   `json:"jwks_uri,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
	// PrivateKeyPEM is the client's private key for private_key_jwt.
	PrivateKeyPEM string `json:"private_key_pem,omitempty"`
}

// SPDetails is what an admin copies into the IdP: the service provider (or
// relying party) side of a connection.
type SPDetails struct {
	// SAML
	EntityID    string `json:"entity_id,omitempty"`
	ACSURL      string `json:"acs_url,omitempty"`
	MetadataURL string `json:"metadata_url,omitempty"`
	SLOURL      string `json:"slo_url,omitempty"`
	// OIDC
	RedirectURI string `json:"redirect_uri,omitempty"`
	// LoginURL starts an SP-initiated login for this connection.
	LoginURL string `json:"login_url,omitempty"`
}

// IdPDetails is what the configurer learned about the IdP, shown back to the
// admin after parsing metadata or discovery.
type IdPDetails struct {
	EntityID     string            `json:"entity_id,omitempty"`
	Issuer       string            `json:"issuer,omitempty"`
	Endpoints    map[string]string `json:"endpoints,omitempty"`
	Certificates []CertificateInfo `json:"certificates,omitempty"`
}

// CertificateInfo describes a trusted IdP certificate.
type CertificateInfo struct {
	Subject     string    `json:"subject"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	Fingerprint string    `json:"sha256_fingerprint"`
}

// ConnectionConfigurer turns an admin's input into a connection's typed
// protocol configuration and describes the SP side. The saml and oidc
// packages implement it; the admin API calls it without importing them.
type ConnectionConfigurer interface {
	// ConfigureConnection validates in, fetches metadata or discovery when
	// asked (with the configurer's SSRF and size limits), seals secrets, and
	// sets c.SAML or c.OIDC. It returns what it learned about the IdP. Errors
	// wrap ErrInvalidInput (bad input) or ErrUnavailable (fetch failed).
	ConfigureConnection(ctx context.Context, c *Connection, in *ConnectionInput) (*IdPDetails, error)
	// SPDetails returns the SP-side values for c.
	SPDetails(c *Connection) *SPDetails
}

// SessionInfo describes one session for "your devices" pages and admin
// force-logout.
type SessionInfo struct {
	ID           string     `json:"id"`
	UserID       string     `json:"user_id"`
	OrgID        string     `json:"org_id"`
	ConnectionID string     `json:"connection_id,omitempty"`
	Method       AuthMethod `json:"method"`
	MFA          bool       `json:"mfa"`
	CreatedAt    time.Time  `json:"created_at"`
	LastSeenAt   time.Time  `json:"last_seen_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
	IP           string     `json:"ip,omitempty"`
	UserAgent    string     `json:"user_agent,omitempty"`
}

// SessionAdmin lists and revokes sessions within one organization: a
// session of another organization is reported as ErrNotFound.
// session.Manager implements it.
type SessionAdmin interface {
	ListSessions(ctx context.Context, orgID, userID string) ([]SessionInfo, error)
	RevokeSession(ctx context.Context, orgID, sessionID string) error
}
