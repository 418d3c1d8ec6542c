package password

import (
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Protocol is the sso.Protocol value of this package's *sso.ValidationError
// values.
const Protocol sso.Protocol = "password"

// Method is the sso.AuthMethod of sessions a password login issues.
const Method = sso.AuthPassword

// Stable reasons of the *sso.ValidationError values this package returns.
// Tests, audit events and API clients match on them; the JSON error body
// carries them as "error".
const (
	ReasonEmailInvalid       = "email_invalid"       // not an email address
	ReasonNameInvalid        = "name_invalid"        // control characters or over 256 bytes
	ReasonPasswordInvalid    = "password_invalid"    // not valid UTF-8, or control characters
	ReasonPasswordTooShort   = "password_too_short"  // fewer than Policy.MinLength characters
	ReasonPasswordTooLong    = "password_too_long"   // more than Policy.MaxLength characters
	ReasonPasswordBreached   = "password_breached"   // on the list of common and breached passwords
	ReasonPasswordWeak       = "password_weak"       // one repeated pattern or a sequence (aaaaaaaa, 12345678)
	ReasonPasswordContext    = "password_context"    // contains the email's name or a Config.ContextWords word
	ReasonInvalidCredentials = "invalid_credentials" // unknown email or wrong password; never says which
	ReasonRateLimited        = "rate_limited"        // throttled; wraps *ThrottleError
	ReasonEmailNotVerified   = "email_not_verified"  // right password, address not verified yet
	ReasonSSORequired        = "sso_required"        // the organization enforces SSO
	ReasonOrgRequired        = "org_required"        // several organizations: name one
	ReasonAccessDenied       = "access_denied"       // not an active member of the organization named
	ReasonNoOrganization     = "no_organization"     // right password, but no active membership yet
	ReasonTokenInvalid       = "token_invalid"       // unknown, used, or of another kind
	ReasonTokenExpired       = "token_expired"       // past its lifetime
	ReasonTokenStale         = "token_stale"         // issued before the last password change
	ReasonCrossOrigin        = "cross_origin"        // a cross-site POST (CSRF)
	ReasonUnauthenticated    = "unauthenticated"     // change without a session
	ReasonMalformed          = "malformed_request"   // unreadable body or wrong content type
	ReasonMethodDisabled     = "method_disabled"     // the organization turned password sign-in off
)

// FieldError names the request field a refusal is about and how to fix
// it. It is the cause of the *sso.ValidationError that input refusals
// return, so errors.As finds it; the JSON error body shows Field and Fix.
type FieldError struct {
	// Field is the request field ("email", "password", "token", "org").
	Field string
	// Fix tells the user what to do, in one sentence.
	Fix string
	// Err is the sentinel the refusal wraps (sso.ErrInvalidInput usually).
	Err error
}

// Error returns the field and the fix.
func (e *FieldError) Error() string { return fmt.Sprintf("password: %s: %s", e.Field, e.Fix) }

// Unwrap returns the wrapped sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

// refuse returns a refusal of a request field with a stable reason.
func refuse(reason, field, fix string, sentinel error) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: &FieldError{Field: field, Fix: fix, Err: sentinel}}
}

// deny returns a refusal that names no field.
func deny(reason string, sentinel error) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: sentinel}
}

// errInvalidCredentials is the one answer for an unknown email and a wrong
// password alike.
var errInvalidCredentials = deny(ReasonInvalidCredentials, sso.ErrAccessDenied)

// ThrottleError reports that sign-in attempts are refused until Until
// because of repeated failures. It wraps sso.ErrRateLimited.
type ThrottleError struct {
	Until time.Time
}

// Error returns a message with the end of the delay.
func (e *ThrottleError) Error() string {
	return "password: too many failed attempts, retry after " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap returns sso.ErrRateLimited.
func (e *ThrottleError) Unwrap() error { return sso.ErrRateLimited }
