package mfa

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// The storage interfaces mfa consumes, split by capability.
// store/memstore/memmfa and store/sqlstore/sqlmfa implement all of them; a
// host may implement them on its own database and prove it with
// store/storetest.
//
// Contracts common to every method unless its doc says otherwise:
//   - ctx is honoured for cancellation and deadlines;
//   - a missing record yields an error wrapping sso.ErrNotFound;
//   - a uniqueness violation yields an error wrapping sso.ErrConflict and
//     writes nothing;
//   - records passed in are not retained and records returned are copies;
//   - every method is safe for concurrent use, and the methods documented as
//     atomic have exactly one winner however many callers race.

// TOTPFactor is a user's TOTP authenticator. Secret is sealed with the
// Manager's sso.Sealer (associated data: the user ID); the plaintext seed
// never reaches a store.
type TOTPFactor struct {
	UserID string
	// Secret is the sealed 160-bit seed.
	Secret string
	// Active is false while the enrolment waits for its confirming code.
	Active bool
	// LastStep is the highest time step (Unix time / 30 s) whose code was
	// accepted. A code is accepted only for a strictly greater step.
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt time.Time
	LastUsedAt  time.Time
}

// String implements fmt.Stringer without the sealed secret.
func (f TOTPFactor) String() string {
	return fmt.Sprintf("mfa.TOTPFactor{UserID: %q, Active: %v, LastStep: %d, Secret: REDACTED}", f.UserID, f.Active, f.LastStep)
}

// LogValue implements slog.LogValuer; it never logs the sealed secret.
func (f TOTPFactor) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user_id", f.UserID), slog.Bool("active", f.Active),
		slog.Int64("last_step", f.LastStep), slog.String("secret", "REDACTED"))
}

// TOTPStore stores TOTP factors, one per user.
type TOTPStore interface {
	// PutPendingTOTP stores f (with Active false) as the user's pending
	// enrolment, replacing an earlier pending one. If the user already has an
	// active factor it fails with sso.ErrConflict and writes nothing,
	// atomically.
	PutPendingTOTP(ctx context.Context, f *TOTPFactor) error
	// GetTOTP returns the user's factor, pending or active.
	GetTOTP(ctx context.Context, userID string) (*TOTPFactor, error)
	// ActivateTOTP turns the user's pending factor whose Secret equals
	// secret active, and records step as its LastStep and at as ConfirmedAt
	// and LastUsedAt. Atomic compare-and-set: it fails with sso.ErrConflict
	// when the factor is already active and with sso.ErrNotFound when there
	// is no pending factor with that secret (none, or replaced meanwhile).
	ActivateTOTP(ctx context.Context, userID, secret string, step int64, at time.Time) error
	// AdvanceTOTPStep is the replay guard: a compare-and-set that sets the
	// active factor's LastStep to step (and LastUsedAt to at) only if step is
	// strictly greater than the stored LastStep. It reports whether it did.
	// Concurrent calls with one step have exactly one winner. No active
	// factor yields sso.ErrNotFound.
	AdvanceTOTPStep(ctx context.Context, userID string, step int64, at time.Time) (bool, error)
	// DeleteTOTP removes the user's factor, pending or active.
	DeleteTOTP(ctx context.Context, userID string) error
}

// RecoveryStore stores hashed recovery codes.
type RecoveryStore interface {
	// ReplaceRecoveryCodes atomically deletes the user's codes, used or not,
	// and stores hashes as the new set.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error
	// UseRecoveryCode marks the unused code with the given hash as used at
	// at. Atomic and single-use: of concurrent calls with one hash exactly one
	// succeeds; an unknown or already used hash yields sso.ErrNotFound.
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) error
	// CountRecoveryCodes returns how many unused codes the user has (0, not
	// an error, when none).
	CountRecoveryCodes(ctx context.Context, userID string) (int, error)
	// DeleteRecoveryCodes removes every code of the user (no error when
	// none).
	DeleteRecoveryCodes(ctx context.Context, userID string) error
}

// Attempts is a user's failed second-factor attempts, shared by every entry
// point (TOTP, recovery codes, WebAuthn) and every replica.
type Attempts struct {
	UserID string
	// Failures counts failures since the last success (or since the window
	// restarted).
	Failures      int
	LastFailureAt time.Time
	// LockedUntil, when in the future, refuses every attempt.
	LockedUntil time.Time
}

// AttemptStore stores failure counters for rate limiting.
type AttemptStore interface {
	// GetAttempts returns the user's counters, or sso.ErrNotFound when the
	// user has none.
	GetAttempts(ctx context.Context, userID string) (*Attempts, error)
	// AddFailure atomically increments the user's failure count (creating
	// the record) and sets LastFailureAt to at. When the previous failure was
	// before restartBefore, the count restarts at 1. It returns the new
	// count; concurrent calls each get a distinct count.
	AddFailure(ctx context.Context, userID string, at, restartBefore time.Time) (int, error)
	// LockUntil sets LockedUntil to until unless a later lock is stored.
	LockUntil(ctx context.Context, userID string, until time.Time) error
	// ResetAttempts clears the user's counters and lock (no error when
	// none).
	ResetAttempts(ctx context.Context, userID string) error
}

// WebAuthnCredential is a registered security key or passkey.
type WebAuthnCredential struct {
	// ID is the credential ID chosen by the authenticator; it is globally
	// unique.
	ID     []byte
	UserID string
	// Name is a user-chosen label ("YubiKey 5").
	Name string
	// Data is the JSON of the go-webauthn credential record (public key,
	// flags, transports, AAGUID). It holds no secret.
	Data []byte
	// SignCount is the authenticator's signature counter as last seen.
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Ceremony is the server-side state of a WebAuthn registration or login
// between its begin and finish steps.
type Ceremony struct {
	// ID is a random value handed to the client.
	ID        string
	UserID    string
	SessionID string
	// Kind is "register" or "login".
	Kind string
	// Data is the JSON of the go-webauthn session data (the challenge).
	Data      []byte
	ExpiresAt time.Time
}

// WebAuthnStore stores WebAuthn credentials and ceremonies.
type WebAuthnStore interface {
	// CreateWebAuthnCredential stores c; a credential ID already stored (for
	// any user) yields sso.ErrConflict.
	CreateWebAuthnCredential(ctx context.Context, c *WebAuthnCredential) error
	// ListWebAuthnCredentials returns the user's credentials in creation
	// order (empty, not an error, when none).
	ListWebAuthnCredentials(ctx context.Context, userID string) ([]*WebAuthnCredential, error)
	// UpdateWebAuthnUse records a successful assertion: a compare-and-set
	// that stores newCount, data and at only if the stored SignCount still
	// equals oldCount. A changed counter yields sso.ErrConflict; an unknown
	// credential of the user sso.ErrNotFound.
	UpdateWebAuthnUse(ctx context.Context, userID string, id []byte, oldCount, newCount uint32, data []byte, at time.Time) error
	// DeleteWebAuthnCredential removes one of the user's credentials.
	DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error
	// SaveCeremony stores c; a duplicate ID yields sso.ErrConflict.
	SaveCeremony(ctx context.Context, c *Ceremony) error
	// TakeCeremony atomically removes and returns the ceremony: of
	// concurrent calls exactly one gets it, the rest sso.ErrNotFound. An
	// expired ceremony is removed and yields sso.ErrNotFound.
	TakeCeremony(ctx context.Context, id string) (*Ceremony, error)
}

// Store is every storage capability mfa uses.
type Store interface {
	TOTPStore
	RecoveryStore
	AttemptStore
	WebAuthnStore
}
