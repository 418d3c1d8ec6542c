package saml

import (
	"bytes"
	"encoding/json"
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
	// EnforceCertificateDates refuses responses verified with a pinned
	// certificate outside its validity period (ReasonCertificateExpired).
	// By default a pinned key is a trust anchor whose dates are not
	// enforced (SAML V2.0 Metadata Interoperability Profile): an expired
	// certificate keeps working, with warnings.
	EnforceCertificateDates bool
	// AllowRSA15KeyTransport accepts encrypted assertions whose key is
	// transported with RSA PKCS#1 v1.5 (xmlenc#rsa-1_5), which older
	// SimpleSAMLphp and ADFS use. It MUST only be enabled for IdPs that
	// cannot use RSA-OAEP: v1.5 padding invites padding-oracle attacks.
	AllowRSA15KeyTransport bool
	// MFAAuthnContexts are the AuthnContextClassRef values requested when a
	// login requires MFA (sso.StartOptions.RequireMFA), and the only ones
	// that count as multi-factor in a response (sso.Profile.MFA, and the
	// check of a login that required MFA). Empty means
	// DefaultMFAAuthnContexts in the request, and any context the package
	// recognises as multi-factor in the response.
	MFAAuthnContexts []string
	// MFAComparison is the RequestedAuthnContext Comparison sent with them:
	// "exact" (the default), "minimum", "better" or "maximum".
	MFAComparison string
	// RequireSignedMetadata refuses IdP metadata (fetched or pasted) that
	// is not signed by one of the pinned certificates. By default signed
	// metadata must verify and unsigned metadata is accepted.
	RequireSignedMetadata bool
	// SPEntityID, when set, replaces the connection's SP entity ID
	// (SP.EntityID): it is the AuthnRequest and logout Issuer, the
	// metadata's entityID and the only Audience accepted. It keeps the
	// value an IdP already has, e.g. after moving from another vendor.
	SPEntityID string `json:",omitempty"`
	// ACSURL, when set, replaces the connection's ACS URL (SP.ACSURL): it
	// is sent as AssertionConsumerServiceURL, published in the metadata,
	// the only Destination and Recipient accepted, and a POST to its path
	// (under Config.BaseURL or Config.ExtraACSURLs) is for this
	// connection. No two connections share one.
	ACSURL string `json:",omitempty"`
	// SPSLOURL, when set, replaces the connection's single logout URL
	// (SP.SLOURL): it is published in the metadata, the only Destination
	// of logout messages accepted, and a request to its path is this
	// connection's SLO endpoint. SPMetadataURL, when set, is a second
	// address of the connection's SP metadata (an IdP that fetches it from
	// an old vendor's URL). Both follow the rules of ACSURL; no two paths
	// of any connections are the same.
	SPSLOURL      string `json:",omitempty"`
	SPMetadataURL string `json:",omitempty"`
}

// DefaultMFAAuthnContexts are requested when a login requires MFA and the
// connection names none: Microsoft's multipleauthn (Entra ID, ADFS), the
// REFEDS MFA profile (Shibboleth, SimpleSAMLphp, Okta and Keycloak when
// configured for it) and MobileTwoFactorContract (PingFederate, OneLogin).
var DefaultMFAAuthnContexts = []string{
	"http://schemas.microsoft.com/claims/multipleauthn",
	"https://refeds.org/profile/mfa",
	"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract",
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
//
// The policy switches are pointers: absent keeps the connection's current
// setting.
type ConnectionInput struct {
	MetadataXML  string   `json:"metadata_xml,omitempty"`
	MetadataURL  string   `json:"metadata_url,omitempty"`
	IdPEntityID  string   `json:"idp_entity_id,omitempty"`
	SSOURL       string   `json:"sso_url,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	// EnforceCertificateDates sets ConnectionConfig.EnforceCertificateDates.
	EnforceCertificateDates *bool `json:"enforce_certificate_dates,omitempty"`
	// AllowRSA15KeyTransport sets ConnectionConfig.AllowRSA15KeyTransport.
	AllowRSA15KeyTransport *bool `json:"allow_rsa15_key_transport,omitempty"`
	// MFAAuthnContexts sets ConnectionConfig.MFAAuthnContexts: absolute
	// URIs; an empty list restores the defaults.
	MFAAuthnContexts []string `json:"mfa_authn_contexts,omitempty"`
	// MFAComparison sets ConnectionConfig.MFAComparison: "exact",
	// "minimum", "better" or "maximum".
	MFAComparison *string `json:"mfa_comparison,omitempty"`
	// RequireSignedMetadata sets ConnectionConfig.RequireSignedMetadata.
	RequireSignedMetadata *bool `json:"require_signed_metadata,omitempty"`
	// SPEntityID sets ConnectionConfig.SPEntityID: an absolute URI; ""
	// restores the default.
	SPEntityID *string `json:"sp_entity_id,omitempty"`
	// ACSURL sets ConnectionConfig.ACSURL: https (http on loopback) on
	// BaseURL's host, under BaseURL or an ExtraACSURLs prefix, used by no
	// other connection; "" restores the default.
	ACSURL *string `json:"acs_url,omitempty"`
	// SPSLOURL and SPMetadataURL set ConnectionConfig.SPSLOURL and
	// SPMetadataURL, with the rules of ACSURL; "" restores the default.
	SPSLOURL      *string `json:"sp_slo_url,omitempty"`
	SPMetadataURL *string `json:"sp_metadata_url,omitempty"`
	// AllowIdPInitiated sets ConnectionConfig.AllowIdPInitiated (weakens).
	AllowIdPInitiated *bool `json:"allow_idp_initiated,omitempty"`
	// AllowSHA1 sets ConnectionConfig.AllowSHA1 (weakens).
	AllowSHA1 *bool `json:"allow_sha1,omitempty"`
	// AllowResponseSignatureOnly sets
	// ConnectionConfig.AllowResponseSignatureOnly (weakens).
	AllowResponseSignatureOnly *bool `json:"allow_response_signature_only,omitempty"`
	// SignAuthnRequests sets ConnectionConfig.SignAuthnRequests.
	SignAuthnRequests *bool `json:"sign_authn_requests,omitempty"`
	// RequireEncryptedAssertions sets
	// ConnectionConfig.RequireEncryptedAssertions.
	RequireEncryptedAssertions *bool `json:"require_encrypted_assertions,omitempty"`
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
	// AllowResponseSignatureOnly, SignAuthnRequests and
	// RequireEncryptedAssertions are the ConnectionConfig switches.
	AllowResponseSignatureOnly bool `json:"allow_response_signature_only"`
	SignAuthnRequests          bool `json:"sign_authn_requests"`
	RequireEncryptedAssertions bool `json:"require_encrypted_assertions"`
	// EnforceCertificateDates is ConnectionConfig.EnforceCertificateDates.
	EnforceCertificateDates bool `json:"enforce_certificate_dates"`
	// AllowRSA15KeyTransport is ConnectionConfig.AllowRSA15KeyTransport.
	AllowRSA15KeyTransport bool `json:"allow_rsa15_key_transport"`
	// MFAAuthnContexts are the contexts requested when a login requires
	// MFA (the defaults when the connection names none); MFAComparison
	// their Comparison.
	MFAAuthnContexts []string `json:"mfa_authn_contexts"`
	MFAComparison    string   `json:"mfa_comparison"`
	// RequireSignedMetadata is ConnectionConfig.RequireSignedMetadata.
	RequireSignedMetadata bool `json:"require_signed_metadata"`
	// SPEntityID and ACSURL are the connection's own SP entity ID and ACS
	// URL, when set (sso.SPDetails shows the ones in effect).
	SPEntityID string `json:"sp_entity_id,omitempty"`
	ACSURL     string `json:"acs_url,omitempty"`
	// SPSLOURL and SPMetadataURL are the connection's own SLO and
	// metadata URLs, when set.
	SPSLOURL      string `json:"sp_slo_url,omitempty"`
	SPMetadataURL string `json:"sp_metadata_url,omitempty"`
	// Warnings name what weakens the connection or will break it: pinned
	// certificates outside their validity period, weak algorithms allowed.
	Warnings []string `json:"warnings,omitempty"`
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
		AllowSHA1: cfg.AllowSHA1, EnforceCertificateDates: cfg.EnforceCertificateDates,
		AllowRSA15KeyTransport: cfg.AllowRSA15KeyTransport, MFAAuthnContexts: mfaRequestContexts(cfg), MFAComparison: cfg.MFAComparison,
		RequireSignedMetadata: cfg.RequireSignedMetadata, SPEntityID: cfg.SPEntityID, ACSURL: cfg.ACSURL,
		SPSLOURL: cfg.SPSLOURL, SPMetadataURL: cfg.SPMetadataURL,
		AllowResponseSignatureOnly: cfg.AllowResponseSignatureOnly, SignAuthnRequests: cfg.SignAuthnRequests,
		RequireEncryptedAssertions: cfg.RequireEncryptedAssertions}
	if v.MFAComparison == "" {
		v.MFAComparison = "exact"
	}
	if !cfg.MetadataFetchedAt.IsZero() {
		t := cfg.MetadataFetchedAt
		v.MetadataFetchedAt = &t
	}
	v.Warnings = configWarnings(cfg, s.now())
	return v
}

// configWarnings are the warnings of a connection's view.
func configWarnings(cfg *ConnectionConfig, now time.Time) []string {
	out := certWarnings(cfg, now)
	if cfg.AllowSHA1 {
		out = append(out, "AllowSHA1 accepts RSA-SHA1 signatures and SHA-1 digests, which can be forged: ask the IdP to sign with SHA-256 and turn it off")
	}
	if cfg.AllowIdPInitiated {
		out = append(out, "AllowIdPInitiated accepts unsolicited responses, which an attacker who obtains one signed response can replay into a fresh session within its maximum age: turn it off unless the IdP cannot start logins at the SP")
	}
	if cfg.AllowResponseSignatureOnly {
		out = append(out, "AllowResponseSignatureOnly accepts an unsigned assertion inside a signed response: ask the IdP to sign assertions and turn it off")
	}
	if cfg.MFAComparison == "minimum" || cfg.MFAComparison == "better" {
		out = append(out, "mfa_comparison "+cfg.MFAComparison+" lets the IdP choose a context other than the ones listed; "+
			"only the listed contexts are accepted as MFA, so logins that require MFA may be refused: prefer exact")
	}
	if cfg.AllowRSA15KeyTransport {
		out = append(out, "AllowRSA15KeyTransport accepts RSA PKCS#1 v1.5 key transport (xmlenc#rsa-1_5), which invites padding-oracle attacks: ask the IdP to encrypt with RSA-OAEP and turn it off")
	}
	return out
}

// weakenings are the settings that lower a connection's security, by
// their admin JSON name, and when they do.
var weakenings = []struct {
	name string
	weak func(*ConnectionConfig) bool
}{
	{"allow_idp_initiated", func(c *ConnectionConfig) bool { return c.AllowIdPInitiated }},
	{"allow_sha1", func(c *ConnectionConfig) bool { return c.AllowSHA1 }},
	{"allow_response_signature_only", func(c *ConnectionConfig) bool { return c.AllowResponseSignatureOnly }},
	{"allow_rsa15_key_transport", func(c *ConnectionConfig) bool { return c.AllowRSA15KeyTransport }},
	{"require_encrypted_assertions", func(c *ConnectionConfig) bool { return !c.RequireEncryptedAssertions }},
	{"enforce_certificate_dates", func(c *ConnectionConfig) bool { return !c.EnforceCertificateDates }},
	{"require_signed_metadata", func(c *ConnectionConfig) bool { return !c.RequireSignedMetadata }},
	{"mfa_comparison", func(c *ConnectionConfig) bool { return c.MFAComparison == "minimum" || c.MFAComparison == "better" }},
}

// Weakened returns the admin JSON names of the settings that lower
// security in after but did not in before (nil before: a new connection,
// compared with the defaults), in a fixed order. The admin API audits
// them as a security weakening.
func (s *SP) Weakened(before, after sso.ProtocolConfig) []string {
	b, _ := before.(*ConnectionConfig)
	a, _ := after.(*ConnectionConfig)
	if a == nil {
		return nil
	}
	if b == nil {
		b = &ConnectionConfig{}
	}
	var out []string
	for _, w := range weakenings {
		if w.weak(a) && !w.weak(b) {
			out = append(out, w.name)
		}
	}
	return out
}

// SameConfig reports whether a and b are the same SAML setup of c: equal
// but for when the metadata was fetched and is due again. An import uses
// it to tell an unchanged connection from an updated one.
func (s *SP) SameConfig(c *sso.Connection, a, b sso.ProtocolConfig) bool {
	x, okA := a.(*ConnectionConfig)
	y, okB := b.(*ConnectionConfig)
	if !okA || !okB || x == nil || y == nil {
		return a == nil && b == nil
	}
	cx, cy := *x, *y
	cx.MetadataFetchedAt, cy.MetadataFetchedAt = time.Time{}, time.Time{}
	cx.MetadataExpiresAt, cy.MetadataExpiresAt = time.Time{}, time.Time{}
	jx, errX := json.Marshal(&cx)
	jy, errY := json.Marshal(&cy)
	return errX == nil && errY == nil && bytes.Equal(jx, jy)
}
