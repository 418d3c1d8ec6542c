package session

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventRefreshReused is recorded when a used refresh token was presented again and its family revoked.
	EventRefreshReused = "token.refresh_reused"
	// EventLimitExceeded is recorded when a new session ended the user's oldest ones.
	EventLimitExceeded = "session.limit_exceeded"
)
