// Package sqlbase holds what package sqlstore shares with its capability
// packages (sqlsaml, sqloidc, sqlscim, sqlmfa): the database handle and
// clock of a Store, transactions, error mapping to the sso sentinels, the
// per-user lock and count of the keep-last removals of ways to sign in, and
// the encoding of times, JSON and the core rows a SCIM write touches. It is
// not API: hosts use sqlstore and the capability packages.
package sqlbase

import (
	"context"
	"database/sql"
	"time"
)

// Base is the part of a *sqlstore.Store that its capability packages share:
// the same database and the same clock.
type Base struct {
	DB  *sql.DB
	Now func() time.Time
}

// Of returns the Base of a *sqlstore.Store. Package sqlstore sets it in its
// init function; it takes any because this package cannot import sqlstore,
// which imports it. It panics on a nil store.
var Of func(store any) Base

// Querier is what *sql.DB and *sql.Tx have in common.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Scanner is what *sql.Row and *sql.Rows have in common.
type Scanner interface{ Scan(dest ...any) error }

// InTx runs fn in a transaction on db, committing when it returns nil. On
// SQLite the transaction starts as a write transaction at once (BEGIN
// IMMEDIATE semantics through a dummy write is not needed: modernc retries
// on SQLITE_BUSY within busy_timeout), and on both dialects a serialization
// or busy failure is retried a few times.
func InTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = tryTx(ctx, db, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func tryTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Wrap(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return Wrap(err)
	}
	return nil
}
