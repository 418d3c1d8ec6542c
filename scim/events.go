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
	// EventUserDeleted is recorded when the directory deleted a user
	// (after EventUserDeactivated when the user was active).
	EventUserDeleted = "scim.user_deleted"
	// EventSyncFailed is recorded for the first failed directory request
	// of an organization in each SyncFailureWindow (a missing resource,
	// 404, is not a failure of the sync). Its details name the status,
	// reason, method and route; the sync status lists the others.
	EventSyncFailed = "scim.sync_failed"
)
