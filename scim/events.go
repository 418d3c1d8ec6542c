package scim

// Audit event types recorded by this package, besides those of package
// sso.
const (
	// EventUserCreated is recorded when the directory created a user.
	EventUserCreated = "scim.user_created"
	// EventUserUpdated is recorded when the directory changed a user.
	EventUserUpdated = "scim.user_updated"
	// EventUserDeactivated is recorded when the directory deactivated a user.
	EventUserDeactivated = "scim.user_deactivated"
	// EventUserReactivated is recorded when the directory reactivated a user.
	EventUserReactivated = "scim.user_reactivated"
	// EventGroupChanged is recorded when the directory changed a group.
	EventGroupChanged = "scim.group_changed"
)
