// Package stack is ssokit's composition root: it wires every component (SAML
// SP, OIDC RP, home-realm discovery, SCIM, sessions, MFA, the admin API, audit,
// domain verification, SSO enforcement and federation health) from one
// [Config], with one shared runtime (logger, clock, OpenTelemetry providers,
// trusted-proxy rule, error rendering).
//
// It only wires: every component keeps its own constructor and stays usable
// alone, and the [Stack] exposes each one as a field for the calls a host
// makes directly (Sessions.Logout, Domains.Verify, ...).
//
// # Mounting
//
//	st, err := stack.New(ctx, stack.Config{
//		Store:     db,              // *sqlstore.Store or *memstore.Store: it implements [Store]
//		SAMLStore: sqlsaml.New(db), // each protocol's state, on the same database
//		OIDCStore: sqloidc.New(db),
//		SCIMStore: sqlscim.New(db),
//		MFAStore:  sqlmfa.New(db),
//		BaseURL:   base,
//		SealKeyID: "k1", SealKeys: map[string][]byte{"k1": key32},
//		LocalLoginURL: "/password-login",
//		Authorize: authorizeAdmin,
//		MFA:       &stack.MFAConfig{Issuer: "Example"},
//	})
//	mux := http.NewServeMux()
//	st.Mount(mux)                           // the routes below
//	mux.Handle("/app/", st.Require(app))    // sso.PrincipalFrom(r.Context()) inside
//	go st.Run(ctx)                          // all background work
//	http.ListenAndServe(addr, st.Middleware(mux))
//
// [Stack.Handler] serves these fixed prefixes, relative to the path of
// [Config.BaseURL] (shown for a BaseURL without a path):
//
//	/sso/saml/              SAML: metadata, login, ACS, SLO            (saml.SP)
//	/sso/oidc/              OIDC: login, callback, back-channel logout (oidc.RP)
//	/sso/                   discovery: GET|POST /sso/login             (discovery.Handler)
//	/scim/v2/               SCIM 2.0                                   (scim.Handler)
//	/mfa/                   MFA JSON API, when Config.MFA is set       (mfa.Manager)
//	/admin/sso/             admin API, when Config.Authorize is set    (admin.Handler)
//	/auth/password/         password tier, when Config.Password is set (password.Manager)
//	/auth/email/            email code and magic link, with EmailCode  (emailcode.Manager)
//	/invite/                invitation accept page, with Invites       (invite.Manager)
//	/auth/social/           Google, Microsoft, GitHub, with Social     (social.Manager)
//	/auth/passkey/          passkey sign-in and management, with Passkeys (passkey.Manager)
//	/api/account/           the user's own organizations, with Account (admin.Account)
//	/oauth/token            token endpoint, when SigningKeys are set   (session.Manager)
//	/.well-known/jwks.json  access-token keys, when SigningKeys are set
//	Config.SAMLExtraACSPaths  connections' own (legacy) ACS, SLO and metadata URLs (saml.SP)
//
// The MFA, admin and sign-in routes load the session themselves when
// [Stack.Middleware] did not already run.
//
// # Background work
//
// [Stack.Run] runs SAML metadata refresh and certificate warnings, domain
// re-verification, federation health checks, audit-chain sealing, the
// revocation listener (with Config.RevocationBus), the sweeps of expired
// sessions, token families and OIDC flows, and the end of sessions whose
// membership no longer admits them (a role lost or a suspension that no sync
// reached) until its context ends. A failing
// loop is logged and the others go on. It is safe to run on every replica.
//
// # Security notes
//
// The zero value of every switch is the secure one. [Dev] groups the
// switches that MUST only be set for local development (plain-HTTP cookies
// and IdP URLs, IdPs on private addresses). [Config.ClientIP] is the one
// trusted-proxy rule and reaches every component that records or rate-limits
// by client address; leave it nil unless a proxy you control sets the header
// you read.
package stack
