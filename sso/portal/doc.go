// Package portal is the admin portal: HTML pages in which an organization's
// IT admin sets up single sign-on, verified domains and directory sync
// alone, and reads the audit trail.
//
// There are two ways in. Mounted behind the host's own admin
// authentication, Config.Authorize names the organization and the admin (as
// sso/admin's Config.Authorize does). Through a setup link, the host (or
// its support staff) issues a signed, expiring link scoped to one
// organization and chosen sections for an IT admin who has no account;
// opening it starts a portal session bound to that scope, and revoking the
// link ends its sessions.
//
// The pages act through the JSON admin API (package sso/admin), so the
// portal and the API share every rule, error and audit event. Every state
// change carries a synchronizer token bound to the portal session, create
// forms carry an idempotency token (a double click creates one record),
// and destructive or weakening actions go through a confirmation page. The
// pages need no JavaScript and send a strict Content-Security-Policy.
//
// Besides the guided setup, the single sign-on section holds each
// connection's advanced settings (its own SP entity ID, ACS URL or redirect
// URI when moving from another provider, multi-factor requests, certificate
// and metadata checks, Entra group lookups) with the admin API's warnings,
// the import of connections (a dry-run plan per row, then a confirmation)
// and the organization's allowed networks (IP allowlist).
package portal
