package scim

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// ErrVersionMismatch is returned (wrapped) by UserStore.UpdateUserSCIM and
// GroupStore.UpdateGroupSCIM when the stored version is not the expected one.
var ErrVersionMismatch = errors.New("scim: version mismatch")

// ErrInvalidMember is returned (wrapped, together with sso.ErrInvalidInput)
// by GroupStore methods when a member ID is not a live SCIM user of the
// group's organization.
var ErrInvalidMember = errors.New("scim: member is not a user of this organization")

// User is a SCIM user of one organization. Its ID is the sso.User ID; the
// organization membership (sso.Membership with Source sso.SourceSCIM)
// carries the access state.
//
// Attributes is the resource as the directory last wrote it, validated and
// with canonical attribute names, without id, meta and groups. The
// fields UserName through Enterprise are derived from it by [User.Derive]; stores
// persist them for queries and return Users whose Derive has been called.
type User struct {
	OrgID string
	ID    string

	UserName    string
	ExternalID  string
	Active      bool
	DisplayName string
	GivenName   string
	FamilyName  string
	Emails      []Email
	// Enterprise holds the enterprise extension attributes filters may
	// name; nil when the user has no enterprise extension.
	Enterprise *Enterprise

	Attributes map[string]any
	// AttributesJSON is Attributes encoded as a JSON object, as a store
	// holds it. [Seeker.SeekUsersSCIM] may return users with AttributesJSON
	// set and Attributes nil (and the fields derived from it unset): the
	// Handler renders them from the document without decoding it. It is
	// used only when Attributes is nil, and never modified.
	AttributesJSON []byte
	// Deleted users were removed through DELETE: they are kept (deactivated)
	// but are invisible to SCIM and free their userName.
	Deleted bool
	// Version counts writes, starting at 1; it is the ETag.
	Version      int64
	Created      time.Time
	LastModified time.Time
	// Cursor is set by Seeker.SeekUsersSCIM for a sorted query: the
	// position (SortCursor) to pass as "after" to continue after u.
	Cursor string
}

// Email is one of a user's email addresses.
type Email struct {
	Value   string
	Type    string
	Primary bool
}

// UserNameKey returns the lower-cased userName on which uniqueness within an
// organization is enforced.
func (u *User) UserNameKey() string { return strings.ToLower(u.UserName) }

// Group is a SCIM group of one organization. Its members are stored apart
// and read page by page with GroupStore.ListGroupMembersSCIM.
type Group struct {
	OrgID        string
	ID           string
	DisplayName  string
	ExternalID   string
	Version      int64
	Created      time.Time
	LastModified time.Time
	// Cursor is set by Seeker.SeekGroupsSCIM for a sorted query, as
	// User.Cursor.
	Cursor string
}

// MemberOpKind is the kind of a MemberOp.
type MemberOpKind int

// Member operation kinds.
const (
	MembersAdd MemberOpKind = iota + 1
	MembersRemove
	// MembersReplace sets the member list to exactly UserIDs.
	MembersReplace
	// MembersRemoveAll empties the group.
	MembersRemoveAll
)

// MemberOp is one change to a group's member list.
type MemberOp struct {
	Kind    MemberOpKind
	UserIDs []string
}

// Query selects a page of resources. StartIndex is 1-based, Count >= 0.
// Filter may be nil (all resources). Results are ordered by ID, bytewise
// (PostgreSQL's "C" collation, SQLite's BINARY, Go's < on strings), or,
// when Sort is set, by the sort keys described at [SortAttr] (Descending
// reverses that order).
type Query struct {
	Filter     Expr
	StartIndex int
	Count      int
	Sort       SortAttr
	Descending bool
}

// EventWriter is an optional UserStore capability: CreateUserSCIM and
// UpdateUserSCIM that also append the audit events evs in the same atomic
// step, so a stored change always has its events and a failed one has
// none (the events are the outbox webhooks and subscribers read).
// store/sqlstore's sqlscim implements it; with a store without it the
// Handler appends the events after the change.
type EventWriter interface {
	// CreateUserSCIMEvents is CreateUserSCIM plus the append of evs;
	// nothing is written when any part fails.
	CreateUserSCIMEvents(ctx context.Context, u *sso.User, m *sso.Membership, r *User, evs []*sso.Event) error
	// UpdateUserSCIMEvents is UpdateUserSCIM plus the append of evs;
	// nothing is written when any part fails.
	UpdateUserSCIMEvents(ctx context.Context, r *User, prevVersion int64, u *sso.User, m *sso.Membership, evs []*sso.Event) error
}

// UserStore stores SCIM users. Every method is safe for concurrent use and
// only ever sees one organization's records: a user of another
// organization is absent (sso.ErrNotFound).
type UserStore interface {
	// CreateUserSCIM stores u (unless a user with u.ID exists), m and r in one
	// atomic step. It fails with sso.ErrConflict, writing nothing, when a
	// live (not Deleted) user of r.OrgID has the same UserNameKey, or when
	// the membership or the ID exists.
	CreateUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *User) error
	// AdoptUserSCIM gives an existing member of the organization (for
	// example one who signed in through JIT before the directory was
	// connected) a SCIM record: in one atomic step it stores r (r.ID is the
	// member's user ID) and replaces the core user u and the membership m.
	// It fails with sso.ErrConflict, writing nothing, when r.ID already has a
	// SCIM record or a live user of r.OrgID has the same UserNameKey, and
	// with sso.ErrNotFound when the user or the membership does not exist.
	AdoptUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *User) error
	// GetUserSCIM returns the user, Deleted ones included.
	GetUserSCIM(ctx context.Context, orgID, id string) (*User, error)
	// UpdateUserSCIM replaces r (by OrgID and ID) if its stored Version equals
	// prevVersion, else fails with ErrVersionMismatch; it stores r.Version
	// as given. In the same atomic step it replaces u and m when they are
	// non-nil, and when r.Deleted it removes the user from every group. A
	// live user with the same UserNameKey yields sso.ErrConflict.
	UpdateUserSCIM(ctx context.Context, r *User, prevVersion int64, u *sso.User, m *sso.Membership) error
	// ListUsersSCIM returns the live users of orgID matching q.Filter in ID
	// order, the page q selects, and how many match in all. It evaluates the
	// filter in the store, never by loading every user.
	ListUsersSCIM(ctx context.Context, orgID string, q Query) (users []*User, total int, err error)
}

// GroupStore stores SCIM groups and their members. Every method is safe
// for concurrent use; member changes are applied as deltas inside the
// store, so concurrent PATCHes of one group lose no member.
type GroupStore interface {
	// CreateGroupSCIM stores g with the given members atomically. A member that
	// is not a live user of g.OrgID fails with ErrInvalidMember and writes
	// nothing.
	CreateGroupSCIM(ctx context.Context, g *Group, members []string) error
	// GetGroupSCIM returns the group or sso.ErrNotFound.
	GetGroupSCIM(ctx context.Context, orgID, id string) (*Group, error)
	// UpdateGroupSCIM replaces g's displayName and externalId, sets its Version
	// to stored+1 and LastModified, and applies ops in order, all in one
	// atomic step. With prevVersion > 0 the stored version must equal it
	// (else ErrVersionMismatch). It returns the IDs of users whose
	// membership in the group changed and updates g's Version.
	UpdateGroupSCIM(ctx context.Context, g *Group, prevVersion int64, ops []MemberOp) (changed []string, err error)
	// DeleteGroupSCIM removes the group and its member list and returns the
	// former members, in one atomic step. With prevVersion > 0 the stored
	// version must equal it (else ErrVersionMismatch), so a DELETE with
	// If-Match never removes a group changed since the client read it.
	DeleteGroupSCIM(ctx context.Context, orgID, id string, prevVersion int64) (members []string, err error)
	// ListGroupsSCIM returns the groups of orgID matching q in ID order, the
	// page q selects and the total number of matches.
	ListGroupsSCIM(ctx context.Context, orgID string, q Query) (groups []*Group, total int, err error)
	// ListGroupMembersSCIM returns up to limit member user IDs of the group greater
	// than afterUserID, in order.
	ListGroupMembersSCIM(ctx context.Context, orgID, groupID, afterUserID string, limit int) ([]string, error)
	// ListUserGroupsSCIM returns, for each of the users, the groups it
	// belongs to in ID order (users in no group have no entry), in one
	// round trip for a page of users.
	ListUserGroupsSCIM(ctx context.Context, orgID string, userIDs ...string) (map[string][]*Group, error)
}

// Store is what the Handler needs for its own records.
type Store interface {
	UserStore
	GroupStore
}

// Seeker is the optional capability of a Store to serve list pages by key
// (keyset pagination) and to count apart from reading a page. When
// Config.Store implements it, the Handler serves every list and search
// with it, as described under "Pagination" in the package documentation,
// and no longer calls ListUsersSCIM and ListGroupsSCIM: a deep page then
// costs about what the first one does, and an organization's resources
// are not counted on every page. memscim and sqlscim implement it; a
// host's store proves it with store/storetest.
//
// Every method is safe for concurrent use and sees one organization only.
// Order is the ID order of [Query].
type Seeker interface {
	// SeekUsersSCIM returns the live users of orgID that match q.Filter
	// and whose IDs are greater than after (every one when after is ""),
	// in ID order: up to q.Count of them, skipping the first
	// q.StartIndex-1. It does not count. The users may carry
	// AttributesJSON instead of Attributes; OrgID, ID, Version, Created
	// and LastModified are set. With q.Sort set, the order is q's sort
	// order, after is a cursor (SortCursor) and the users come after it in
	// that order, and every user's Cursor is set.
	SeekUsersSCIM(ctx context.Context, orgID, after string, q Query) ([]*User, error)
	// SeekGroupsSCIM is SeekUsersSCIM for groups.
	SeekGroupsSCIM(ctx context.Context, orgID, after string, q Query) ([]*Group, error)
	// CountUsersSCIM returns how many live users of orgID match filter
	// and, when every is positive, the IDs of the matches at positions
	// every, 2*every, 3*every, ... in ID order (marks[i] is the match at
	// position (i+1)*every), read in the same pass.
	CountUsersSCIM(ctx context.Context, orgID string, filter Expr, every int) (total int, marks []string, err error)
	// CountGroupsSCIM is CountUsersSCIM for groups.
	CountGroupsSCIM(ctx context.Context, orgID string, filter Expr, every int) (total int, marks []string, err error)
}

// CoreStore is the part of the core store the Handler uses: the org and
// its connections (for group-to-role mapping), its verified domains (for
// EmailVerified), SCIM tokens, memberships (roles) and the audit trail.
// memstore and sqlstore implement it.
type CoreStore interface {
	GetOrg(ctx context.Context, id string) (*sso.Organization, error)
	ListConnections(ctx context.Context, orgID string) ([]*sso.Connection, error)
	GetMembership(ctx context.Context, orgID, userID string) (*sso.Membership, error)
	UpdateMembership(ctx context.Context, m *sso.Membership) error
	FindMemberByEmail(ctx context.Context, orgID, email string) (*sso.Membership, error)
	// ListUserMemberships is sso.MembershipStore's: every organization the
	// user belongs to, to tell a shared account (routing.OwnsUser).
	ListUserMemberships(ctx context.Context, userID string) ([]*sso.Membership, error)
	GetUser(ctx context.Context, id string) (*sso.User, error)
	// FindVerifiedDomain is sso.DomainStore's: the organization holding
	// name verified, or sso.ErrNotFound.
	FindVerifiedDomain(ctx context.Context, name string) (*sso.Domain, error)
	sso.SCIMTokenStore
	sso.EventStore
}

// RateStore counts requests in fixed windows for a limiter shared by
// several replicas. memscim and sqlscim implement it.
type RateStore interface {
	// IncrementSCIMRate adds one to the counter of key in the window starting at
	// window and returns the new count, atomically. Counters of windows
	// older than window may be dropped.
	IncrementSCIMRate(ctx context.Context, key string, window time.Time) (int64, error)
}
