package mfa

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventSucceeded is recorded when a second factor was verified.
	EventSucceeded = "mfa.succeeded"
	// EventFailed is recorded when a second factor was refused.
	EventFailed = "mfa.failed"
	// EventLockedOut is recorded when too many failures locked verification.
	EventLockedOut = "mfa.locked_out"
	// EventReplayed is recorded when a used TOTP code was presented again.
	EventReplayed = "mfa.replayed"
	// EventRecoveryCodeUsed is recorded when a recovery code was spent.
	EventRecoveryCodeUsed = "mfa.recovery_code_used"
	// EventEnrolled is recorded when a factor was enrolled.
	EventEnrolled = "mfa.enrolled"
	// EventDisabled is recorded when a factor was removed.
	EventDisabled = "mfa.disabled"
)
