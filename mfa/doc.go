// Package mfa adds second factors to an ssokit application: TOTP
// authenticator apps (RFC 6238, via github.com/pquerna/otp) with QR-code
// enrolment, WebAuthn security keys and passkeys (via
// github.com/go-webauthn/webauthn), single-use recovery codes, organization
// MFA policy with a grace period, and step-up for sensitive actions. With
// Config.Passkeys, the passkeys a user signs in with (sso/passkey) verify
// as their second factor too, so a passkey user is asked to verify with
// it rather than to enrol an authenticator app.
//
// # Wiring
//
// A [Manager] needs a [Store] (store/memstore/memmfa or
// store/sqlstore/sqlmfa implement it), an sso.Sealer for TOTP seeds, the core user, organization,
// membership and event stores, and an sso.MFAElevator, which
// session.Manager implements: after a successful second factor the Manager
// calls it to mark the session and rotate it.
//
//	m, err := mfa.New(mfa.Config{
//		Store: sqlmfa.New(st), Sealer: keyring, Users: st, Orgs: st, Members: st, Events: st,
//		Elevator: sessions, Issuer: "Acme Cloud",
//		EnrollmentURL: "/settings/security", VerifyURL: "/login/mfa",
//		WebAuthn: &mfa.WebAuthnConfig{RPID: "app.acme.example", Origins: []string{"https://app.acme.example"}},
//	})
//	mux.Handle("/mfa/", sessions.Load(http.StripPrefix("/mfa", m)))          // JSON API
//	mux.Handle("/app/", sessions.Load(m.Require(app)))                      // org policy
//	mux.Handle("POST /app/billing", sessions.Load(m.StepUp(5*time.Minute)(billing)))
//
// The handlers read the request's principal with sso.PrincipalFrom, which
// the session middleware sets; see [Manager.ServeHTTP] for the routes. Do
// not wrap the mfa handlers in [Manager.Require], or users who must enrol
// could not.
//
// # Policy
//
// [Manager.Require] enforces sso.MFAPolicy: when an organization requires
// MFA, members without a factor get a grace period (GracePeriod, default 7
// days, from the later of the policy change and their joining) during which
// requests pass with the [HeaderEnrollmentDue] header and [EnrollmentDue]
// set; afterwards browsers are redirected to Config.EnrollmentURL and API
// clients get 403 {"error": "mfa_enrollment_required"}. Members with a
// factor who have not used it in this session get
// "mfa_verification_required". An MFA asserted by the IdP (a SAML or OIDC
// session whose MFAAt is not after its AuthAt, as login completion records
// it) counts only while the organization sets TrustIdPMFA, so switching
// trust off takes effect for existing sessions too. A session that entered
// its organization by an organization switch (sso.AuthSwitch) authenticated
// in another organization: it never has an IdP-asserted MFA, whatever
// TrustIdPMFA says, and its MFA counts only once a factor was verified
// locally after the switch. Platform admins (Config.IsPlatformAdmin)
// always need a second factor. [Manager.StepUp] asks for a second factor
// within a given age: 403 {"error": "mfa_step_up_required"} otherwise.
//
// # Step-up at the IdP
//
// An organization that trusts its IdP's MFA can have second factors asked
// there (sso.MFAPolicy.StepUpAtIdP with TrustIdPMFA). With
// Config.Starters, Connections and IdPStepUpURL set (sso/stack sets them),
// Require and StepUp send the browser of a session an SSO connection made
// to [Manager.ServeIdPStepUp] instead of Config.VerifyURL: it starts a
// login at that connection asking for MFA (SAML RequestedAuthnContext, OIDC
// acr_values), max_age and a fresh authentication, bound to the session by
// an sso.StepUp. The protocol package refuses an answer without what was
// asked; login completion admits it only for that session's user,
// organization and connection, with a multi-factor authentication made
// after the step-up started and within its age, and replaces the session
// (a step-up is used once). Local sign-ins, sessions that entered their
// organization by a switch, and organizations without StepUpAtIdP use the
// local factor. StepUpLocalFallback tells the host's refusal page
// (sso/login Config.StepUpRefusedURL) to offer the local factor instead;
// without it, POST /verify, /recovery and /webauthn/login/* refuse a
// session that can step up at its IdP (409
// {"error": "mfa_step_up_at_idp_required", "step_up_url": ...}, audited
// as mfa.failed, reason local_factor_not_allowed) before checking any
// code, and a TOTP enrolment does not elevate it. The methods behind them
// (VerifyTOTP, UseRecoveryCode, BeginWebAuthnLogin, FinishWebAuthnLogin)
// refuse the same way with ErrStepUpAtIdPRequired, for hosts that call
// them without the handlers.
//
// # Managing factors
//
// Factors belong to the user, not to an organization, so whoever could
// remove a user's factor and enrol their own would pass the MFA policy of
// every organization the user belongs to — for example the administrator
// of one organization's IdP, signing the user in there and switching into
// another organization (threat T-M.9). Hence:
//
//   - Disabling a factor, regenerating recovery codes and enrolling a TOTP
//     or WebAuthn factor while one is active need a fresh verification of
//     an existing factor: a TOTP code, a WebAuthn assertion or a recovery
//     code checked by this package on this session (and recorded through
//     Config.Elevator) within Config.RecentMFA (10 minutes). An MFA asserted
//     by an IdP never counts, even when the organization trusts it for its
//     policy, nor does one carried across an organization switch or dated in
//     the future. Otherwise: 403 {"error": "mfa_reverification_required"}
//     ([ErrReverificationRequired]); verify a factor (POST /verify,
//     /recovery or a WebAuthn login) and retry.
//   - Enrolling the first factor needs a login of the session's own within
//     Config.RecentLogin (10 minutes) — a switched session has none — or a
//     fresh local verification (a recovery code, after
//     Config.RequireReenrollmentAfterRecovery removed the factor).
//     Otherwise: 401 {"error": "reauthentication_required"}
//     ([ErrReauthenticationRequired]); sign in again.
//   - Finishing an enrolment (POST /totp/confirm, /webauthn/register/finish)
//     applies the same rules again, and confirms only a TOTP enrolment this
//     login started within the window, so calling it directly bypasses
//     nothing.
//   - Access tokens manage no factor ("reauthentication_required").
//
// Refusals are audited as failed EventDisabled or
// EventEnrolled events carrying the code as their reason.
//
// # Security notes
//
//   - TOTP seeds are 160 bits from crypto/rand (or Config.Rand), sealed with
//     the Sealer bound to the user ID, and never logged: [Enrollment] and
//     [TOTPFactor] redact themselves in fmt and slog output. A factor is
//     active only after a valid confirming code.
//   - Codes are checked against the server clock with ±1 step of skew. The
//     last accepted step is stored per user and advanced by a compare-and-set
//     in the store (strictly greater), so a code is accepted once even when
//     submitted concurrently to several replicas.
//   - Failures of every entry point (TOTP, recovery codes, WebAuthn,
//     passkey checks) share a per-user counter in the store: after
//     MaxFailures (5) the user is locked
//     out with exponential back-off (1 minute doubling to 1 hour by default).
//     Success, failure, lockout, replay, recovery code use, enrolment and
//     removal are audited through the sso.EventStore.
//   - Recovery codes (10, 80 bits each) are shown once and stored as
//     SHA-256 hashes bound to the user; each works once, atomically;
//     regenerating replaces the whole set.
//   - WebAuthn ceremonies live in the store (any replica may finish them),
//     are bound to the user and session, single-use and short-lived; a
//     signature counter that does not grow is refused as a possible clone.
//   - Removing a factor, regenerating recovery codes and adding a factor
//     once one exists need a local verification of an existing factor
//     within Config.RecentMFA; the first factor needs a recent login of the
//     session's own (see Managing factors).
//   - POST endpoints accept only application/json; responses carry
//     Cache-Control: no-store; error bodies carry only a stable reason.
//
// # Storage
//
// The host implements [TOTPStore], [RecoveryStore], [AttemptStore] and
// [WebAuthnStore] (together [Store]) or uses store/memstore/memmfa or
// store/sqlstore/sqlmfa, and proves its own implementation with
// store/storetest.
package mfa
