package audit

import "github.com/ssokit/ssokit/sso"

// EventBinder is an optional capability of an sso.Store: WithEvents
// returns a view of the store whose write of an organization, domain,
// connection, membership or SCIM token (the write methods of sso.OrgStore,
// sso.DomainStore, sso.ConnectionStore, sso.MembershipStore and
// sso.SCIMTokenStore) also appends evs to the store's events in the same
// transaction, so an administrator's change is never stored without the
// events that describe it, and a refused change leaves none. Use one view for one write: a second write
// through it appends the same event IDs again and fails with
// sso.ErrConflict. Reads through the view are the store's own; use it for
// none but the writes named here.
//
// store/sqlstore and store/memstore implement it, and store/storetest's
// ChangeEvents suite checks an implementation. The admin API, domain
// verification (sso/domains) and the policy Enforcer use it when their
// store has it and their recorder is set; the events go to the store
// itself, which must then be the audit Trail's event store, as sso/stack
// wires them. With a store without it they write the change and then
// record its events, so a crash between the two loses the events.
type EventBinder interface {
	WithEvents(evs ...*sso.Event) sso.Store
}
