// Package emailcode is the email tier of sign-in: a one-time code and a
// magic link, sent together in one email, either of which signs in once.
//
// # Wiring
//
// A [Manager] needs a [Store] (store/memstore/mememailcode or
// store/sqlstore/sqlemailcode implement it; [emailcodetest.Run] proves
// others), the core user, organization and membership stores, a session
// issuer (session.Manager), the SSO enforcement policy (policy.Enforcer,
// through [LocalLoginPolicy]), an audit recorder and a [Mailer] (sso/mail's
// SMTP or DevMailer):
//
//	ec, err := emailcode.New(emailcode.Config{
//		Store: sqlemailcode.New(st), Users: st, Orgs: st, Members: st,
//		Sessions: sessions, Enforcer: enforcer, Auditor: trail, Mailer: smtp,
//		BaseURL: mustParse("https://app.acme.example/auth/email"),
//		AppName: "Acme",
//	})
//	mux.Handle("/auth/email/", sessions.Load(http.StripPrefix("/auth/email", ec)))
//
// See [Manager.ServeHTTP] for the routes; [Manager.Start],
// [Manager.VerifyCode], [Manager.InspectLink] and [Manager.OpenLink] serve
// hosts with their own handlers.
//
// # Sign-in
//
// A sign-in goes through the same path as a password login: the
// organization (the one named, or the user's only one) must have the
// method in its plan (FeatureCode "email_code", FeatureLink "magic_link";
// reason feature_disabled otherwise) and allow it (sso.OrgSettings.
// SignInMethods, decided by sso.Organization.SignInVerdict; reason
// method_disabled otherwise), and is checked by the SSO
// enforcement policy, so an organization that enforces SSO admits only
// its active break-glass members (reason sso_required otherwise); the
// session is issued through sso.SessionIssuer with Method "email_code" or
// "magic_link" and MFA false, so the organization's MFA and network
// policies apply; every outcome is an audit event naming the method.
//
// # Security
//
//   - Enumeration: a request answers every address with the same status,
//     body, cookie and store work; the email (sent off the request, see
//     [Manager.Wait]) goes only to an address with a verified account or
//     one [Config.AllowSignUp] admits. An unverified account is never a
//     sign-in target.
//   - Secrets: the code (6 to 8 digits) and the 256-bit link token are
//     stored only as SHA-256 hashes (the code's bound to its challenge),
//     live 10 minutes, and are single-use: the challenge is taken
//     atomically, so of concurrent uses one wins and the code voids the
//     link and the reverse. A new request voids the address's earlier
//     challenges.
//   - Browser binding: the request sets an HttpOnly cookie with the
//     challenge's ID and a nonce (stored hashed). A code works only in
//     that browser. A link opened elsewhere shows "continue here?" and
//     needs a click that posts confirm=yes; a GET of a link never uses it.
//   - Throttling: requests per address and per client address per hour,
//     MaxAttempts wrong codes void a challenge, code attempts and invalid
//     links count against the client address, and the codes entered for
//     one address across all its challenges are bounded per day
//     (CodeAttemptsPerDay; its links keep working beyond it). A new request voids
//     the address's pending challenge, so requests for someone else's
//     address can delay their sign-in, at most RequestsPerHour times an
//     hour.
//   - CSRF: every POST refuses cross-origin requests
//     (http.CrossOriginProtection).
package emailcode
