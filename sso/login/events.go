package login

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventJITProvisioned is recorded when a login created the user and membership just in time.
	EventJITProvisioned = "user.jit_provisioned"
	// EventIdentityLinked is recorded when a login linked a new identity to an existing member by verified email.
	EventIdentityLinked = "identity.linked"
	// EventConnectionTested is recorded when an admin finished a test login through a connection.
	EventConnectionTested = "connection.tested"
)
