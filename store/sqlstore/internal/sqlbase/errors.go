package sqlbase

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

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

// Wrap maps driver errors to the sso sentinels: sql.ErrNoRows becomes
// ErrNotFound, unique violations ErrConflict, text the database refuses
// ErrInvalidInput, connection failures ErrUnavailable. Context errors are
// returned as they are, others with a package prefix.
func Wrap(err error) error {
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

// MustAffect turns an update or delete that touched no row into ErrNotFound.
func MustAffect(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sso.ErrNotFound
	}
	return nil
}
