package sso

import "context"

// HealthProbe is what a HealthProber found at a connection's IdP.
type HealthProbe struct {
	// Fetched reports whether anything was fetched (false for a connection
	// configured without a metadata URL or discovery, whose health is then
	// only its certificates' expiry).
	Fetched bool
	// Certificates are the trusted IdP certificates (SAML) or the
	// certificates in the IdP's JWKS (OIDC x5c), with their validity.
	Certificates []CertificateInfo
	// Keys is the number of usable signing keys found (OIDC JWKS keys, SAML
	// signing certificates in the fetched metadata).
	Keys int
}

// HealthProber checks the reachability of a connection's IdP: the SAML
// metadata URL, or the OIDC discovery document and JWKS. It fetches with
// the protocol package's egress policy (SSRF guard, size and time limits),
// changes nothing, and returns an error (usually wrapping ErrUnavailable or
// a *ValidationError) when the IdP's documents cannot be fetched or do not
// validate. The saml and oidc packages implement it.
type HealthProber interface {
	ProbeConnection(ctx context.Context, c *Connection) (*HealthProbe, error)
}
