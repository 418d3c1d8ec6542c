package webhook

import "slices"

// EventEndpointDisabled is recorded when a Dispatcher disables an endpoint
// that kept failing.
const EventEndpointDisabled = "webhook.endpoint_disabled"

// HostEventTypes are the event types a host may act on, and what a webhook
// endpoint without EventTypes receives: provisioning and directory changes,
// membership and role changes, connection and domain lifecycle, certificate
// and federation health, and organization policy changes. Login and session
// events are left out (their volume belongs in a SIEM stream), but an
// endpoint may list them explicitly.
var HostEventTypes = []string{
	"scim.user_created", "scim.user_updated", "scim.user_deactivated", "scim.user_reactivated",
	"scim.user_deleted", "scim.group_changed", "scim.adoption_refused", "scim.token_created", "scim.token_revoked",
	"scim.sync_failed",
	"user.jit_provisioned", "user.signed_up", "user.email_verified",
	"identity.linked", "identity.remapped",
	"membership.roles_changed", "membership.moved",
	"connection.created", "connection.updated", "connection.activated", "connection.disabled",
	"connection.deleted", "connection.unhealthy", "connection.recovered",
	"connection.certificate_expiring", "connection.expired_certificate_used", "connection.security_weakened",
	"domain.added", "domain.verified", "domain.verification_failed", "domain.recheck_missed",
	"domain.verification_lost", "domain.removed", "domain.transferred",
	"org.sso_enforcement_changed", "org.directory_sync_enabled", "org.network_policy_changed", "org.merged",
	"token.refresh_reused", "login.failure_burst",
	"api_client.created", "api_client.updated", "api_client.secret_rotated", "api_client.disabled", "api_client.deleted",
	EventEndpointDisabled,
}

// wants reports whether endpoint e takes events of type t.
func (e *Endpoint) wants(t string) bool {
	if len(e.EventTypes) > 0 {
		return slices.Contains(e.EventTypes, t)
	}
	return e.Kind == KindSIEM || slices.Contains(HostEventTypes, t)
}
