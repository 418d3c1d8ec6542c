package sqlbase

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// TS converts a time to the stored form: Unix microseconds, 0 for the zero
// time.
func TS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromTS converts a stored time back; 0 becomes the zero time. Times come
// back in UTC.
func FromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// Limit turns a caller's limit into a LIMIT argument: zero or negative
// means no limit, as in memstore.
func Limit(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}

// ToJSON encodes a nested value for a TEXT column.
func ToJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode: %w", err)
	}
	return string(b), nil
}

// FromJSON decodes a TEXT column written by ToJSON into v.
func FromJSON(s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("sqlstore: decode: %w", err)
	}
	return nil
}

// Collect runs a query on q and scans every row with scan.
func Collect[T any](ctx context.Context, q Querier, scan func(Scanner) (*T, error), query string, args ...any) ([]*T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, Wrap(err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, Wrap(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, Wrap(err)
	}
	return out, nil
}

// GetOne runs a single-row query on q and maps sql.ErrNoRows to an
// ErrNotFound naming what.
func GetOne[T any](ctx context.Context, q Querier, what string, scan func(Scanner) (*T, error), query string, args ...any) (*T, error) {
	v, err := scan(q.QueryRowContext(ctx, query, args...))
	if err != nil {
		err = Wrap(err)
		if err == sso.ErrNotFound {
			return nil, fmt.Errorf("sqlstore: %s: %w", what, err)
		}
		return nil, err
	}
	return v, nil
}

// Columns and statements of the core rows that a SCIM write changes in the
// same transaction as its own.
const (
	UserCols     = `id, email, email_lower, email_verified, given_name, family_name, display_name, created_at, updated_at`
	InsertUser   = `INSERT INTO ssokit_users (` + UserCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	MemberCols   = `org_id, user_id, roles, status, source, external_id, break_glass, joined_at, updated_at`
	InsertMember = `INSERT INTO ssokit_memberships (` + MemberCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
)

// UserArgs returns the arguments of InsertUser for u.
func UserArgs(u *sso.User) []any {
	return []any{u.ID, u.Email, strings.ToLower(u.Email), u.EmailVerified, u.GivenName, u.FamilyName, u.DisplayName, TS(u.CreatedAt), TS(u.UpdatedAt)}
}

// MemberArgs returns the arguments of InsertMember for m.
func MemberArgs(m *sso.Membership) ([]any, error) {
	roles, err := ToJSON(m.Roles)
	if err != nil {
		return nil, err
	}
	return []any{m.OrgID, m.UserID, roles, string(m.Status), string(m.Source), m.ExternalID, m.BreakGlass, TS(m.JoinedAt), TS(m.UpdatedAt)}, nil
}
