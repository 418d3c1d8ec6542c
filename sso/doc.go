// Package sso is the core of ssokit: the domain types (Organization, Domain,
// Connection, User, Membership, Identity, Group, Profile, Event), the
// sentinel and typed errors, the storage interfaces the core needs, and the
// small interfaces through which the protocol packages plug in.
//
// # Dependency rule
//
// sso imports only the standard library, golang.org/x packages and the
// OpenTelemetry API (never its SDK). The protocol packages (saml, oidc, scim,
// session, mfa) import sso and never each other; sso reaches them only
// through interfaces it declares:
//
//   - [Starter] begins a login at a connection's IdP (saml and oidc meet it);
//   - [Completer] receives a verified [Profile] and finishes the login;
//   - [SessionIssuer] and [SessionRevoker] issue and end sessions
//     (session.Manager meets both).
//
// # Services
//
// The services every protocol shares live in sub-packages that import only
// sso and internal packages, never each other:
//
//   - sso/discovery: home-realm discovery from an email (or an org slug, or
//     a host resolver) to the organization's active connection, with the
//     same response for every non-SSO case (no tenant enumeration) and a
//     per-IP rate limit;
//   - sso/domains: adding domains (public suffixes, IPs, public and
//     disposable mail domains refused), DNS TXT verification and periodic
//     re-verification;
//   - sso/login: the [Completer] that matches identities by (organization,
//     issuer, subject), links by verified-domain email, JIT provisions, maps
//     groups to roles and issues the session;
//   - sso/policy: per-organization SSO enforcement with break-glass admins,
//     and organization merges;
//   - sso/audit: the hash-chained audit trail with query, export and
//     verification (every component writes through an [EventRecorder]);
//   - sso/health: federation health checks through the [HealthProber] the
//     saml and oidc packages implement.
//
// sso/admin is the JSON onboarding API on top of them, sso/stack wires
// every component from one configuration, and sso/ssotest is a development
// IdP for tests and demos.
//
// # Storage
//
// Each capability has its own interface ([OrgStore], [DomainStore],
// [ConnectionStore], [UserStore], [MembershipStore], [IdentityStore],
// [Provisioner], [EventStore], [SCIMTokenStore]); [Store] bundles them.
// store/memstore and store/sqlstore implement them and store/storetest is the
// conformance suite every implementation, including a host's own, runs.
//
// # Security notes
//
// Domain names are normalized in one place, [normalize.Domain]. Secrets that
// must be read back are sealed with a [Sealer] ([keyring.Keyring] is AES-256-GCM with
// key IDs for rotation); bearer secrets are stored only as [opaque.Hash]
// hashes. Post-login redirects go only to paths accepted by [returnto.IsSafe].
package sso
