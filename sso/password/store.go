package password

import (
	"context"
	"time"
)

// Credential is a user's password. The store keeps it as an argon2id PHC
// string, never the password.
type Credential struct {
	UserID string
	// Email is the sign-in address, lower-cased; unique among credentials.
	Email string
	// Hash is the argon2id PHC string.
	Hash string
	// Version counts password changes. Tokens record the version they were
	// issued at and are refused once it moved on.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TokenKind says what a Token is for.
type TokenKind string

// Token kinds.
const (
	TokenVerify TokenKind = "verify" // proves the email address
	TokenReset  TokenKind = "reset"  // sets a new password
)

// Token is a single-use email token. The store keeps only the SHA-256 of
// the bearer value sent by email.
type Token struct {
	// Hash is the hex SHA-256 of the bearer value.
	Hash   string
	Kind   TokenKind
	UserID string
	Email  string
	// Version is the Credential.Version the token was issued at.
	Version   int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CredentialStore stores credentials. UserID and Email are each unique.
//
// Contracts common to every method of this package's stores: ctx is
// honoured; a missing record yields an error wrapping sso.ErrNotFound; a
// uniqueness violation yields one wrapping sso.ErrConflict and writes
// nothing; records passed in are not retained, records returned are
// copies; every method is safe for concurrent use, also across replicas
// sharing the database.
type CredentialStore interface {
	CreateCredential(ctx context.Context, c *Credential) error
	GetCredential(ctx context.Context, userID string) (*Credential, error)
	// FindCredential returns the credential whose Email equals email.
	FindCredential(ctx context.Context, email string) (*Credential, error)
	// UpdateCredential replaces the credential of c.UserID if its stored
	// Hash still equals oldHash, atomically; otherwise it fails with
	// ErrConflict (a concurrent change won) and writes nothing.
	UpdateCredential(ctx context.Context, c *Credential, oldHash string) error
}

// TokenStore stores single-use email tokens. Hashes are unique.
type TokenStore interface {
	CreateToken(ctx context.Context, t *Token) error
	// TakeToken deletes and returns the token with hash and kind, whatever
	// its expiry (callers check ExpiresAt). Of concurrent callers with one
	// hash exactly one gets it; the others get ErrNotFound, as does a hash
	// of another kind (which stays stored).
	TakeToken(ctx context.Context, kind TokenKind, hash string) (*Token, error)
	// DeleteTokens deletes every token of kind of the user. Deleting none
	// is not an error.
	DeleteTokens(ctx context.Context, userID string, kind TokenKind) error
}

// ThrottleStore counts failed attempts per key (an opaque string such as a
// hash of an account or an address), shared by every replica.
type ThrottleStore interface {
	// Failures returns the key's failure count and the time of its last
	// failure; zero values (and no error) for a key never seen.
	Failures(ctx context.Context, key string) (n int, last time.Time, err error)
	// RecordFailure counts one failure at now and returns the new count,
	// atomically: a key whose last failure is before forgetBefore starts
	// again at 1.
	RecordFailure(ctx context.Context, key string, now, forgetBefore time.Time) (int, error)
	// ResetFailures forgets the key. Resetting an unknown key is not an
	// error.
	ResetFailures(ctx context.Context, key string) error
	// CountAttempt counts one failure at now on the key of every slot,
	// atomically and only if every key is still open, and returns the new
	// counts in the order of slots. A key is open when its count (zero if
	// its last failure is before forgetBefore) is below the slot's Free, or
	// when it still holds the slot's N and Last. When some key is not open
	// it writes nothing and returns nil and no error. Like RecordFailure, a
	// key whose last failure is before forgetBefore starts again at 1.
	CountAttempt(ctx context.Context, slots []ThrottleSlot, now, forgetBefore time.Time) ([]int, error)
	// UncountAttempt takes back the failure that CountAttempt counted on
	// key at `at`, bringing its count to n: a key that still holds n and
	// at returns to n-1 failures, the last at prevLast; a key that counted
	// other failures since only loses one from its count; a key without
	// failures is left alone. Uncounting an unknown key is not an error.
	UncountAttempt(ctx context.Context, key string, n int, at, prevLast time.Time) error
}

// ThrottleSlot is one key of ThrottleStore.CountAttempt: the failure
// count and last failure time its caller read with Failures, and how many
// failures the key allows before its delays start.
type ThrottleSlot struct {
	Key  string
	N    int
	Last time.Time
	Free int
}

// Store is every capability a Manager needs. store/memstore/mempassword
// and store/sqlstore/sqlpassword implement it; passwordtest.Run proves an
// implementation.
type Store interface {
	CredentialStore
	TokenStore
	ThrottleStore
}
