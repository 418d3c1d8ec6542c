package saml

import (
	"time"

	"github.com/ssokit/ssokit/internal/protoconfig"
	"github.com/ssokit/ssokit/sso"
)

// Protocol is the name of SAML 2.0 connections.
const Protocol sso.Protocol = "saml"

// configVersion is the schema version of ConnectionConfig documents.
const configVersion = 1

func init() { protoconfig.Register[ConnectionConfig](Protocol, configVersion) }

// ConnectionConfig is the IdP side of a SAML connection: the document
// stored as the connection's Config (see sso.RegisterProtocol).
type ConnectionConfig struct {
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

// IdPIssuer implements sso.ProtocolConfig: the IdP's entity ID.
func (c *ConnectionConfig) IdPIssuer() string { return c.IdPEntityID }

// Version implements sso.ProtocolConfig.
func (c *ConnectionConfig) Version() int { return configVersion }

// ConfigOf returns c's SAML configuration, or nil when c is not a SAML
// connection or has none yet.
func ConfigOf(c *sso.Connection) *ConnectionConfig { return protoconfig.Of[*ConnectionConfig](c) }

// ConnectionInput is what an admin supplies to configure a SAML
// connection: the IdP's metadata (as XML or a URL to fetch), or its entity
// ID, SSO URL and signing certificates.
type ConnectionInput struct {
	MetadataXML  string   `json:"metadata_xml,omitempty"`
	MetadataURL  string   `json:"metadata_url,omitempty"`
	IdPEntityID  string   `json:"idp_entity_id,omitempty"`
	SSOURL       string   `json:"sso_url,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
}

// ConfigView is the admin API's view of a SAML connection's IdP side.
type ConfigView struct {
	IdPEntityID       string     `json:"idp_entity_id"`
	SSOURL            string     `json:"sso_url"`
	SSOBinding        string     `json:"sso_binding,omitempty"`
	SLOURL            string     `json:"slo_url,omitempty"`
	Certificates      int        `json:"certificates"`
	MetadataURL       string     `json:"metadata_url,omitempty"`
	MetadataFetchedAt *time.Time `json:"metadata_fetched_at,omitempty"`
	AllowIdPInitiated bool       `json:"allow_idp_initiated"`
	AllowSHA1         bool       `json:"allow_sha1"`
}

// ConfigView implements sso.ConnectionConfigurer; nil when c has no SAML
// configuration.
func (s *SP) ConfigView(c *sso.Connection) any {
	cfg := ConfigOf(c)
	if cfg == nil {
		return nil
	}
	v := &ConfigView{IdPEntityID: cfg.IdPEntityID, SSOURL: cfg.SSOURL, SSOBinding: cfg.SSOBinding, SLOURL: cfg.SLOURL,
		Certificates: len(cfg.Certificates), MetadataURL: cfg.MetadataURL, AllowIdPInitiated: cfg.AllowIdPInitiated,
		AllowSHA1: cfg.AllowSHA1}
	if !cfg.MetadataFetchedAt.IsZero() {
		t := cfg.MetadataFetchedAt
		v.MetadataFetchedAt = &t
	}
	return v
}
