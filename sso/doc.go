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
// # Tenancy
//
// On top of the types, sso implements what every protocol shares:
//
//   - [Discovery]: home-realm discovery from an email (or an org slug, or a
//     host resolver) to the organization's active connection, with the
//     same response for every non-SSO case (no tenant enumeration) and a
//     per-IP rate limit;
//   - [Domains]: adding domains (public suffixes, IPs, public and disposable
//     mail domains refused), DNS TXT verification and periodic
//     re-verification;
//   - [LoginCompleter]: the [Completer] that matches identities by
//     (organization, issuer, subject), links by verified-domain email, JIT
//     provisions, maps groups to roles and issues the session;
//   - [Enforcer]: per-organization SSO enforcement with break-glass admins;
//   - [Auditor]: the hash-chained audit trail with query, export and
//     verification.
//
// The admin onboarding API is in the sub-package sso/admin, and a
// development IdP for tests and demos in sso/ssotest.
//
// # Storage
//
// Each capability has its own interface ([OrgStore], [DomainStore],
// [ConnectionStore], [UserStore], [MembershipStore], [IdentityStore],
// [Provisioner], [EventStore], [SCIMTokenStore]); [Store] bundles them.
// store/memstore and store/sqlstore implement them and store/storetest is the
// conformance suite every implementation, including a host's own, runs.
//
// # Observability and federation health
//
// [Discovery], [LoginCompleter] and [Domains] emit OpenTelemetry spans
// (and the discovery rate-limit counter) through the TracerProvider and
// MeterProvider of their configs; nil means the global providers, which are
// no-ops until the host installs an SDK. Attributes are IDs, protocols,
// outcomes and stable reasons only, never emails, tokens or assertions.
//
// [HealthChecker] checks every active connection's IdP (SAML metadata URL,
// OIDC discovery and JWKS, through the [HealthProber] the saml and oidc
// packages implement), stores the result through a [HealthStore], and
// records [EventConnectionUnhealthy], [EventConnectionRecovered] and
// [EventCertificateExpiring] (30 and 7 days before expiry) once per
// transition. Run it on every replica: a per-connection claim makes one
// replica check each connection per interval. sso/admin serves the results
// at GET /connections/{id}/health.
//
// # Security notes
//
// Domain names are normalized in one place, [NormalizeDomain]. Secrets that
// must be read back are sealed with a [Sealer] ([Keyring] is AES-256-GCM with
// key IDs for rotation); bearer secrets are stored only as [HashToken]
// hashes. Post-login redirects go only to paths accepted by [IsSafeReturnTo].
package sso
