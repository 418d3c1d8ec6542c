package invite

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Status is the state of an invitation or a join request.
type Status string

// States. An invitation is pending, then accepted or revoked, or expired
// once a new invitation of its address replaced it after its lifetime; a
// join request is pending, then approved or denied.
const (
	StatusPending  Status = "pending"
	StatusAccepted Status = "accepted"
	StatusRevoked  Status = "revoked"
	StatusExpired  Status = "expired"
	StatusApproved Status = "approved"
	StatusDenied   Status = "denied"
)

// Invitation invites an email address into an organization with roles.
// The store keeps only the SHA-256 of the emailed token.
type Invitation struct {
	ID    string
	OrgID string
	// Email is the invited address, lower-cased.
	Email string
	Roles []string
	// TokenHash is the hex SHA-256 of the emailed token while the
	// invitation is pending (an expired one keeps it, so that its link
	// reports the expiry); a used or revoked invitation holds a value no
	// token hashes to. Unique.
	TokenHash string
	Status    Status
	// InvitedBy is the actor ID of who invited; AcceptedBy the user who
	// accepted.
	InvitedBy  string
	AcceptedBy string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	UpdatedAt  time.Time
}

// Mode is an organization's auto-join policy for users with a verified
// email in one of its verified domains.
type Mode string

// Auto-join modes.
const (
	ModeOff      Mode = "off"      // no auto-join (the zero policy)
	ModeJoin     Mode = "join"     // join at once with the policy's role
	ModeApproval Mode = "approval" // ask; an admin approves or denies
)

// AutoJoin is an organization's auto-join policy.
type AutoJoin struct {
	OrgID     string
	Mode      Mode
	Role      string
	UpdatedAt time.Time
}

// JoinRequest is a user's request to join an organization under its
// approval policy.
type JoinRequest struct {
	ID        string
	OrgID     string
	UserID    string
	Email     string
	Role      string
	Status    Status
	DecidedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InvitationStore stores invitations.
//
// Contracts common to every method of this package's stores: ctx is
// honoured; a missing record yields an error wrapping sso.ErrNotFound; a
// uniqueness violation yields one wrapping sso.ErrConflict and writes
// nothing; records passed in are not retained, records returned are
// copies; every method is safe for concurrent use, also across replicas
// sharing the database.
type InvitationStore interface {
	// CreateInvitation stores inv. ID and TokenHash are each unique, and
	// so is a pending invitation per (OrgID, Email): creating a pending
	// inv marks the organization's pending invitations of the address
	// that expired by inv.CreatedAt StatusExpired (UpdatedAt
	// inv.CreatedAt), and fails with ErrConflict, writing nothing, while
	// one has not expired. Both in one atomic write, so of concurrent
	// invitations of one address one wins.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// GetInvitation returns the invitation id of orgID; one of another
	// organization is ErrNotFound.
	GetInvitation(ctx context.Context, orgID, id string) (*Invitation, error)
	// FindInvitation returns the invitation whose TokenHash is tokenHash.
	FindInvitation(ctx context.Context, tokenHash string) (*Invitation, error)
	// ListInvitations returns the organization's invitations, newest
	// first.
	ListInvitations(ctx context.Context, orgID string) ([]*Invitation, error)
	// ListPendingInvitations returns the invitations of every
	// organization for the lower-cased address email still in
	// StatusPending (expired ones included), oldest first.
	ListPendingInvitations(ctx context.Context, email string) ([]*Invitation, error)
	// UpdateInvitation replaces the invitation inv.ID of inv.OrgID if its
	// stored TokenHash still equals oldTokenHash, atomically; otherwise it
	// fails with ErrConflict (a concurrent use, resend or revocation won)
	// and writes nothing. A replacement that would make a second pending
	// invitation of an address in the organization fails with ErrConflict
	// too.
	UpdateInvitation(ctx context.Context, inv *Invitation, oldTokenHash string) error
}

// JoinStore stores auto-join policies and join requests.
type JoinStore interface {
	// GetAutoJoin returns the organization's policy; ErrNotFound when none
	// was set (which means ModeOff).
	GetAutoJoin(ctx context.Context, orgID string) (*AutoJoin, error)
	// PutAutoJoin creates or replaces the organization's policy.
	PutAutoJoin(ctx context.Context, p *AutoJoin) error
	// CreateJoinRequest stores jr. ID is unique, and so is a pending
	// request per (OrgID, UserID).
	CreateJoinRequest(ctx context.Context, jr *JoinRequest) error
	// GetJoinRequest returns the request id of orgID.
	GetJoinRequest(ctx context.Context, orgID, id string) (*JoinRequest, error)
	// ListJoinRequests returns the organization's requests in status
	// ("" for all), newest first.
	ListJoinRequests(ctx context.Context, orgID string, status Status) ([]*JoinRequest, error)
	// DecideJoinRequest replaces the request jr.ID of jr.OrgID if it is
	// still pending, atomically; otherwise ErrConflict.
	DecideJoinRequest(ctx context.Context, jr *JoinRequest) error
}

// EventBinder is an optional capability of a Store on the same database
// as the events: WithEvents returns a view whose CreateInvitation,
// UpdateInvitation, PutAutoJoin, CreateJoinRequest and DecideJoinRequest
// also append evs to the events in the same transaction, so an
// invitation, policy or join-request change is never stored without the
// audit events that describe it, and a change that fails (or whose events
// are refused) stores neither. Use one view for one write.
// store/sqlstore/sqlinvite and store/memstore/meminvite implement it;
// with a Store without it the Manager records the events through
// Config.Auditor after the change, so a crash between the two loses them.
// The events must go where Config.Auditor records them (the stores of one
// database do).
type EventBinder interface {
	WithEvents(evs ...*sso.Event) Store
}

// UserFinder finds the account of an address in the core user records.
type UserFinder interface {
	// FindVerifiedUser returns the user whose lower-cased Email equals
	// email and whose email is verified; of several, the earliest created
	// (then the smallest ID). An unverified account is never returned.
	FindVerifiedUser(ctx context.Context, email string) (*sso.User, error)
}

// Store is every capability a Manager needs. store/memstore/meminvite and
// store/sqlstore/sqlinvite implement it; invitetest.Run proves an
// implementation.
type Store interface {
	InvitationStore
	JoinStore
	UserFinder
}
