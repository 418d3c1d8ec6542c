// Package password is the password tier of sign-in: sign-up, email
// verification, login, password reset and change, for the organizations
// without an IdP and for the break-glass admins of those with one.
//
// # Wiring
//
// A [Manager] needs a [Store] (store/memstore/mempassword or
// store/sqlstore/sqlpassword implement it; [passwordtest.Run] proves
// others), the core user, organization and membership stores, a session
// issuer and revoker (session.Manager), the SSO enforcement policy
// (policy.Enforcer, through [LocalLoginPolicy]), an audit recorder and a
// [Mailer] (sso/mail's SMTP or DevMailer):
//
//	pw, err := password.New(password.Config{
//		Store: sqlpassword.New(st), Users: st, Orgs: st, Members: st,
//		Sessions: sessions, Revoker: sessions, Enforcer: enforcer, Auditor: trail,
//		Mailer: &mail.SMTP{Addr: "smtp.acme.example:587", From: "Acme <no-reply@acme.example>", ...},
//		VerifyURL: mustParse("https://app.acme.example/verify"), // pages that POST the token
//		ResetURL:  mustParse("https://app.acme.example/reset"),
//		AppName:   "Acme",
//	})
//	mux.Handle("/auth/password/", sessions.Load(http.StripPrefix("/auth/password", pw)))
//
// See [Manager.ServeHTTP] for the routes. The methods ([Manager.SignUp],
// [Manager.Login], [Manager.RequestReset], ...) serve hosts with their own
// handlers.
//
// # Login
//
// A password login goes through the same path as an SSO login: the
// organization (the one named, or the user's only one) is checked by the
// SSO enforcement policy, so an organization that enforces SSO admits only
// its active break-glass members (reason sso_required otherwise, naming
// the URL that starts the organization's SSO: [Config.SSOLoginPath]), and an
// organization that turned passwords off (sso.OrgSettings.SignInMethods,
// decided by sso.Organization.SignInVerdict) refuses them (reason
// method_disabled) except to its break-glass members; the
// session is issued through sso.SessionIssuer with Method "password" and
// MFA false, so the organization's MFA policy asks for a second factor;
// every outcome is an audit event (login.succeeded, login.failed with its
// reason) and an "sso.signin" span counted in ssokit.login.attempts with
// the method (Config.TracerProvider, Config.MeterProvider).
//
// # Passwords
//
// Hashes are argon2id (golang.org/x/crypto/argon2) in the PHC string
// format, which records the parameters; a hash made with weaker parameters
// than [Config.Params] is replaced at the next successful login. The
// [Policy] follows NIST SP 800-63B: at least 8 characters (15 recommended
// when the password is the only factor), at least 128 allowed, any Unicode
// (NFKC-normalised before hashing and checking), no composition rules, and
// a refusal of passwords on the bundled list of common and breached
// passwords, of repetitive or sequential ones and of ones containing the
// email or the service's name. Refusals name the field and the fix.
//
// # Security
//
//   - Enumeration: sign-up, reset request and login answer a registered and
//     an unregistered address with the same status, body and work (a
//     sign-up of a taken address emails its owner; a reset request for an
//     unknown one emails a notice; a login of an unknown one verifies a
//     dummy hash with the configured parameters).
//   - Throttling: exponential back-off per account, per account and
//     address, and per address, capped so that failures caused by others
//     delay the owner at most [Throttle].AccountMaxDelay; see [Throttle].
//   - Tokens: verification and reset tokens are 256-bit random values,
//     stored only as SHA-256 hashes, single-use (taken atomically), expiring
//     (24 h and 30 min by default) and tied to the password version: a
//     change or reset makes every earlier reset token fail.
//   - Sessions: a change or reset ends every session and refresh family of
//     the user (sso.SessionRevoker); a change then issues a fresh session
//     to the request that made it.
//   - CSRF: every route refuses cross-origin POSTs
//     (http.CrossOriginProtection), which also stops login CSRF.
package password
