package domains

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventAdded is recorded when a domain was added, pending verification.
	EventAdded = "domain.added"
	// EventVerified is recorded when a domain's DNS TXT record was found.
	EventVerified = "domain.verified"
	// EventFailed is recorded when a verification attempt failed.
	EventFailed = "domain.verification_failed"
	// EventRemoved is recorded when a domain was removed.
	EventRemoved = "domain.removed"
)
