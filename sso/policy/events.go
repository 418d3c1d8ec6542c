package policy

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventEnforcementChanged is recorded when SSO enforcement was turned on or off.
	EventEnforcementChanged = "org.sso_enforcement_changed"
)
