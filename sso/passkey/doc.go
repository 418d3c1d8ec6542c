// Package passkey is passwordless sign-in with passkeys: discoverable
// WebAuthn credentials (go-webauthn) registered as login credentials, a
// login ceremony with an empty allowCredentials that resolves the user from
// the credential and its userHandle (so the page may run it with mediation
// "conditional" for autofill), and passkey management (list, rename,
// delete; a passkey that is a user's last way to sign in stays: the store
// counts their other passkeys, linked social accounts and password in the
// delete, under a per-user lock shared with social unlinks, and
// Config.OtherMethods may vouch for ways it does not hold).
//
// # Wiring
//
//	pk, err := passkey.New(passkey.Config{RPID: "app.acme.example", Origins: []string{"https://app.acme.example"},
//		Store: mempasskey.New(ms), Users: ms, Orgs: ms, Members: ms, Sessions: sessions, Enforcer: enforcer, Auditor: trail})
//	mux.Handle("/auth/passkey/", sessions.Load(http.StripPrefix("/auth/passkey", pk)))
//
// See [Manager.ServeHTTP] for the JSON routes. A signed-in user's passkey
// also verifies them as a second factor for package mfa
// ([Manager.BeginCheck] and [Manager.FinishCheck], behind
// mfa.Config.Passkeys, which sso/stack wires): the user's own passkeys
// only, with user verification, in a ceremony bound to their session.
//
// # Security
//
// Registration needs a signed-in session and binds its ceremony to that
// session; ceremonies are single-use and expire. Because a passkey signs
// its user in to every organization that allows passkeys, with MFA, the
// session must have logged in itself by a local method (a password, an
// emailed code or link, a social account or a passkey) within
// [Config.RecentLogin]: a session an organization's IdP made, one that
// entered its organization by a switch, an older one and an access token
// get 401 reauthentication_required, so that whoever administers one
// organization's IdP gains no way into its users' other organizations.
// A passkey is also a second factor, so while the user has one (a passkey,
// or a TOTP or WebAuthn factor that [Config.SecondFactor] reports; wire it
// to mfa.Manager.HasFactor), adding or deleting a passkey needs a session
// that verified one within Config.RecentLogin (403
// mfa_reverification_required): a password alone must not buy a passkey
// that passes the organization's MFA. Passkeys require a
// resident key and user verification; a login's user verification counts
// as MFA. The userHandle must be the credential owner's; a signature
// counter that goes backwards refuses the login. Sessions carry Method
// "passkey", a local login: an organization that enforces SSO admits only
// its break-glass members, the plan must include [Feature]
// (feature_disabled) and the organization must allow passkeys
// (sso.Organization.SignInVerdict; method_disabled). Every outcome is an
// audit event naming the method and an "sso.signin" span counted in
// ssokit.login.attempts with it. Cross-origin POSTs are
// refused (http.CrossOriginProtection).
package passkey
