// Package invite brings people into organizations: invitations by email
// with roles, and auto-join for users whose verified email is in a domain
// the organization has verified.
//
// # Wiring
//
// A [Manager] needs a [Store] (store/memstore/meminvite or
// store/sqlstore/sqlinvite implement it; [invitetest.Run] proves others),
// the core user, organization, membership and domain stores, an audit
// recorder and a [Mailer]:
//
//	inv, err := invite.New(invite.Config{
//		Store: sqlinvite.New(st), Users: st, Orgs: st, Members: st, Domains: st,
//		Auditor: trail, Mailer: smtp, AppName: "Acme",
//		AcceptURL: mustParse("https://app.acme.example/invite/accept"),
//	})
//	mux.Handle("/invite/", sessions.Load(http.StripPrefix("/invite", inv)))
//
// The admin API (sso/admin, Config.Invites) serves the invitation, policy
// and join-request routes; [Manager.ServeHTTP] the accept page.
//
// # Security
//
//   - Invitation tokens are 256-bit random values stored only as SHA-256
//     hashes, single use (a compare-and-swap on the hash: of concurrent
//     accepts one wins), expiring (7 days by default); a resend replaces
//     the token and a revocation voids it.
//   - An invitation is accepted only by its address: a signed-in user must
//     hold that address, verified (wrong_account otherwise); without a
//     session an existing account must sign in first (sign_in_required);
//     a new account (or one in no organization yet) is proved by the token.
//   - Auto-join applies only to a verified email in a domain the
//     organization verified by DNS; an unverified claim admits nobody.
//   - Joining an organization that enforces SSO grants no local sign-in:
//     its members sign in through its IdP (break-glass excepted).
//   - Every invitation, acceptance, refusal, policy change, join and
//     decision is an audit event. With a Store that is an EventBinder
//     (both shipped stores are) each change is stored with its event in
//     one transaction, or neither is.
//   - An organization holds at most one pending invitation per address,
//     also under concurrent invitations: the store refuses a second live
//     one and marks an expired one expired when it is replaced.
package invite
