package social

import (
	"errors"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// Protocol is the sso.Protocol value of this package's *sso.ValidationError
// values.
const Protocol sso.Protocol = "social"

// Method is the sso.AuthMethod of sessions a social login issues.
const Method = sso.AuthSocial

// Feature is the plan feature (sso.Features) an organization needs for its
// members to sign in with a social provider.
const Feature = "social"

// Stable reasons of the *sso.ValidationError values this package returns.
// Tests, audit events and API clients match on them.
const (
	ReasonUnknownProvider  = "unknown_provider"   // no provider of that name is configured
	ReasonStateInvalid     = "state_invalid"      // no, a foreign, tampered or expired flow cookie, or a state mismatch
	ReasonProviderError    = "provider_error"     // the provider answered the authorization with an error
	ReasonTokenInvalid     = "token_invalid"      // the ID token or the exchange failed verification
	ReasonIssuerMismatch   = "issuer_mismatch"    // the iss of a multi-tenant provider does not match its tenant
	ReasonTenantNotAllowed = "tenant_not_allowed" // a Microsoft tenant outside the configured audience
	ReasonNoEmail          = "email_missing"      // the provider reported no email address
	ReasonEmailNotVerified = "email_not_verified" // the address is not verified: it may not create or link an account
	ReasonAmbiguous        = "account_ambiguous"  // several verified accounts hold the address
	ReasonSSORequired      = "sso_required"       // the organization enforces SSO: sign in with its IdP
	ReasonNoOrganization   = "no_organization"    // signed in, but no organization admits the user
	ReasonOrgRequired      = "org_required"       // several organizations: name one
	ReasonAccessDenied     = "access_denied"      // not an active member of the organization named
	ReasonFeature          = "feature_disabled"   // the organization's plan does not include social login
	ReasonMethodDisabled   = "method_disabled"    // the organization turned social sign-in off
	ReasonUpstream         = "upstream_error"     // the provider could not be reached or answered garbage
	ReasonRateLimited      = "rate_limited"       // too many requests from one client address
	ReasonJoinRequested    = "join_requested"     // the organization approves newcomers: a join request awaits its admins
	// ReasonLinkRequired refuses a first sign-in with an account whose
	// email the provider verified only once (Provider.EmailVerifiedOnce):
	// it must be linked from its user's session first.
	ReasonLinkRequired = "link_required"
	// ReasonUnauthenticated refuses to link an account without a signed-in
	// session.
	ReasonUnauthenticated = "unauthenticated"
	// ReasonReauthenticationRequired refuses to link an account for a
	// session whose own login was not by a local method within
	// Config.RecentLogin.
	ReasonReauthenticationRequired = "reauthentication_required"
	// ReasonIdentityInUse refuses to link an account already linked to
	// another user.
	ReasonIdentityInUse = "identity_in_use"
	// ReasonLinkSessionChanged refuses to finish a link when the browser no
	// longer holds the session that started it (signed out, or signed in
	// as someone else meanwhile).
	ReasonLinkSessionChanged = "link_session_changed"
)

// ErrJoinRequested is what Admission.Accept returns (wrapped) when the
// organization approves newcomers first: it made a join request instead of
// a membership, and the sign-in ends with reason join_requested.
var ErrJoinRequested = errors.New("social: join request awaiting approval")

// SSORequiredError is the refusal of a social sign-in for a member of an
// organization that enforces SSO: the person must sign in with that
// organization's IdP, which Redirect starts. It wraps sso.ErrSSORequired.
type SSORequiredError struct {
	// OrgID is the organization that enforces SSO.
	OrgID string
	// Redirect is the relative URL that starts the organization's SSO.
	Redirect string
}

// Error says what happened.
func (e *SSORequiredError) Error() string {
	return "social: the organization requires single sign-on with its identity provider"
}

// Unwrap returns sso.ErrSSORequired.
func (e *SSORequiredError) Unwrap() error { return sso.ErrSSORequired }

// UpstreamError reports a provider that could not be reached or answered
// something unusable. Handlers answer it with 502.
type UpstreamError struct {
	Provider string
	Err      error
}

// Error names the provider, not the cause.
func (e *UpstreamError) Error() string { return "social: provider " + e.Provider + " failed" }

// Unwrap returns the cause.
func (e *UpstreamError) Unwrap() error { return e.Err }

// deny returns a refusal with a stable reason wrapping sentinel and cause.
func deny(reason string, sentinel error, cause error) error {
	err := sentinel
	if cause != nil {
		err = fmt.Errorf("%w: %v", sentinel, cause) // the cause is detail, not a sentinel to match
	}
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: err}
}

// upstream wraps err as a provider fault.
func upstream(provider string, err error) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: ReasonUpstream, Err: &UpstreamError{Provider: provider, Err: err}}
}

// isUpstream reports whether err is a provider fault.
func isUpstream(err error) bool {
	var ue *UpstreamError
	return errors.As(err, &ue)
}
