package mfa

import (
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Protocol is the sso.Protocol value of mfa's *sso.ValidationError values.
const Protocol sso.Protocol = "mfa"

// Stable reasons of the *sso.ValidationError values mfa returns. Tests,
// audit events and API clients match on them.
const (
	ReasonCodeMalformed      = "code_malformed"       // not exactly 6 ASCII digits
	ReasonCodeInvalid        = "code_invalid"         // well-formed TOTP code that does not match
	ReasonCodeReplayed       = "code_replayed"        // code of a step already accepted
	ReasonLockedOut          = "locked_out"           // too many failures; wraps *LockoutError
	ReasonNotEnrolled        = "not_enrolled"         // no active factor of that kind
	ReasonAlreadyEnrolled    = "already_enrolled"     // TOTP already active; disable first
	ReasonNoPendingEnrolment = "no_pending_enrolment" // confirm without a started enrolment
	ReasonEnrolmentReplaced  = "enrolment_replaced"   // confirm of an enrolment a newer one replaced
	ReasonRecoveryMalformed  = "recovery_code_malformed"
	ReasonRecoveryInvalid    = "recovery_code_invalid" // unknown or already used
	ReasonWebAuthnInvalid    = "webauthn_invalid"      // the library rejected the response
	ReasonWebAuthnMalformed  = "webauthn_malformed"    // unparsable response
	ReasonCounterRegression  = "webauthn_counter_regression"
	ReasonCeremonyInvalid    = "webauthn_ceremony_invalid" // unknown, expired, used or foreign ceremony
	ReasonWebAuthnDisabled   = "webauthn_disabled"         // Config.WebAuthn is nil
)

// Error codes of the JSON error bodies (`{"error": code}`) that Require,
// StepUp and the handlers write. They are stable API.
const (
	CodeEnrollmentRequired   = "mfa_enrollment_required"
	CodeVerificationRequired = "mfa_verification_required"
	CodeStepUpRequired       = "mfa_step_up_required"
	CodeUnauthenticated      = "unauthenticated"
	// CodeReverificationRequired (403) answers a factor-management request
	// (disable, enrol another factor, regenerate recovery codes) from a
	// session that has not verified one of the user's existing factors
	// locally within Config.RecentMFA: verify one (POST /verify, /recovery
	// or a WebAuthn login) and retry.
	CodeReverificationRequired = "mfa_reverification_required"
	// CodeReauthenticationRequired (401) answers a first-factor enrolment
	// from a session without a recent login of its own in this organization
	// (older than Config.RecentLogin, or entered by an organization switch),
	// and every factor-management request from an access token: sign in
	// again interactively. It is the code session.RequireRecentAuth uses.
	CodeReauthenticationRequired = "reauthentication_required"
)

// ErrStepUpRequired reports an operation that needs a second factor checked
// more recently than the session's (or at all). It wraps sso.ErrForbidden.
var ErrStepUpRequired = fmt.Errorf("mfa: recent second factor required: %w", sso.ErrForbidden)

// ErrReverificationRequired reports a factor-management operation from a
// session that has not verified an existing factor of the user locally
// (TOTP, WebAuthn or a recovery code, recorded by Config.Elevator) within
// Config.RecentMFA. An MFA asserted by an IdP, or carried across an
// organization switch, never counts. It wraps ErrStepUpRequired (and so
// sso.ErrForbidden); handlers answer CodeReverificationRequired.
var ErrReverificationRequired = fmt.Errorf("mfa: fresh local verification of an existing factor required: %w", ErrStepUpRequired)

// ErrReauthenticationRequired reports a first-factor enrolment from a
// session whose login is older than Config.RecentLogin or that entered its
// organization by a switch (sso.AuthSwitch), or any factor-management
// operation from a principal that is not an interactive session. It wraps
// sso.ErrForbidden; handlers answer CodeReauthenticationRequired.
var ErrReauthenticationRequired = fmt.Errorf("mfa: recent login in this organization required: %w", sso.ErrForbidden)

// LockoutError reports that the user's second-factor attempts are locked
// until Until because of repeated failures. It wraps sso.ErrRateLimited.
type LockoutError struct {
	Until time.Time
}

// Error returns a message with the lock's end.
func (e *LockoutError) Error() string {
	return "mfa: too many failed attempts, locked until " + e.Until.UTC().Format(time.RFC3339)
}

// Unwrap returns sso.ErrRateLimited.
func (e *LockoutError) Unwrap() error { return sso.ErrRateLimited }

func invalid(reason string, cause error) *sso.ValidationError {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: cause}
}

// lockout returns the ValidationError for a lock until until.
func lockout(until time.Time) error {
	return invalid(ReasonLockedOut, &LockoutError{Until: until})
}

// reasonOf is sso.ReasonOf.
func reasonOf(err error) string { return sso.ReasonOf(err) }

// isValidation reports whether err is a rejection of the user's input (as
// opposed to an internal failure).
func isValidation(err error) bool {
	var ve *sso.ValidationError
	return errors.As(err, &ve)
}
