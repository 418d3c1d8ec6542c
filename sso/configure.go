package sso

import (
	"context"
	"encoding/json"
	"time"
)

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
	// BackChannelLogoutURI and FrontChannelLogoutURI are the OIDC
	// backchannel_logout_uri and frontchannel_logout_uri to register at the
	// IdP (with backchannel_logout_session_required and
	// frontchannel_logout_session_required true), when the relying party
	// ends sessions on IdP-initiated logout.
	BackChannelLogoutURI  string `json:"backchannel_logout_uri,omitempty"`
	FrontChannelLogoutURI string `json:"frontchannel_logout_uri,omitempty"`
	// LoginURL starts an SP-initiated login for this connection. For OIDC
	// it is also the "initiate login URI" to register at the IdP, which
	// its app tiles call (OpenID Connect Core 1.0 section 4).
	LoginURL string `json:"login_url,omitempty"`
}

// IdPDetails is what the configurer learned about the IdP, shown back to the
// admin after parsing metadata or discovery.
type IdPDetails struct {
	EntityID     string            `json:"entity_id,omitempty"`
	Issuer       string            `json:"issuer,omitempty"`
	Endpoints    map[string]string `json:"endpoints,omitempty"`
	Certificates []CertificateInfo `json:"certificates,omitempty"`
	// Warnings are what the admin should know about the settings as
	// configured (an expired or soon-expiring certificate, a weakening
	// opt-in), in plain words.
	Warnings []string `json:"warnings,omitempty"`
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
	// ConfigureConnection decodes input, the protocol's own JSON object of
	// settings (unknown fields are refused), validates it, fetches metadata
	// or discovery when asked (with the configurer's SSRF and size limits),
	// seals secrets, and sets c.Config. It returns what it learned about the
	// IdP. Errors wrap ErrInvalidInput (bad input, as a *ValidationError
	// naming the field where one is at fault) or ErrUnavailable (fetch
	// failed).
	ConfigureConnection(ctx context.Context, c *Connection, input json.RawMessage) (*IdPDetails, error)
	// SPDetails returns the SP-side values for c.
	SPDetails(c *Connection) *SPDetails
	// ConfigView returns the JSON-ready, secret-free view of c's
	// configuration that the admin API shows under the protocol's name.
	ConfigView(c *Connection) any
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
// RevokeSession records the revocation (EventSessionRevoked, reason
// "admin_revoked", naming the actor of ctx); callers do not record it
// again. session.Manager implements it.
type SessionAdmin interface {
	ListSessions(ctx context.Context, orgID, userID string) ([]SessionInfo, error)
	RevokeSession(ctx context.Context, orgID, sessionID string) error
}
