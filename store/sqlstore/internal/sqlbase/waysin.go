package sqlbase

import (
	"context"
	"database/sql"
	"strings"
)

// waysInLockID is the first key of the PostgreSQL advisory lock that
// serializes the keep-last removals of one user's ways to sign in; the
// second is a hash of the schema and the user ID.
const waysInLockID = 0x57_41_59_53

// LockWaysIn takes, on PostgreSQL, the transaction-scoped lock on the
// user's ways to sign in (passkeys, social identities, a password). Every
// keep-last removal, of whichever capability, takes it before it counts
// them: a removal counts in its own snapshot, so two removals of a user's
// last two ways, of two capabilities, would otherwise each count the other
// and both go. With the lock the second waits for the first's commit and
// counts again. It is an advisory lock, not a lock on the user's row, so
// it holds also for users the core store does not keep. SQLite needs none:
// it runs one writer at a time and the DELETE that counts is the first
// statement of its transaction.
func LockWaysIn(ctx context.Context, tx *sql.Tx, userID string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || '/' || $2))`, waysInLockID, userID)
	return Wrap(err)
}

// waysIn counts the ways to sign in of the user in the placeholder USER:
// every capability's table of them is in one database, created by
// sqlstore.Store.Migrate.
const waysIn = `((SELECT COUNT(*) FROM ssokit_passkeys WHERE user_id = USER)` +
	` + (SELECT COUNT(*) FROM ssokit_social_identities WHERE user_id = USER)` +
	` + (SELECT COUNT(*) FROM ssokit_password_credentials WHERE user_id = USER))`

// WaysIn returns an SQL expression counting the ways to sign in
// (passkeys, social identities, a password) of the user whose ID is the
// query's parameter param, say "$2". A keep-last DELETE adds
// "AND <WaysIn> > 1" to its conditions, after LockWaysIn.
func WaysIn(param string) string { return strings.ReplaceAll(waysIn, "USER", param) }
