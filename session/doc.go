// Package session provides server-side browser sessions and API tokens for
// ssokit hosts.
//
// A [Manager] issues a session after a successful login (it implements
// [sso.SessionIssuer], so login completion calls it without importing this
// package), loads it on every request, rotates it on privilege changes and
// ends it on logout, timeout, limit or revocation. For APIs it issues JWT
// access tokens (signed with github.com/lestrrat-go/jwx/v2) and opaque,
// single-use, rotating refresh tokens.
//
// # Mounting
//
//	m, err := session.New(session.Config{
//		Store: db, Tokens: db, Revocations: db, // e.g. *sqlstore.Store or *redisstore.Store
//		Events: db, Orgs: db, Memberships: db,
//		SigningKeys: []session.SigningKey{key}, Issuer: "https://app.example.com",
//	})
//	mux.Handle("GET /app/", m.Require(appHandler))
//	mux.Handle("POST /oauth/token", m.TokenHandler(session.TokenHandlerOptions{}))
//	mux.Handle("GET /.well-known/jwks.json", m.JWKSHandler())
//	http.ListenAndServe(addr, m.Load(m.LoadBearer(mux)))
//
// [Manager.Load] and [Manager.LoadBearer] put an [sso.Principal] in the
// request context; [Manager.Require] rejects requests without one (401 JSON,
// or a redirect with [LoginRedirect]); [Manager.RequireOrg] answers 404 for
// resources of another organization and audits the attempt;
// [Manager.RequireRecentAuth] guards sensitive changes.
//
// # Storage
//
// A host backs the Manager with three small interfaces: [Store] (sessions),
// [TokenStore] (refresh-token families) and [RevocationStore] (per-user and
// per-session revocation times for stateless access tokens).
// store/memstore, store/sqlstore (SQLite, PostgreSQL) and store/redisstore
// implement them, and store/storetest is the conformance suite for a host's
// own implementation. With several replicas, a [RevocationBus] carries
// revocations between them: memstore.Bus, sqlnotify.Bus (PostgreSQL
// LISTEN/NOTIFY, under store/sqlstore) and redisstore.Bus (Redis pub/sub).
//
// An authenticated request costs one store read (the token-hash lookup);
// the last-seen time is written at most once per [Config.TouchInterval].
// Per-organization lifetimes ([sso.SessionPolicy]) are read when a session
// or token is issued and stored with it, so the hot path reads nothing else.
//
// # Security notes
//
//   - Session cookies and refresh tokens carry 256 random bits; stores keep
//     only their SHA-256. Malformed values are rejected before any store
//     access, with a bare 401.
//   - Cookies are HttpOnly, Secure with the __Host- prefix, Path=/,
//     SameSite=Lax, without Domain. [Config.AllowInsecureCookie] exists for
//     local development only. A request carrying two cookies of the session
//     name (cookie tossing from a sibling host or a path-scoped cookie) is
//     unauthenticated; logging in or out with it ends every session named.
//   - Every login, MFA step-up ([Manager.ElevateMFA]) and organization switch
//     ([Manager.SwitchOrg]) creates a new session and ends the presented one:
//     no fixation.
//   - A session's roles are copied from the membership its login read
//     ([sso.SessionGrant.Member]). With a [LoginWriter] store the session
//     is written only while that membership is still active with those
//     roles (share-locked on PostgreSQL, so a concurrent suspension waits
//     for the session and its revocation reaches it); a change in between
//     issues the session with the member's current roles or refuses the
//     login ("membership_suspended", "membership_deactivated",
//     [ReasonMembershipRemoved]). The same holds for the member's
//     break-glass flag, and for the organization the login's checks read
//     ([sso.LoginWrites.Org]): enforcement, sign-in methods or an address
//     range changed while a login is under way are checked again before
//     its session exists ("sso_required", "method_disabled",
//     [ReasonNetwork]). With a store that is not a [LoginWriter] (the
//     Redis session store, or a host's own) the Manager reads the
//     organization and the membership again once the session is written,
//     and ends it and applies the same checks when either changed: a
//     change committed after that read ends the session with its own
//     revocation sweep.
//   - Sessions have an idle and an absolute timeout (defaults 30 minutes and
//     24 hours) and a per-user limit in each organization (default 5, the
//     oldest ends first, with [Config.OnSessionEvicted] and a
//     session.limit_exceeded event); one organization's limit never ends
//     sessions in another.
//   - Access tokens live 15 minutes by default (at most [MaxAccessTokenTTL]),
//     have "typ" at+jwt, and are verified only with the key their "kid" names
//     and the algorithm configured for that key (ES256, EdDSA or RS256; the
//     token's "alg" never chooses). Keys rotate without a flag day; see
//     [SigningKey].
//   - Refresh tokens (7 days by default, absolute per family) are single-use:
//     presenting a used one revokes its whole family and records
//     token.refresh_reused (RFC 9700 §4.14.2). Of concurrent presentations
//     exactly one wins atomically in every store; see [Manager.Refresh] for
//     the losers' policy.
//   - Access tokens and refresh-token families are issued to expire no
//     later than their session's absolute expiry.
//   - A refresh-token family lives no longer than the browser session it
//     was issued from: once that session idled out, passed its absolute
//     expiry or is gone from the store, [Manager.Refresh] fails with
//     [ReasonSessionEnded] and ends the session with all its families and
//     access tokens. A successful refresh counts as activity of the
//     session, like a page view, so a client that only uses tokens keeps
//     its session alive while it refreshes within the idle timeout (its
//     access tokens must live shorter than that), never past the absolute
//     expiry. A refresh costs one more store read for this, and a
//     last-seen write at most once per [Config.TouchInterval].
//   - An organization's own action ends only its sessions:
//     [Manager.RevokeOrgSessions] (called by SSO enforcement, SCIM
//     deactivation and the admin API), [Manager.ForceLogout] and
//     [Manager.SyncMembership] end the user's sessions in that organization
//     with the refresh-token families and access tokens bound to them, so
//     the user's sessions and tokens in other organizations keep working.
//     [Manager.RevokeUser] is for actions on the global account (a password
//     reset, the user's own "sign out everywhere", an operator's lock): it
//     ends every session and token family of the user in every
//     organization and revokes all their access tokens. Every revocation (logout, an ended session, a
//     membership change) is announced on [Config.RevocationBus] when one is
//     set, and every replica running [Manager.Run] refuses the tokens as
//     soon as it hears it. Without a bus, or while its channel is down,
//     they stop on every replica within [Config.RevocationCacheTTL] (30 s by
//     default, at most 60 s) or [Config.RevocationFallbackTTL] (5 s by
//     default) respectively; see [RevocationBus].
//   - Verified access tokens are cached by their SHA-256 in a bounded cache
//     that is never used past a token's expiry or its user's revocation.
//   - Authentication facts (method, time, MFA) belong to the organization
//     they were earned in. [Manager.SwitchOrg] checks the target
//     organization's login policy: an organization that enforces SSO admits
//     only a login through its own connection (or its break-glass member's
//     local login), so a switch there fails with [SwitchError] and the host
//     starts that organization's login. Elsewhere the session enters as
//     sso.AuthSwitch, without the other organization's MFA, and
//     [Manager.RequireRecentAuth] does not count its login time.
//   - Roles follow the membership: [Manager.SyncMembership] (called by
//     SCIM, login completion and admin tools after a change) ends the
//     member's sessions in that organization with their token families,
//     and [Manager.Refresh] mints the membership's current roles. When
//     that sync was missed (it failed, or the host's code wrote the
//     membership), [Manager.Reconcile] ends every session its membership
//     no longer admits, sessions kept in Redis included; sso/stack runs
//     it every sweep, over the recently changed memberships, and once an
//     hour over all of them.
//   - IdP-initiated logout ([Manager.EndIdPSessions], called by the saml and
//     oidc logout endpoints) ends the sessions a connection opened for the
//     named subject and session index, never another connection's.
//   - A session never outlives the IdP's bound (SAML SessionNotOnOrAfter,
//     sso.SessionGrant.NotAfter).
package session
