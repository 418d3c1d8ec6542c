// Package admin is the onboarding API an organization's administrators use
// to set up single sign-on: connections (SAML from metadata XML or URL, OIDC
// from issuer discovery or manual endpoints), test logins and activation,
// DNS-verified domains, SSO enforcement, SCIM tokens, sessions and the audit
// trail, and the enterprise controls: the IP allowlist, webhook endpoints
// and SIEM streams with their delivery log and redelivery
// (Config.Webhooks), API clients (Config.Clients) and the token exchange
// audience allowlist. It is a JSON http.Handler serving relative routes.
//
// # Mounting
//
//	h, err := admin.New(admin.Config{
//		Store:       store,
//		Authorize:   func(r *http.Request) (string, sso.Actor, error) { ... },
//		Configurers: map[sso.Protocol]sso.ConnectionConfigurer{saml.Protocol: samlSP, oidc.Protocol: oidcRP},
//		Starters:    map[sso.Protocol]sso.Starter{saml.Protocol: samlSP, oidc.Protocol: oidcRP},
//		Domains:     domains,
//		Enforcer:    enforcer,
//		Auditor:     auditor,
//		Sessions:    sessionManager,
//		// The same policy as the host's other admin pages.
//		RequireAdmin: []func(http.Handler) http.Handler{mfaManager.Require},
//	})
//	mux.Handle("/admin/sso/", http.StripPrefix("/admin/sso", h))
//
// The routes are listed in the "Admin API" section of the repository's
// README.
//
// # Errors
//
// An error answers {"error": reason, "message": text}: reason is stable
// (sso.ReasonOf), text never carries internal error text. Bad input in a
// named field adds "field" (an *InputError; for the protocol's settings
// "config.<setting>", such as "config.acs_url" with reason
// "invalid_acs_url", or "config" when no one setting is at fault, with the
// protocol's description in "detail"). A fault of the
// identity provider while configuring a connection (unreachable, 5xx,
// timeout, a garbage, oversized or mismatched document) answers 502 with
// reason "idp_unavailable" or "idp_document_invalid", "field": "config" and
// the upstream cause in "detail" (an *UpstreamError), never a 500.
//
// A connection created without "config" is a draft without IdP settings:
// its "sp" values (entity ID, ACS URL, redirect URI) exist at once, to be
// copied into the IdP before its metadata is known; a test login of it
// answers 409 "not_configured". SCIM tokens carry a "status" ("current",
// "old" for the token a rotation replaced, valid until "expires_at",
// "expired", "revoked"), and a rotation's answer names "rotated_from".
//
// # Security notes
//
// The host's Authorize hook decides who is an administrator and of which
// organization; every route is confined to that organization. Records of
// another organization answer 404, exactly like records that do not exist,
// and the attempt is audited as authz.cross_tenant_denied. Request bodies
// are bounded (Config.MaxBodyBytes), JSON is decoded strictly (unknown
// fields and trailing data are refused) and errors never reveal internal
// error text. Sealed secrets are never returned; a SCIM token's plaintext
// is returned once, in the response that creates it. The API performs no
// CSRF protection of its own: mount it behind the host's CSRF middleware
// or require a non-cookie credential in Authorize. Config.RequireAdmin puts
// every tenant-admin request under the host's MFA and recent-authentication
// policy, so the API is never a way around the policy of the host's pages.
// A role change (PUT /members/{user}/roles) ends the member's sessions in
// the organization through Config.Sync, like a SCIM demotion. The owner
// role is granted or taken only by an owner or the host's staff
// (sso.ActorOperator), by every route that gives roles (a member's roles,
// an invitation, a connection's group mapping; auto-join never gives it):
// otherwise an administrator could make themselves an owner, take the role
// from the owner and then suspend them.
//
// Every route acting on sessions ends them in the caller's organization
// only: a suspension, removal or role change (Config.Sync), SSO
// enforcement with revoke_sessions (Config.Enforcer), DELETE
// /sessions/{id}, and PATCH /org with "end_sessions": true, which ends the
// sessions of the sign-in methods the organization no longer allows
// (break-glass members keep their password sessions) and answers how many
// in "ended_sessions". A member's sessions in their other organizations
// keep working.
//
// # Events in the same transaction
//
// A change of a connection (created, updated, activated, disabled,
// deleted, security_weakened), a SCIM token, a member's roles, status or
// membership (and an ownership transfer), a webhook endpoint or SIEM
// stream, the token exchange audiences, and through Config.Domains and Config.Enforcer a domain, the IP
// allowlist or SSO enforcement, is stored with its audit events in one
// transaction when the store is an audit.EventBinder (store/sqlstore and
// store/memstore are; the webhook store likewise when it is a
// webhook.EventBinder): the events are the outbox webhooks and SIEM
// streams read, so they never miss a change nor announce one that failed.
// A refused event makes the request fail with a server error and leaves
// the change unstored. With a host store without the capability the change
// is written first and its events after it, so a crash between the two
// loses the events.
package admin
