package sso

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/ssokit/ssokit/internal/normalize"
)

// Sentinel errors. Stores and components may wrap them; callers match with
// errors.Is, never with ==.
var (
	// ErrNotFound reports that a looked-up record does not exist (or belongs to
	// another organization, which callers must not be able to tell apart).
	ErrNotFound = errors.New("sso: not found")
	// ErrConflict reports a uniqueness violation: a duplicate ID, slug, verified
	// domain, identity or similar.
	ErrConflict = errors.New("sso: conflict")
	// ErrInvalidConfig reports a configuration rejected at construction time.
	ErrInvalidConfig = errors.New("sso: invalid configuration")
	// ErrInvalidInput reports a malformed or out-of-range argument.
	ErrInvalidInput = normalize.ErrInvalidInput
	// ErrExpired reports that a token, state or record has expired.
	ErrExpired = errors.New("sso: expired")
	// ErrRateLimited reports that a caller exceeded a rate limit.
	ErrRateLimited = errors.New("sso: rate limited")
	// ErrForbidden reports that the actor may not perform the operation.
	ErrForbidden = errors.New("sso: forbidden")
	// ErrSSORequired reports that an organization enforces SSO and the user may
	// not sign in locally.
	ErrSSORequired = errors.New("sso: single sign-on required")
	// ErrNotProvisioned reports that the user is not provisioned for the
	// organization and may not be created by JIT provisioning.
	ErrNotProvisioned = errors.New("sso: not provisioned for this organization")
	// ErrMembershipChanged reports that a login's session was not written
	// because the membership it was granted from was suspended, removed or
	// given other roles meanwhile (LoginWrites.Member). It wraps
	// ErrConflict; session.Manager then issues the session with the
	// membership as it is now, or refuses the login.
	ErrMembershipChanged = fmt.Errorf("%w: the membership changed during the login", ErrConflict)
	// ErrAccessDenied reports that a login was refused by policy (suspended or
	// deactivated membership, disabled connection, email outside the verified
	// domains, feature not enabled).
	ErrAccessDenied = errors.New("sso: access denied")
	// ErrUnavailable reports that a backing service (database, IdP) could not
	// be reached. Handlers answer it with 503.
	ErrUnavailable = errors.New("sso: service unavailable")
)

// ValidationError is a rejected protocol message: a SAML response, an OIDC
// ID token or callback, a SCIM request. Reason is a stable machine-readable
// code (for example "audience_mismatch", "signature_invalid", "replayed",
// "expired") used by tests, audit events and metrics. Want and Got carry
// admin-facing detail for test-login diagnostics; they never reach an end
// user's browser. Err holds the private cause.
type ValidationError struct {
	Protocol Protocol
	Reason   string
	Want     string
	Got      string
	Err      error
}

// Error returns a message safe to show to the end user: it names the reason
// and nothing else.
func (e *ValidationError) Error() string {
	p := string(e.Protocol)
	if p == "" {
		p = "sso"
	}
	return fmt.Sprintf("%s: validation failed: %s", p, e.Reason)
}

// Unwrap returns the private cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// Detail returns the admin-facing description: the reason with want/got and
// the private cause. Use it in test-login diagnostics and logs, never in a
// browser response.
func (e *ValidationError) Detail() string {
	s := e.Reason
	if e.Want != "" || e.Got != "" {
		s += fmt.Sprintf(": want %q, got %q", e.Want, e.Got)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// LogValue implements slog.LogValuer. It logs the reason and the cause but
// not Got, which may carry attacker-controlled or personal data.
func (e *ValidationError) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("protocol", string(e.Protocol)), slog.String("reason", e.Reason)}
	if e.Err != nil {
		attrs = append(attrs, slog.String("cause", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

// ReasonOf returns the stable reason of err: the Reason of a wrapped
// *ValidationError, a fixed code for the sentinels, or "internal".
func ReasonOf(err error) string {
	var ve *ValidationError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ve):
		return ve.Reason
	case errors.Is(err, ErrNotProvisioned):
		return "not_provisioned"
	case errors.Is(err, ErrAccessDenied):
		return "access_denied"
	case errors.Is(err, ErrSSORequired):
		return "sso_required"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrForbidden):
		return "forbidden"
	case errors.Is(err, ErrInvalidInput):
		return "invalid_input"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	}
	return "internal"
}

// FieldError is bad input that names its field and how to fix it. It
// wraps ErrInvalidInput, so HTTP handlers answer 400 and may show Field
// and Message to the person who typed the value.
type FieldError struct {
	// Field is the input's name as the API spells it, with an index for
	// list entries ("network.allowed_cidrs[2]").
	Field string
	// Reason is a stable code ("invalid_cidr").
	Reason string
	// Message says what is wrong and what to do, in plain words.
	Message string
}

// Error returns the field and the message.
func (e *FieldError) Error() string { return "sso: invalid " + e.Field + ": " + e.Message }

// Unwrap returns ErrInvalidInput.
func (e *FieldError) Unwrap() error { return ErrInvalidInput }
