package invite

import (
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// Protocol is the sso.Protocol value of this package's *sso.ValidationError
// values.
const Protocol sso.Protocol = "invite"

// Audit event types recorded by this package.
const (
	EventInvited           = "invitation.created"
	EventResent            = "invitation.resent"
	EventRevoked           = "invitation.revoked"
	EventAccepted          = "invitation.accepted"
	EventAcceptRefused     = "invitation.accept_refused"
	EventAutoJoined        = "membership.auto_joined"
	EventJoinRequested     = "join_request.created"
	EventJoinApproved      = "join_request.approved"
	EventJoinDenied        = "join_request.denied"
	EventAutoJoinPolicySet = "auto_join.updated"
)

// Stable reasons of the refusals this package returns.
const (
	ReasonEmailInvalid    = "email_invalid"     // not an email address
	ReasonAlreadyMember   = "already_member"    // the address is an active member
	ReasonAlreadyInvited  = "already_invited"   // a pending invitation exists
	ReasonNotPending      = "not_pending"       // accepted or revoked already
	ReasonTokenInvalid    = "token_invalid"     // unknown, used, resent or revoked
	ReasonTokenExpired    = "token_expired"     // past its lifetime
	ReasonWrongAccount    = "wrong_account"     // signed in with another address than the invited one
	ReasonSignInRequired  = "sign_in_required"  // the invited address has an account: sign in as it first
	ReasonModeInvalid     = "mode_invalid"      // not off, join or approval
	ReasonDomainUnverifed = "domain_unverified" // auto-join needs a verified domain of the organization
)

// ReasonMembershipInactive refuses an invitation into an organization
// that suspended (or deactivated) the invited user's membership: an
// invitation cannot restore it, an admin must.
const ReasonMembershipInactive = "membership_inactive"

// FieldError names the request field a refusal is about and how to fix
// it; the JSON error body shows Field and Fix.
type FieldError struct {
	Field string
	Fix   string
	Err   error
}

// Error returns the field and the fix.
func (e *FieldError) Error() string { return fmt.Sprintf("invite: %s: %s", e.Field, e.Fix) }

// Unwrap returns the wrapped sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

func refuse(reason, field, fix string, sentinel error) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: &FieldError{Field: field, Fix: fix, Err: sentinel}}
}

func deny(reason string, sentinel error) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Err: sentinel}
}
