package emailcode

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Challenge is one emailed sign-in: a code and a link that both consume
// it. The store keeps only hashes of the code, the link token and the
// browser nonce.
type Challenge struct {
	// ID is a random public identifier, carried in the requesting
	// browser's cookie next to the nonce. Unique.
	ID string
	// Email is the address the challenge was sent to, lower-cased.
	Email string
	// UserID is the account signing in, or empty for a sign-up (or for an
	// address that gets no email at all: such a challenge can never be
	// completed).
	UserID string
	// CodeHash is the SHA-256 of the challenge ID and the code.
	CodeHash string
	// LinkHash is the SHA-256 of the link token. Unique.
	LinkHash string
	// BrowserHash is the SHA-256 of the nonce in the requesting browser's
	// cookie.
	BrowserHash string
	// Org is the slug of the organization asked for (may be empty).
	Org string
	// ReturnTo is the same-origin path to go to after signing in.
	ReturnTo string
	// Attempts counts wrong codes entered.
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ChallengeStore stores challenges.
//
// Contracts common to every method of this package's stores: ctx is
// honoured; a missing record yields an error wrapping sso.ErrNotFound; a
// uniqueness violation yields one wrapping sso.ErrConflict and writes
// nothing; records passed in are not retained, records returned are
// copies; every method is safe for concurrent use, also across replicas
// sharing the database.
type ChallengeStore interface {
	// CreateChallenge stores c. ID and LinkHash are each unique.
	CreateChallenge(ctx context.Context, c *Challenge) error
	// GetChallenge returns the challenge with id, whatever its expiry
	// (callers check ExpiresAt).
	GetChallenge(ctx context.Context, id string) (*Challenge, error)
	// FindChallengeByLink returns the challenge whose LinkHash equals
	// linkHash, whatever its expiry.
	FindChallengeByLink(ctx context.Context, linkHash string) (*Challenge, error)
	// AddAttempt adds one to the challenge's Attempts and returns the new
	// count, atomically: of n concurrent callers each sees a different
	// count.
	AddAttempt(ctx context.Context, id string) (int, error)
	// TakeChallenge deletes and returns the challenge with id. Of
	// concurrent callers exactly one gets it; the others get ErrNotFound.
	TakeChallenge(ctx context.Context, id string) (*Challenge, error)
	// DeleteChallenges deletes every challenge sent to email. Deleting none
	// is not an error.
	DeleteChallenges(ctx context.Context, email string) error
}

// CounterStore counts events per key in a window, shared by every replica.
type CounterStore interface {
	// Count counts one event of key at now and returns the key's count,
	// atomically: a key whose window started before windowStart starts
	// again at 1 with its window starting at now.
	Count(ctx context.Context, key string, now, windowStart time.Time) (int, error)
}

// UserFinder finds the account of an address in the core user records.
type UserFinder interface {
	// FindVerifiedUser returns the user whose lower-cased Email equals
	// email and whose email is verified; of several, the earliest created
	// (then the smallest ID). A user whose email is not verified is never
	// returned: an unproven address must not become a sign-in target.
	FindVerifiedUser(ctx context.Context, email string) (*sso.User, error)
}

// Store is every capability a Manager needs. store/memstore/mememailcode
// and store/sqlstore/sqlemailcode implement it; emailcodetest.Run proves
// an implementation.
type Store interface {
	ChallengeStore
	CounterStore
	UserFinder
}
