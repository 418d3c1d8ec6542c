// Package sqlstore implements every ssokit storage interface on a
// *sql.DB, for two dialects: SQLite (modernc.org/sqlite, pure Go, the
// embedded default) and PostgreSQL (github.com/jackc/pgx/v5/stdlib).
//
// The host opens the database with the driver of its choice and passes it to
// New, so a PostgreSQL host never links SQLite and vice versa. Call Migrate
// once at start; it is idempotent and safe when several replicas start at
// once.
//
//	db, _ := sql.Open("pgx", os.Getenv("DATABASE_URL"))
//	st, _ := sqlstore.New(db, sqlstore.Postgres)
//	if err := st.Migrate(ctx); err != nil { ... }
//
// For SQLite, open the file with WAL and a busy timeout, for example
// "file:ssokit.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)";
// see SQLiteDSN.
//
// # Schema
//
// Tables are prefixed "ssokit_" so they can share the host's database.
// Times are stored as BIGINT Unix microseconds and nested configuration as
// JSON text; both dialects run the same embedded migrations.
//
// # Security notes
//
// Uniqueness that security depends on is enforced by the database, never by
// read-then-write: a partial unique index allows one verified holder per
// domain name, identities are unique on (org, issuer, subject), and slugs and
// SCIM token hashes are unique. Provision runs in one transaction. AppendEvent
// locks the organization's audit-chain head row (the database write lock on
// SQLite), so concurrent appends never fork the hash chain. Every lookup is
// served by an index; TestQueryPlans checks the plans on both dialects.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Dialect selects the SQL dialect of the database behind a Store.
type Dialect int

// Supported dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// Store implements the ssokit storage interfaces on a *sql.DB.
type Store struct {
	db      *sql.DB
	dialect Dialect
	now     func() time.Time
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read time from now (for expiry) instead of
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns a Store on db. It does not touch the database; call Migrate.
func New(db *sql.DB, d Dialect, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: sqlstore: nil *sql.DB", sso.ErrInvalidConfig)
	}
	if d != SQLite && d != Postgres {
		return nil, fmt.Errorf("%w: sqlstore: unknown dialect %v", sso.ErrInvalidConfig, d)
	}
	s := &Store{db: db, dialect: d, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// DB returns the underlying database handle.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect returns the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// SQLiteDSN returns a modernc.org/sqlite data source name for the file at
// path with the settings sqlstore expects: WAL journal, a busy timeout and
// foreign keys on.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in a transaction, committing when it returns nil. On SQLite
// the transaction starts as a write transaction at once (BEGIN IMMEDIATE
// semantics through a dummy write is not needed: modernc retries on
// SQLITE_BUSY within busy_timeout), and on both dialects a serialization or
// busy failure is retried a few times.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tryTx(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func (s *Store) tryTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(err)
	}
	return nil
}

// codeErr is implemented by modernc.org/sqlite errors.
type codeErr interface{ Code() int }

// stateErr is implemented by pgx's *pgconn.PgError.
type stateErr interface{ SQLState() string }

// SQLite extended result codes used below.
const (
	sqliteBusy             = 5
	sqliteLocked           = 6
	sqliteConstraintPK     = 1555
	sqliteConstraintUnique = 2067
	sqliteBusySnapshot     = 517
)

func retryable(err error) bool {
	var ce codeErr
	if errors.As(err, &ce) {
		c := ce.Code()
		return c&0xff == sqliteBusy || c&0xff == sqliteLocked
	}
	var se stateErr
	if errors.As(err, &se) {
		switch se.SQLState() {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}

// isUnique reports whether err is a unique or primary-key violation.
func isUnique(err error) bool {
	var ce codeErr
	if errors.As(err, &ce) {
		c := ce.Code()
		return c == sqliteConstraintUnique || c == sqliteConstraintPK
	}
	var se stateErr
	if errors.As(err, &se) {
		return se.SQLState() == "23505"
	}
	return false
}

// isBadText reports whether PostgreSQL refused a value's bytes: a NUL
// character (22021) or text the database encoding cannot hold (22P05).
func isBadText(err error) bool {
	var se stateErr
	if errors.As(err, &se) {
		switch se.SQLState() {
		case "22021", "22P05":
			return true
		}
	}
	return false
}

// isUnavailable reports whether err means the database could not be reached
// (connection refused or reset, server shutting down).
func isUnavailable(err error) bool {
	var se stateErr
	if errors.As(err, &se) {
		st := se.SQLState()
		return strings.HasPrefix(st, "08") || st == "57P01" || st == "57P02" || st == "57P03"
	}
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "sql: database is closed") || strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "failed to connect") || strings.Contains(msg, "conn closed")
}

// wrap maps driver errors to the sso sentinels: sql.ErrNoRows becomes
// ErrNotFound, unique violations ErrConflict, connection failures
// ErrUnavailable. Other errors are returned with a package prefix.
func (s *Store) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return sso.ErrNotFound
	case isUnique(err):
		return fmt.Errorf("%w: %v", sso.ErrConflict, err)
	case isBadText(err):
		return fmt.Errorf("%w: sqlstore: %v", sso.ErrInvalidInput, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case isUnavailable(err):
		return fmt.Errorf("%w: sqlstore: %v", sso.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlstore: %w", err)
}

// mustAffect turns an update or delete that touched no row into ErrNotFound.
func mustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sso.ErrNotFound
	}
	return nil
}

// ts converts a time to the stored form: Unix microseconds, 0 for the zero
// time.
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromTS converts a stored time back; 0 becomes the zero time. Times come
// back in UTC.
func fromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
