// Package oidc is the OpenID Connect relying party of ssokit: one
// [RP] serves logins for every OIDC connection of every organization, each
// against the organization's own IdP (Okta, Microsoft Entra ID, Google
// Workspace, Keycloak, Auth0, ...), and hands a verified [sso.Profile] to
// the host's [sso.Completer].
//
// It uses golang.org/x/oauth2 for the code exchange and PKCE, and verifies
// ID tokens itself: each token is parsed once, its signature checked over
// the exact signing input with crypto/rsa, crypto/ecdsa or crypto/ed25519
// and the connection's cached keys, and its claims decoded once for every
// check of OIDC Core 3.1.3.7.
//
// # Mounting
//
//	rp, err := oidc.New(oidc.Config{
//		BaseURL:     must(url.Parse("https://app.example.com/sso/oidc/")),
//		Completer:   flow,            // sso login completion
//		Store:       sqloidc.New(st), // oidc.Store: sqloidc or memoidc on the core store
//		Connections: st,              // sso.ConnectionStore
//		Sealer:      keyring,         // *keyring.Keyring
//	})
//	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))
//
// Routes (relative to the mount point):
//
//	GET  /login/{connection}                start a login (?return_to=, ?login_hint=)
//	GET  /callback/{connection}             redirect URI, one per connection
//	POST /backchannel-logout/{connection}   OIDC Back-Channel Logout 1.0
//	GET  /frontchannel-logout/{connection}  OIDC Front-Channel Logout 1.0 (?iss=&sid=)
//	GET  any other path with ?state=        a connection's own RedirectURI
//
// A connection may keep the redirect URI already registered at the IdP
// (ConnectionConfig.RedirectURI, e.g. when moving from another vendor):
// it is sent in the authorization and token requests, the host routes its
// path to the same handler, and the flow named by state (whose redirect
// URI must end with the request path) says which connection it is.
//
// [RP.ServeLogin], [RP.ServeCallback], [RP.ServeBackChannelLogout] and
// [RP.ServeFrontChannelLogout] serve them for routers that cannot mount a
// sub-handler. [RP.LogoutURL] builds the RP-initiated logout redirect
// (end_session_endpoint with id_token_hint, client_id, the connection's
// post_logout_redirect_uri and state); [IDToken] gives the completer the
// login's ID token to keep as the hint. [RP.StartLogin]
// implements [sso.Starter] for home-realm discovery, and
// [RP.ConfigureConnection] implements [sso.ConnectionConfigurer] for the
// admin API (discovery with an exact issuer match, or manual endpoints;
// the client secret or private key is sealed with the connection ID as
// associated data). [RP.SPDetails] gives the redirect URI to register at the
// IdP.
//
// A host implements [Store] (three methods plus cleanup) on its database
// or uses store/memstore/memoidc or store/sqlstore/sqloidc; store/storetest
// checks an implementation.
//
// # Security
//
//   - Authorization code flow only, always with PKCE S256; an IdP whose
//     discovery lacks S256 in code_challenge_methods_supported is refused.
//   - state and nonce carry 256 bits; the flow (state hash, nonce, PKCE
//     verifier, connection, organization, issuer, redirect URI, return_to)
//     is stored server side for 10 minutes and taken exactly once, and is
//     bound to the browser by an HttpOnly SameSite=Lax cookie ("__Host-"
//     and Secure with an https BaseURL). Any replica can finish a flow.
//   - RFC 9207: the authorization response iss parameter must equal the
//     connection's issuer when present, and is required when the IdP
//     advertises authorization_response_iss_parameter_supported.
//   - ID tokens: at most MaxTokenBytes before any parsing; the algorithm
//     must be in the connection's allowlist (its SigningAlgs, else the
//     IdP's advertised ones, intersected with RS*/ES*/PS*/EdDSA: never
//     "none", never HMAC); signature from the connection's JWKS; iss exactly
//     the connection's issuer; aud contains the client ID and azp equals it
//     when present or when there are several audiences; exp, nbf and iat
//     with MaxClockSkew; iat present and not older than MaxIDTokenAge; sub
//     non-empty; nonce equal (constant time); at_hash checked when present.
//     jku, x5u, jwk and x5c headers are never used. A kid-less token is
//     tried against every key and accepted only if one verifies. The
//     signature segment must be canonical base64url, so a token has one
//     spelling.
//   - Authentication requirements: sso.StartOptions.RequireMFA sends the
//     connection's MFAACRValues (else [DefaultMFAACRValues]) as
//     acr_values and requires acr among them, a known MFA context, or a
//     second factor in amr (mfa_not_performed); MaxAge sends max_age and
//     requires auth_time no older (authn_too_old); ForceAuthn sends
//     prompt=login and refuses an auth_time before the request. What was
//     asked is stored with the flow, and only the ID token's claims count.
//   - Multi-tenant issuers (Microsoft Entra "common"/"organizations"): an
//     Issuer with [TenantPlaceholder] accepts only tokens whose tid is in
//     AllowedTenantIDs and whose iss is the template filled with that tid.
//   - Google (issuer https://accounts.google.com, shared by every Google
//     account): only a Google Workspace account signs in, one whose ID
//     token carries hd, and with HostedDomains set only one of those
//     Workspaces ([ReasonHostedDomainNotAllowed]). A personal account is
//     refused: it may hold a work address its owner no longer controls.
//   - Keys: the JWKS is cached per connection; a kid the cache lacks
//     refetches it at once (an IdP may rotate right after the last fetch),
//     once per kid per JWKSRefetchInterval (30s), within a token bucket of
//     5 refetches plus one per interval, so random kids cannot hammer the
//     IdP. A known kid whose key does not verify never refetches
//     (signature_invalid). When the keys cannot be had (fetch failed,
//     budget spent) the rejection is keys_unavailable, wrapping
//     [ErrKeysUnavailable] and sso.ErrUnavailable (503, retryable); cached
//     keys keep verifying the kids they hold. Keys that do not parse,
//     encryption and symmetric keys are ignored. The discovery document
//     and the keys are cached for an hour; one request refreshes an
//     expired copy (the discovery document at most once a minute, the keys
//     once per JWKSRefetchInterval, while the IdP fails), and the last good
//     copy serves every other request meanwhile, so a down or hanging IdP
//     neither holds logins nor receives a fetch per request.
//   - Egress: discovery, JWKS, token and userinfo requests use https only,
//     time out, are size-capped, follow at most three redirects and refuse
//     loopback, private, link-local (cloud metadata) and other internal
//     addresses at dial time, unless AllowInsecureURLs /
//     AllowPrivateAddresses say otherwise.
//   - Entra group overage: with ConnectionConfig.GroupOverage "graph", an
//     ID token whose groups were left out (_claim_names groups, or
//     hasgroups true) gets them from Microsoft Graph getMemberObjects for
//     its oid, with an app token from client credentials at the IdP's
//     token endpoint, through the same guarded egress client; a failed
//     lookup refuses the login (groups_unavailable) rather than map roles
//     from an incomplete list.
//   - Userinfo (mode auto, always or never) must carry the ID token's sub;
//     the ID token's claims win over userinfo's.
//   - email_verified counts only as the JSON boolean true, and only for
//     the address of the email claim it speaks of: an email mapped from
//     another claim (a username) is verified only when it is that address.
//     Identities are (iss, sub); the email is never an identifier here.
//   - IdP error responses render a fixed message and the error code only;
//     error_description goes to logs and to Completer.Fail.
//   - Client credentials follow the token endpoint: an update that changes
//     the issuer or the manual token endpoint, or switches between
//     discovery and manual endpoints, drops the sealed client secret or
//     private key and must supply it again (reason client_secret_required
//     or private_key_required), so an old secret never reaches a new
//     endpoint.
//   - Back-channel logout: a verified logout token (signature, iss, aud,
//     iat, exp, event, no nonce, sub or sid, unseen jti) ends the
//     connection's sessions of its sub, narrowed to its sid, through
//     Config.Sessions (an [sso.IdPSessionEnder] such as session.Manager)
//     or the OnLogout hook. It answers 200 when the logout
//     succeeded, also when no session matched, 400 when the token is
//     invalid or the logout failed, and 503 while the IdP's metadata or
//     keys or the replay cache cannot be reached.
//   - Front-channel logout: iss must be the connection's issuer and sid
//     is required; the connection's sessions with that sid end through the
//     same path as back-channel logout.
//
// Rejections are *[sso.ValidationError] values with a stable Reason (the
// Reason* constants) reported to Completer.Fail and rendered by the
// ErrorHandler. A fault of the IdP (status, timeout, refused connection,
// malformed or oversized document, issuer mismatch) carries an
// *[UpstreamError] with the upstream status or cause, whether it is
// retryable (wrapping sso.ErrUnavailable) or needs the admin (wrapping
// sso.ErrInvalidInput), and a fix. Every failure of an admin's test login,
// including one that cannot start, reaches Completer.Fail with Test set,
// the connection, and a *sso.ValidationError whose Detail names the check,
// want/got and a plain-language fix.
package oidc
