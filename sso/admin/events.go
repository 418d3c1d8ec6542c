package admin

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventConnectionCreated is recorded when a connection was created.
	EventConnectionCreated = "connection.created"
	// EventConnectionUpdated is recorded when a connection's configuration changed.
	EventConnectionUpdated = "connection.updated"
	// EventConnectionSecurityWeakened is recorded when a create or update
	// turned on policy switches that lower a connection's security (see
	// SecurityWeakener), with the detail "weakened": their names,
	// comma-separated. The portal records the same type.
	EventConnectionSecurityWeakened = "connection.security_weakened"
	// EventConnectionActivated is recorded when a connection started accepting logins.
	EventConnectionActivated = "connection.activated"
	// EventConnectionDisabled is recorded when a connection stopped accepting logins.
	EventConnectionDisabled = "connection.disabled"
	// EventConnectionDeleted is recorded when a connection was deleted.
	EventConnectionDeleted = "connection.deleted"
	// EventConnectionsImported is recorded once per import that wrote
	// something (POST /connections/import), besides one
	// EventConnectionCreated or EventConnectionUpdated per connection it
	// wrote, with the detail "import": "true".
	EventConnectionsImported = "connections.imported"
	// EventSCIMTokenCreated is recorded when a SCIM token was issued or rotated.
	EventSCIMTokenCreated = "scim.token_created"
	// EventSCIMTokenRevoked is recorded when a SCIM token was revoked.
	EventSCIMTokenRevoked = "scim.token_revoked"
	// EventDirectorySyncEnabled is recorded when directory sync was turned on or off.
	EventDirectorySyncEnabled = "org.directory_sync_enabled"
)
