package emailcode

import (
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// Protocol is the sso.Protocol value of this package's *sso.ValidationError
// values.
const Protocol sso.Protocol = "emailcode"

// The sso.AuthMethod values of the sessions this package issues.
const (
	MethodCode = sso.AuthEmailCode
	MethodLink = sso.AuthMagicLink
)

// The plan features (sso.Features) an organization needs for its members
// to sign in with an emailed code and with a magic link.
const (
	FeatureCode = string(MethodCode)
	FeatureLink = string(MethodLink)
)

// Stable reasons of the *sso.ValidationError values this package returns.
// Tests, audit events and API clients match on them; the JSON error body
// carries them as "error".
const (
	ReasonEmailInvalid     = "email_invalid"     // not an email address
	ReasonRateLimited      = "rate_limited"      // too many requests or wrong codes
	ReasonNoChallenge      = "no_challenge"      // no sign-in was started in this browser
	ReasonCodeInvalid      = "code_invalid"      // wrong, used or superseded code
	ReasonCodeExpired      = "code_expired"      // past its lifetime
	ReasonTooManyAttempts  = "too_many_attempts" // the code's attempts are used up; it is void
	ReasonLinkInvalid      = "link_invalid"      // unknown, used or superseded link
	ReasonLinkExpired      = "link_expired"      // past its lifetime
	ReasonConfirmRequired  = "confirm_required"  // link opened in another browser: confirm first
	ReasonSSORequired      = "sso_required"      // the organization enforces SSO
	ReasonOrgRequired      = "org_required"      // several organizations: name one
	ReasonAccessDenied     = "access_denied"     // not an active member of the organization named
	ReasonNoOrganization   = "no_organization"   // signed in, but no active membership yet
	ReasonCrossOrigin      = "cross_origin"      // a cross-site POST (CSRF)
	ReasonMalformed        = "malformed_request" // unreadable body or wrong content type
	ReasonFeature          = "feature_disabled"  // the organization's plan does not include this method
	ReasonMethodDisabled   = "method_disabled"   // the organization turned this method off
	reasonUnavailableLocal = "unavailable"
)

// FieldError names the request field a refusal is about and how to fix
// it. It is the cause of the *sso.ValidationError that input refusals
// return, so errors.As finds it; the JSON error body shows Field and Fix.
type FieldError struct {
	// Field is the request field ("email", "code", "token", "org").
	Field string
	// Fix tells the user what to do, in one sentence.
	Fix string
	// Err is the sentinel the refusal wraps.
	Err error
}

// Error returns the field and the fix.
func (e *FieldError) Error() string { return fmt.Sprintf("emailcode: %s: %s", e.Field, e.Fix) }

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

// messages are the user-safe texts of the reasons without a FieldError.
var messages = map[string]string{
	ReasonRateLimited:      "Too many attempts; wait a while and try again.",
	ReasonConfirmRequired:  "You opened this link in a different browser from the one that asked for it. Confirm to continue here.",
	ReasonSSORequired:      "Your organization requires single sign-on; use its sign-in button.",
	ReasonAccessDenied:     "You cannot sign in to this organization.",
	ReasonNoOrganization:   "Your address is confirmed, but no organization has added you yet; ask your administrator for an invitation.",
	ReasonFeature:          "Your organization's plan does not include this sign-in option. Sign in another way, or ask your administrator.",
	ReasonMethodDisabled:   "Your organization has turned off sign-in by emailed code or link. Use another way it offers on the sign-in page, or ask your administrator.",
	ReasonCrossOrigin:      "Cross-origin request refused.",
	ReasonMalformed:        "Send a JSON object or a form post with the documented fields.",
	reasonUnavailableLocal: "The service is temporarily unavailable; try again later.",
}

func message(reason string) string {
	if s, ok := messages[reason]; ok {
		return s
	}
	return "Request refused."
}

// The refusals of codes and links. A wrong code, a used one and one of a
// superseded challenge read alike.
var (
	errNoChallenge = refuse(ReasonNoChallenge, "code", "Ask for a new code in this browser.", sso.ErrInvalidInput)
	errCodeInvalid = refuse(ReasonCodeInvalid, "code", "Check the code in the newest email, or ask for a new one.", sso.ErrInvalidInput)
	errCodeExpired = refuse(ReasonCodeExpired, "code", "This code has expired; ask for a new one.", sso.ErrExpired)
	errTooMany     = refuse(ReasonTooManyAttempts, "code", "Too many wrong codes; ask for a new one.", sso.ErrRateLimited)
	errLinkInvalid = refuse(ReasonLinkInvalid, "token", "This link is invalid or was already used; ask for a new one.", sso.ErrInvalidInput)
	errLinkExpired = refuse(ReasonLinkExpired, "token", "This link has expired; ask for a new one.", sso.ErrExpired)
	errConfirm     = deny(ReasonConfirmRequired, sso.ErrForbidden)
	errRateLimited = deny(ReasonRateLimited, sso.ErrRateLimited)
	errCodesSpent  = refuse(ReasonRateLimited, "code", "Too many codes were entered for this address today; "+
		"open the link in the newest email instead, or try a code again tomorrow.", sso.ErrRateLimited)
)
