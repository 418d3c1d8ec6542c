package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ login.Loader = (*Store)(nil)

// qLoadLogin reads the Records of a login in one statement: the
// organization ($1), the verified holder of the email's domain ($4), the
// (organization, issuer, subject) identity ($2, $3), and the identity's
// user and membership. Every join is on a unique key, so it returns at most
// one row, and none when the organization does not exist; a joined table
// without a match yields NULL columns. Organization IDs are compared with
// $1 rather than o.id so that each join keeps its index's collation on
// PostgreSQL.
var qLoadLogin = `SELECT ` + strings.Join([]string{
	prefixCols("o", orgCols), prefixCols("d", domainCols), prefixCols("i", identityCols),
	prefixCols("u", sqlbase.UserCols), prefixCols("m", sqlbase.MemberCols)}, ", ") + `
	FROM ssokit_orgs o
	LEFT JOIN ssokit_domains d ON d.name = $4 AND d.state = 'verified'
	LEFT JOIN ssokit_identities i ON i.org_id = $1 AND i.issuer = $2 AND i.subject = $3
	LEFT JOIN ssokit_users u ON u.id = i.user_id
	LEFT JOIN ssokit_memberships m ON m.org_id = $1 AND m.user_id = i.user_id
	WHERE o.id = $1`

// prefixCols qualifies each column of a column list with a table alias.
func prefixCols(alias, cols string) string {
	names := strings.Split(cols, ", ")
	for i, n := range names {
		names[i] = alias + "." + n
	}
	return strings.Join(names, ", ")
}

// colCount is the number of columns in a column list.
func colCount(cols string) int { return strings.Count(cols, ",") + 1 }

// LoadLogin implements login.Loader with one statement, so the records are
// one consistent read.
func (s *Store) LoadLogin(ctx context.Context, orgID, issuer, subject, emailDomain string) (*login.Records, error) {
	return sqlbase.GetOne(ctx, s.db, "organization", scanLogin, qLoadLogin, orgID, issuer, subject, emailDomain)
}

// scanLogin scans a qLoadLogin row. Each table's columns go through the
// table's own scan function, or make a nil record when the table's first
// column, NOT NULL in the schema, is NULL (its LEFT JOIN found no row; the
// user and membership are joined through the identity, so they are NULL
// without one).
func scanLogin(r sqlbase.Scanner) (*login.Records, error) {
	row, err := scanNullable(r, colCount(orgCols)+colCount(domainCols)+colCount(identityCols)+
		colCount(sqlbase.UserCols)+colCount(sqlbase.MemberCols))
	if err != nil {
		return nil, err
	}
	var recs login.Records
	if recs.Org, err = joined(row, colCount(orgCols), scanOrg); err != nil {
		return nil, err
	}
	if recs.Domain, err = joined(row, colCount(domainCols), scanDomain); err != nil {
		return nil, err
	}
	if recs.Identity, err = joined(row, colCount(identityCols), scanIdentity); err != nil {
		return nil, err
	}
	if recs.User, err = joined(row, colCount(sqlbase.UserCols), scanUser); err != nil {
		return nil, err
	}
	if recs.Membership, err = joined(row, colCount(sqlbase.MemberCols), scanMember); err != nil {
		return nil, err
	}
	if recs.Org == nil {
		// WHERE o.id = $1 selects only rows with an organization.
		return nil, fmt.Errorf("sqlstore: load login: organization columns are NULL")
	}
	return &recs, nil
}

// nullableRow is the driver values of a row, some of which may be NULL,
// consumed table by table.
type nullableRow struct{ vals []any }

// scanNullable scans a row of n columns into driver values, NULL as nil.
func scanNullable(r sqlbase.Scanner, n int) (*nullableRow, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := r.Scan(ptrs...); err != nil {
		return nil, err
	}
	return &nullableRow{vals: vals}, nil
}

// joined takes the next n values of row and scans them with scan, or
// returns nil when the first of them is NULL.
func joined[T any](row *nullableRow, n int, scan func(sqlbase.Scanner) (*T, error)) (*T, error) {
	if n > len(row.vals) {
		return nil, fmt.Errorf("sqlstore: load login: %d columns left, want %d", len(row.vals), n)
	}
	part := valueScanner(row.vals[:n])
	row.vals = row.vals[n:]
	if part[0] == nil {
		return nil, nil
	}
	return scan(part)
}

// valueScanner is a sqlbase.Scanner over driver values already read, so a
// table's scan function can read its share of a joined row. It converts as
// *sql.Rows does, and refuses NULL.
type valueScanner []any

// Scan implements sqlbase.Scanner.
func (v valueScanner) Scan(dest ...any) error {
	if len(dest) != len(v) {
		return fmt.Errorf("sqlstore: scan %d values into %d destinations", len(v), len(dest))
	}
	for i, d := range dest {
		var err error
		switch d := d.(type) {
		case *string:
			err = assign(d, v[i])
		case *int64:
			err = assign(d, v[i])
		case *int:
			err = assign(d, v[i])
		case *bool:
			err = assign(d, v[i])
		default:
			err = fmt.Errorf("unsupported destination %T", d)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: scan column %d: %w", i, err)
		}
	}
	return nil
}

// assign converts the driver value src into *dest through sql.Null, which
// applies the conversions of *sql.Rows.Scan. NULL is an error: the columns
// of a joined row that exists are NOT NULL.
func assign[T any](dest *T, src any) error {
	var n sql.Null[T]
	if err := n.Scan(src); err != nil {
		return err
	}
	if !n.Valid {
		return fmt.Errorf("unexpected NULL")
	}
	*dest = n.V
	return nil
}
