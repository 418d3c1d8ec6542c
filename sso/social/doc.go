// Package social is social sign-in: Google, Microsoft (personal, work and
// school accounts) and GitHub as connections that belong to no
// organization.
//
// # Wiring
//
// A [Manager] needs the providers (built with [Google], [Microsoft] and
// [GitHub]), a [Store] (store/memstore/memsocial or store/sqlstore/sqlsocial;
// socialtest.Run proves others), the core user, organization and
// membership stores, a session issuer (session.Manager), the SSO
// enforcement policy (policy.Enforcer), an audit recorder, a sealer for the
// flow cookie and, to let newcomers in, an [Admission] (invitations and
// verified-domain auto-join):
//
//	sm, err := social.New(social.Config{
//		BaseURL:   mustParse("https://app.acme.example/auth/social/"),
//		Providers: []social.Provider{social.Google(id, secret), social.Microsoft("common", id2, secret2, ""), social.GitHub(id3, secret3)},
//		Store: sqlsocial.New(st), Users: st, Orgs: st, Members: st,
//		Sessions: sessions, Enforcer: enforcer, Admission: invitations, Auditor: trail, Sealer: keys,
//	})
//	mux.Handle("/auth/social/", sessions.Load(http.StripPrefix("/auth/social", sm)))
//
// A login page links to /auth/social/{provider}/start (?return_to=, ?org=);
// an account settings page posts a form to /auth/social/{provider}/link
// (return_to=) to link a provider account to the signed-in user
// ([Manager.StartLink]). Register BaseURL + "{provider}/callback" as the
// redirect URI.
//
// # Security
//
//   - Flows: state, PKCE S256 and (OIDC) a nonce, sealed into a
//     browser-bound SameSite=Lax cookie that the callback consumes; nothing
//     is stored server-side, so a flow may finish on another replica.
//   - ID tokens: go-oidc verifies signature, algorithm, audience and expiry;
//     the issuer is exact, or for Microsoft's multi-tenant endpoints the
//     template filled with the token's own tid, which must fit the
//     configured tenant; the RFC 9207 iss parameter is checked when present.
//   - Emails: Google's counts when email_verified is true and Google hosts
//     the address (Gmail, or a Workspace account's, which carries hd),
//     Microsoft's only with the xms_edov claim, GitHub's only when it is
//     the primary address and verified. An identity is keyed by the
//     provider's subject; a new one links to an existing user only by an
//     equal verified email on both sides, and an unverified email never
//     links or creates an account.
//   - GitHub verifies an address once, when it is added, and the account
//     keeps it after its holder has lost the mailbox
//     ([Provider.EmailVerifiedOnce]): a GitHub account links, creates and
//     joins nothing by its email (link_required). The user links it from
//     a session of their own whose local login is recent
//     ([Manager.StartLink]; not a session an organization's IdP made), and
//     the callback must return to that same session.
//   - Organizations: a social sign-in reaches an organization only as an
//     active member or through [Admission]; it never joins an organization
//     that enforces SSO, and a member of one (break-glass excepted) is sent
//     to its SSO ([SSORequiredError]). The plan must include [Feature]
//     (feature_disabled) and the organization must allow social sign-in
//     (sso.Organization.SignInVerdict; method_disabled). Each sign-in is
//     an "sso.signin" span counted in ssokit.login.attempts with the
//     method.
//     Sessions carry Method "social" and MFA false, so the organization's
//     MFA and session policies apply; every outcome is an audit event naming
//     the method and provider.
package social
