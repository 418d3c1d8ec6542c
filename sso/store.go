package sso

import (
	"context"
	"time"
)

// The storage interfaces of the core, split by capability. store/memstore and
// store/sqlstore implement all of them; a host may implement them on its own
// database and prove it with store/storetest.
//
// Contracts common to every method unless its doc says otherwise:
//   - ctx is honoured for cancellation and deadlines;
//   - a missing record yields an error wrapping ErrNotFound;
//   - a uniqueness violation yields an error wrapping ErrConflict and writes
//     nothing;
//   - records passed in are not retained and records returned are copies the
//     caller may modify;
//   - every method is safe for concurrent use;
//   - Update methods replace the whole record identified by its key.

// OrgStore stores organizations. IDs and slugs are unique.
type OrgStore interface {
	CreateOrg(ctx context.Context, o *Organization) error
	GetOrg(ctx context.Context, id string) (*Organization, error)
	GetOrgBySlug(ctx context.Context, slug string) (*Organization, error)
	UpdateOrg(ctx context.Context, o *Organization) error
	// DeleteOrg removes the organization. Its dependent records are the
	// caller's to remove first.
	DeleteOrg(ctx context.Context, id string) error
	// ListOrgs returns up to limit organizations with ID > afterID in ID order.
	ListOrgs(ctx context.Context, afterID string, limit int) ([]*Organization, error)
}

// DomainStore stores organizations' email domains. A (OrgID, Name) pair is
// unique, and at most one organization holds a given Name in the verified
// state: CreateDomain or UpdateDomain that would make a second verified
// holder fails with ErrConflict, atomically, whatever the concurrency.
type DomainStore interface {
	CreateDomain(ctx context.Context, d *Domain) error
	GetDomain(ctx context.Context, orgID, name string) (*Domain, error)
	// ListDomains returns the organization's domains ordered by name.
	ListDomains(ctx context.Context, orgID string) ([]*Domain, error)
	// FindVerifiedDomain returns the verified holder of name, or ErrNotFound.
	FindVerifiedDomain(ctx context.Context, name string) (*Domain, error)
	UpdateDomain(ctx context.Context, d *Domain) error
	DeleteDomain(ctx context.Context, orgID, name string) error
	// ListDomainsToCheck returns up to limit verified or failed domains whose
	// LastCheckedAt is before checkedBefore, oldest first, for periodic
	// re-verification.
	ListDomainsToCheck(ctx context.Context, checkedBefore time.Time, limit int) ([]*Domain, error)
}

// ConnectionStore stores IdP connections. IDs are globally unique.
type ConnectionStore interface {
	CreateConnection(ctx context.Context, c *Connection) error
	GetConnection(ctx context.Context, id string) (*Connection, error)
	// ListConnections returns the organization's connections ordered by
	// creation time, then ID.
	ListConnections(ctx context.Context, orgID string) ([]*Connection, error)
	// ListActiveConnections returns up to limit active connections of any
	// organization using protocol p ("" for any) with ID > afterID in ID
	// order, for background work (metadata refresh, health checks).
	ListActiveConnections(ctx context.Context, p Protocol, afterID string, limit int) ([]*Connection, error)
	UpdateConnection(ctx context.Context, c *Connection) error
	DeleteConnection(ctx context.Context, id string) error
}

// UserStore stores users. IDs are unique; emails are not.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, id string) (*User, error)
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, id string) error
}

// MembershipStore stores memberships. (OrgID, UserID) is unique.
type MembershipStore interface {
	CreateMembership(ctx context.Context, m *Membership) error
	GetMembership(ctx context.Context, orgID, userID string) (*Membership, error)
	UpdateMembership(ctx context.Context, m *Membership) error
	DeleteMembership(ctx context.Context, orgID, userID string) error
	// ListMembers returns up to limit memberships of the organization with
	// UserID > afterUserID in UserID order.
	ListMembers(ctx context.Context, orgID, afterUserID string, limit int) ([]*Membership, error)
	// ListUserMemberships returns every membership of the user, ordered by
	// OrgID.
	ListUserMemberships(ctx context.Context, userID string) ([]*Membership, error)
	// FindMemberByEmail returns the membership in orgID of the user whose
	// (lower-cased) Email equals email. If several members share the email,
	// a user whose email is verified wins over one whose email is not, then
	// the earliest joined: an unverified account must never shadow the
	// verified one that linking looks for.
	FindMemberByEmail(ctx context.Context, orgID, email string) (*Membership, error)
}

// MembershipChangeLister is an optional MembershipStore capability: the
// memberships in the order they were last updated, for work that follows
// their changes. session.Manager.Reconcile reads it when the sessions are
// kept apart from the memberships (in Redis, say). store/sqlstore and
// store/memstore implement it.
type MembershipChangeLister interface {
	// ListChangedMemberships returns up to limit memberships whose
	// UpdatedAt is at or after since (every membership for the zero time),
	// ordered by UpdatedAt, OrgID and UserID, starting after the one at
	// after (the zero cursor starts at the beginning). Index the update
	// time.
	ListChangedMemberships(ctx context.Context, since time.Time, after MembershipCursor, limit int) ([]*Membership, error)
}

// MembershipCursor is a position in ListChangedMemberships' order: the
// last membership a page returned.
type MembershipCursor struct {
	UpdatedAt     time.Time
	OrgID, UserID string
}

// Cursor is m's position in ListChangedMemberships' order.
func (m *Membership) Cursor() MembershipCursor {
	return MembershipCursor{UpdatedAt: m.UpdatedAt, OrgID: m.OrgID, UserID: m.UserID}
}

// IdentityStore stores IdP identities. IDs are unique and so is
// (OrgID, Issuer, Subject).
type IdentityStore interface {
	CreateIdentity(ctx context.Context, id *Identity) error
	GetIdentity(ctx context.Context, orgID, issuer, subject string) (*Identity, error)
	// ListUserIdentities returns the user's identities ordered by creation.
	ListUserIdentities(ctx context.Context, userID string) ([]*Identity, error)
	UpdateIdentity(ctx context.Context, id *Identity) error
	DeleteIdentity(ctx context.Context, id string) error
}

// Provisioner creates a user's records in one atomic step, so a failed JIT
// provisioning or SCIM create never leaves a user without a membership.
type Provisioner interface {
	// Provision creates u (unless a user with u.ID already exists, in which
	// case u is ignored), then m, then id (when non-nil), all or nothing. It
	// fails with ErrConflict when the membership or the identity already
	// exists.
	Provision(ctx context.Context, u *User, m *Membership, id *Identity) error
}

// EventStore stores audit events as a per-organization hash chain.
//
// Storing an event and sealing it into the chain (Event.Chain, which sets
// Seq, PrevHash and Hash) may be two steps: a store may seal at once, inside
// AppendEvent, or store the event unsealed and seal it later in a batch, so
// that concurrent appends to one organization do not wait for each other.
// Either way a sealed chain never forks, an appended event is never lost,
// and readers see sealed events only.
type EventStore interface {
	// AppendEvent stores e as the next event of e.OrgID's chain. A store that
	// seals at once reads the chain's last event, calls e.Chain on it and
	// stores e, atomically; a store that seals later leaves e.Seq, e.PrevHash
	// and e.Hash zero. A duplicate ID fails with ErrConflict.
	AppendEvent(ctx context.Context, e *Event) error
	// ListEvents returns the sealed events matching q in Seq order. Every
	// event whose AppendEvent returned before ListEvents was called is
	// sealed and listed: a store that seals later seals q.OrgID's pending
	// events first.
	ListEvents(ctx context.Context, q EventQuery) ([]*Event, error)
}

// EventStoreWrapper is an EventStore that stores every event in another
// EventStore and adds only checks or notices after the append, none of
// which a success event needs (audit.Trail's EventStore is one). A store
// that writes a login's events in its own transaction may bypass it.
type EventStoreWrapper interface {
	EventStore
	// WrappedEventStore returns the store the events are stored in.
	WrappedEventStore() EventStore
}

// BaseEventStore returns the store that s's events are stored in: s, or
// the store that its EventStoreWrappers end at.
func BaseEventStore(s EventStore) EventStore {
	for i := 0; i < 8; i++ {
		w, ok := s.(EventStoreWrapper)
		if !ok {
			return s
		}
		s = w.WrappedEventStore()
	}
	return s
}

// SCIMToken is an organization's SCIM bearer token. Only its hash is stored.
type SCIMToken struct {
	ID    string
	OrgID string
	// Hash is HashToken of the bearer value, which is shown once at creation.
	Hash string
	// Hint is the first characters of the token, to tell tokens apart in UIs.
	Hint        string
	Description string
	CreatedAt   time.Time
	// ExpiresAt, when non-zero, ends the token (used for rotation overlap).
	ExpiresAt  time.Time
	RevokedAt  time.Time
	LastUsedAt time.Time
}

// Valid reports whether the token may authenticate at time now.
func (t *SCIMToken) Valid(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// SCIMTokenStore stores SCIM bearer tokens. IDs and hashes are unique.
type SCIMTokenStore interface {
	CreateSCIMToken(ctx context.Context, t *SCIMToken) error
	// FindSCIMToken returns the token with the given hash, whatever its
	// validity; callers check Valid.
	FindSCIMToken(ctx context.Context, hash string) (*SCIMToken, error)
	// ListSCIMTokens returns the organization's tokens, newest first.
	ListSCIMTokens(ctx context.Context, orgID string) ([]*SCIMToken, error)
	UpdateSCIMToken(ctx context.Context, t *SCIMToken) error
	DeleteSCIMToken(ctx context.Context, id string) error
}

// Store is every core capability in one interface, for wiring. Components
// ask only for the capabilities they use.
type Store interface {
	OrgStore
	DomainStore
	ConnectionStore
	UserStore
	MembershipStore
	IdentityStore
	Provisioner
	EventStore
	SCIMTokenStore
}
