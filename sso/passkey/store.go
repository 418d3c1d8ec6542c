package passkey

import (
	"context"
	"time"
)

// Credential is a passkey: a discoverable WebAuthn credential registered
// as a sign-in credential of a user.
type Credential struct {
	// ID is the credential ID chosen by the authenticator; globally unique.
	ID     []byte
	UserID string
	// Name is a user-chosen label ("MacBook Touch ID").
	Name string
	// Data is the JSON of the go-webauthn credential record (public key,
	// flags, transports, AAGUID). It holds no secret.
	Data []byte
	// SignCount is the authenticator's signature counter as last seen.
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Ceremony is the server-side state of a registration or login between its
// begin and finish steps.
type Ceremony struct {
	// ID is a random value handed to the client.
	ID string
	// UserID and SessionID are the registering session's (empty for a
	// login).
	UserID    string
	SessionID string
	// Kind is "register" or "login".
	Kind string
	// Data is the JSON of the go-webauthn session data (the challenge).
	Data      []byte
	ExpiresAt time.Time
}

// Store keeps passkeys and ceremonies.
//
// Contracts common to every method: ctx is honoured; a missing record
// yields an error wrapping sso.ErrNotFound; a uniqueness violation yields
// one wrapping sso.ErrConflict and writes nothing; records passed in are not
// retained, records returned are copies; every method is safe for
// concurrent use, also across replicas sharing the database.
// store/memstore/mempasskey and store/sqlstore/sqlpasskey implement it;
// passkeytest.Run proves an implementation.
type Store interface {
	// CreateCredential stores c; a credential ID already stored (for any
	// user) yields ErrConflict.
	CreateCredential(ctx context.Context, c *Credential) error
	// GetCredential returns the credential with id, whoever owns it.
	GetCredential(ctx context.Context, id []byte) (*Credential, error)
	// ListCredentials returns the user's credentials in creation order
	// (empty, not an error, when none).
	ListCredentials(ctx context.Context, userID string) ([]*Credential, error)
	// UpdateUse records a successful assertion: a compare-and-set that
	// stores newCount, data and at only if the stored SignCount still
	// equals oldCount (ErrConflict otherwise).
	UpdateUse(ctx context.Context, id []byte, oldCount, newCount uint32, data []byte, at time.Time) error
	// RenameCredential sets the name of the user's credential id.
	RenameCredential(ctx context.Context, userID string, id []byte, name string) error
	// DeleteCredential removes the user's credential id (ErrNotFound when
	// it is not the user's). With keepLast it removes it only while the
	// user keeps another way to sign in that the store's database holds
	// (another passkey, a linked social identity, a password), and fails
	// with ErrConflict otherwise. The count and the removal are one
	// operation, serialized per user with every other keep-last removal of
	// the user's ways in, of whatever capability (social.Store's
	// DeleteIdentity too): of concurrent keep-last removals of a user's
	// last two ways in, exactly one succeeds.
	DeleteCredential(ctx context.Context, userID string, id []byte, keepLast bool) error
	// SaveCeremony stores c; a duplicate ID yields ErrConflict.
	SaveCeremony(ctx context.Context, c *Ceremony) error
	// TakeCeremony atomically removes and returns the ceremony: of
	// concurrent calls exactly one gets it. An expired one yields
	// ErrNotFound.
	TakeCeremony(ctx context.Context, id string) (*Ceremony, error)
}
