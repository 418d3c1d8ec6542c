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
	// EventLost is recorded when a verified domain stopped routing because
	// its DNS record stayed missing past the grace period (beside
	// EventFailed with reason "routing_disabled").
	EventLost = "domain.verification_lost"
	// EventRemoved is recorded when a domain was removed.
	EventRemoved = "domain.removed"
)
