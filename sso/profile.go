package sso

import (
	"log/slog"
	"time"
)

// Profile is the normalized, verified result of any SSO login. The protocol
// packages build it only from data inside the verified message (the signed
// SAML assertion, the verified ID token and matching userinfo).
type Profile struct {
	Protocol     Protocol
	OrgID        string
	ConnectionID string
	// Issuer and Subject identify the account at the IdP: SAML IdP entity ID
	// and NameID, or OIDC iss and sub.
	Issuer       string
	Subject      string
	NameIDFormat string
	// Email is lower-cased. EmailVerified is true only when the IdP asserted it
	// (OIDC email_verified as boolean true) or the protocol implies it (SAML
	// assertions from the organization's own IdP).
	Email         string
	EmailVerified bool
	GivenName     string
	FamilyName    string
	DisplayName   string
	Groups        []string
	// AuthnContext is the SAML AuthnContextClassRef or the OIDC acr.
	AuthnContext string
	// AMR lists the OIDC authentication methods references.
	AMR []string
	// MFA reports whether the IdP asserted a multi-factor authentication.
	MFA bool
	// AuthTime is when the user authenticated at the IdP, if known.
	AuthTime time.Time
	// SessionIndex is the SAML SessionIndex (for single logout) or the OIDC sid.
	SessionIndex string
	// SessionNotOnOrAfter is the SAML AuthnStatement's SessionNotOnOrAfter:
	// the IdP's bound on the session's life. Zero when absent. The session
	// issued for the login never outlives it.
	SessionNotOnOrAfter time.Time
	// Raw holds every attribute or claim as strings.
	Raw map[string][]string
}

// LogValue implements slog.LogValuer. It omits the email, names and raw
// attributes.
func (p *Profile) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("protocol", string(p.Protocol)),
		slog.String("org", p.OrgID),
		slog.String("connection", p.ConnectionID),
		slog.Bool("mfa", p.MFA),
	)
}
