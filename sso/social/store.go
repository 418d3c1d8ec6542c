package social

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Identity links an account at a social provider to a user. It belongs to
// no organization: (Provider, Subject) is unique across the whole store.
type Identity struct {
	// Provider is the provider's name ("google", "microsoft", "github").
	Provider string
	// Subject is the provider's stable account ID (the OIDC sub, or
	// GitHub's numeric user ID), never an email or a
	// login name, which can change hands.
	Subject string
	UserID  string
	// Email is the address the provider last reported, lower-cased, and
	// EmailVerified whether it said the address is verified. Neither is a
	// key: they are shown in the user's list of linked accounts.
	Email         string
	EmailVerified bool
	CreatedAt     time.Time
	LastLoginAt   time.Time
}

// Store keeps social identities and finds link targets.
//
// Contracts common to every method: ctx is honoured; a missing record
// yields an error wrapping sso.ErrNotFound; a uniqueness violation yields
// one wrapping sso.ErrConflict and writes nothing; records passed in are
// not retained, records returned are copies; every method is safe for
// concurrent use, also across replicas sharing the database.
// store/memstore/memsocial and store/sqlstore/sqlsocial implement it;
// socialtest.Run proves an implementation.
type Store interface {
	// CreateIdentity stores id; an existing (Provider, Subject) yields
	// ErrConflict.
	CreateIdentity(ctx context.Context, id *Identity) error
	// GetIdentity returns the identity of (provider, subject).
	GetIdentity(ctx context.Context, provider, subject string) (*Identity, error)
	// ListUserIdentities returns the user's identities ordered by
	// CreatedAt, then Provider (empty, not an error, when none).
	ListUserIdentities(ctx context.Context, userID string) ([]*Identity, error)
	// TouchIdentity records a login: it sets LastLoginAt, Email and
	// EmailVerified of (provider, subject).
	TouchIdentity(ctx context.Context, provider, subject, email string, verified bool, at time.Time) error
	// DeleteIdentity removes the user's identity of (provider, subject); an
	// identity of another user yields ErrNotFound. With keepLast it removes
	// it only while the user keeps another way to sign in that the store's
	// database holds (another identity, a passkey, a password), and fails
	// with ErrConflict otherwise. The count and the removal are one
	// operation, serialized per user with every other keep-last removal of
	// the user's ways in, of whatever capability (passkey.Store's
	// DeleteCredential too): of concurrent keep-last removals of a user's
	// last two ways in, exactly one succeeds.
	DeleteIdentity(ctx context.Context, userID, provider, subject string, keepLast bool) error
	// FindUsersByEmail returns the users whose (lower-cased) Email equals
	// email, verified or not, ordered by CreatedAt then ID (empty, not an
	// error, when none). Linking picks among the verified ones.
	FindUsersByEmail(ctx context.Context, email string) ([]*sso.User, error)
}
