package health

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventConnectionUnhealthy is recorded when a connection's IdP stopped answering or validating.
	EventConnectionUnhealthy = "connection.unhealthy"
)
