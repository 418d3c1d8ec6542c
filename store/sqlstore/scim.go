package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

var (
	_ scim.Store     = (*Store)(nil)
	_ scim.RateStore = (*Store)(nil)
)

// --- filter translation --------------------------------------------------------

// scimSQL accumulates a WHERE clause and its arguments. Every operand is a
// bind parameter; attribute names map to fixed column names, so no part of
// a filter ever reaches the SQL text.
type scimSQL struct {
	d    Dialect
	args []any
	b    strings.Builder
}

func (q *scimSQL) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// likeEscape escapes LIKE wildcards with backslash.
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// userColumn maps a filter attribute on a user to its column (alias u or,
// inside an email match, e).
func userColumn(a scim.Attr) (string, bool) {
	switch a {
	case scim.AttrID:
		return "u.user_id", true
	case scim.AttrExternalID:
		return "u.external_id", true
	case scim.AttrUserName:
		return "u.user_name_lc", true
	case scim.AttrDisplayName:
		return "u.display_name_lc", true
	case scim.AttrGivenName:
		return "u.given_name_lc", true
	case scim.AttrFamilyName:
		return "u.family_name_lc", true
	case scim.AttrActive:
		return "u.active", true
	case scim.AttrLastModified:
		return "u.last_modified", true
	case scim.AttrEmailValue:
		return "e.value_lc", true
	case scim.AttrEmailType:
		return "e.type_lc", true
	case scim.AttrEmailPrimary:
		return "e.is_primary", true
	}
	return "", false
}

func groupColumn(a scim.Attr) (string, bool) {
	switch a {
	case scim.AttrID:
		return "g.group_id", true
	case scim.AttrExternalID:
		return "g.external_id", true
	case scim.AttrDisplayName:
		return "g.display_name_lc", true
	case scim.AttrLastModified:
		return "g.last_modified", true
	case scim.AttrMemberValue:
		return "mm.user_id", true
	}
	return "", false
}

func (q *scimSQL) expr(e scim.Expr, col func(scim.Attr) (string, bool)) error {
	switch x := e.(type) {
	case *scim.And:
		return q.binary(x.Left, x.Right, " AND ", col)
	case *scim.Or:
		return q.binary(x.Left, x.Right, " OR ", col)
	case *scim.Not:
		return q.wrapped("NOT (", x.X, ")", col)
	case *scim.EmailMatch:
		return q.wrapped("EXISTS (SELECT 1 FROM ssokit_scim_emails e WHERE e.org_id = u.org_id AND e.user_id = u.user_id AND (", x.X, "))", col)
	case *scim.MemberMatch:
		return q.wrapped("EXISTS (SELECT 1 FROM ssokit_scim_members mm WHERE mm.org_id = g.org_id AND mm.group_id = g.group_id AND (", x.X, "))", col)
	case *scim.Compare:
		c, ok := col(x.Attr)
		if !ok {
			return fmt.Errorf("sqlstore: scim filter attribute %q: %w", x.Attr, scim.ErrInvalidFilter)
		}
		return q.compare(c, x)
	}
	return fmt.Errorf("sqlstore: scim filter node %T: %w", e, scim.ErrInvalidFilter)
}

// wrapped writes e between prefix and suffix.
func (q *scimSQL) wrapped(prefix string, e scim.Expr, suffix string, col func(scim.Attr) (string, bool)) error {
	q.b.WriteString(prefix)
	if err := q.expr(e, col); err != nil {
		return err
	}
	q.b.WriteString(suffix)
	return nil
}

func (q *scimSQL) binary(l, r scim.Expr, op string, col func(scim.Attr) (string, bool)) error {
	q.b.WriteString("(")
	if err := q.expr(l, col); err != nil {
		return err
	}
	q.b.WriteString(op)
	if err := q.expr(r, col); err != nil {
		return err
	}
	q.b.WriteString(")")
	return nil
}

// compare writes one comparison with the semantics of scim.MatchUser: an
// empty string is an absent value.
func (q *scimSQL) compare(c string, x *scim.Compare) error {
	w := &q.b
	switch x.Attr {
	case scim.AttrActive, scim.AttrEmailPrimary:
		switch x.Op {
		case scim.OpPr:
			w.WriteString("1 = 1")
		case scim.OpEq:
			w.WriteString(c + " = " + q.arg(x.Bool))
		case scim.OpNe:
			w.WriteString(c + " <> " + q.arg(x.Bool))
		default:
			return fmt.Errorf("sqlstore: operator %s on %s: %w", x.Op, x.Attr, scim.ErrInvalidFilter)
		}
		return nil
	case scim.AttrLastModified:
		ops := map[scim.Op]string{scim.OpEq: "=", scim.OpNe: "<>", scim.OpGt: ">", scim.OpGe: ">=", scim.OpLt: "<", scim.OpLe: "<="}
		if x.Op == scim.OpPr {
			w.WriteString(c + " <> 0")
			return nil
		}
		op, ok := ops[x.Op]
		if !ok {
			return fmt.Errorf("sqlstore: operator %s on %s: %w", x.Op, x.Attr, scim.ErrInvalidFilter)
		}
		w.WriteString(c + " " + op + " " + q.arg(x.Time.UnixMicro()))
		return nil
	}
	exact := x.Attr.CaseExact()
	switch x.Op {
	case scim.OpPr:
		w.WriteString(c + " <> ''")
	case scim.OpEq:
		if x.Str == "" {
			w.WriteString("1 = 0")
		} else {
			w.WriteString(c + " = " + q.arg(x.Str))
		}
	case scim.OpNe:
		w.WriteString(c + " <> " + q.arg(x.Str))
	case scim.OpCo, scim.OpSw, scim.OpEw:
		w.WriteString("(" + c + " <> '' AND ")
		if exact {
			// LIKE is case-insensitive on SQLite; compare exactly instead.
			p := "CAST(" + q.arg(x.Str) + " AS TEXT)"
			switch x.Op {
			case scim.OpCo:
				if q.d == Postgres {
					w.WriteString("strpos(" + c + ", " + p + ") > 0")
				} else {
					w.WriteString("instr(" + c + ", " + p + ") > 0")
				}
			case scim.OpSw:
				w.WriteString("substr(" + c + ", 1, length(" + p + ")) = " + p)
			case scim.OpEw:
				w.WriteString("length(" + c + ") >= length(" + p + ") AND substr(" + c + ", length(" + c + ") - length(" + p + ") + 1) = " + p)
			}
		} else {
			pat := likeEscape(x.Str)
			switch x.Op {
			case scim.OpCo:
				pat = "%" + pat + "%"
			case scim.OpSw:
				pat += "%"
			case scim.OpEw:
				pat = "%" + pat
			}
			w.WriteString(c + " LIKE " + q.arg(pat) + ` ESCAPE '\'`)
		}
		w.WriteString(")")
	default:
		return fmt.Errorf("sqlstore: operator %s on %s: %w", x.Op, x.Attr, scim.ErrInvalidFilter)
	}
	return nil
}

// ScimUserFilterSQL translates a SCIM user filter into a parameterised
// SQL condition on ssokit_scim_users aliased u, with arguments numbered
// from $1. It is exported for benchmarks and diagnostics.
func ScimUserFilterSQL(d Dialect, e scim.Expr) (string, []any, error) {
	q := &scimSQL{d: d}
	if err := q.expr(e, userColumn); err != nil {
		return "", nil, err
	}
	return q.b.String(), q.args, nil
}

// --- users ---------------------------------------------------------------------

const scimUserCols = `u.org_id, u.user_id, u.attrs, u.deleted, u.version, u.created_at, u.last_modified`

func scanSCIMUser(r scanner) (*scim.User, error) {
	var (
		u              scim.User
		attrs          string
		created, modif int64
	)
	if err := r.Scan(&u.OrgID, &u.ID, &attrs, &u.Deleted, &u.Version, &created, &modif); err != nil {
		return nil, err
	}
	m, err := scim.DecodeAttributes([]byte(attrs))
	if err != nil {
		return nil, err
	}
	u.Attributes = m
	u.Created, u.LastModified = fromTS(created), fromTS(modif)
	u.Derive()
	return &u, nil
}

func scimUserArgs(r *scim.User) ([]any, error) {
	attrs, err := toJSON(r.Attributes)
	if err != nil {
		return nil, err
	}
	return []any{r.OrgID, r.ID, r.UserName, r.UserNameKey(), r.ExternalID, strings.ToLower(r.DisplayName),
		strings.ToLower(r.GivenName), strings.ToLower(r.FamilyName), r.Active, r.Deleted, attrs, r.Version,
		ts(r.Created), ts(r.LastModified)}, nil
}

func (s *Store) writeEmails(ctx context.Context, tx *sql.Tx, r *scim.User) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_scim_emails WHERE org_id = $1 AND user_id = $2`, r.OrgID, r.ID); err != nil {
		return s.wrap(err)
	}
	for i, e := range r.Emails {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_scim_emails (org_id, user_id, pos, value_lc, type_lc, is_primary)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.OrgID, r.ID, i, strings.ToLower(e.Value), strings.ToLower(e.Type), e.Primary); err != nil {
			return s.wrap(err)
		}
	}
	return nil
}

// newSCIMUserArgs validates a new SCIM user's core user and membership and
// returns the statement arguments of the membership and of the SCIM user.
func newSCIMUserArgs(u *sso.User, m *sso.Membership, r *scim.User) (margs, rargs []any, err error) {
	if err := u.Validate(); err != nil {
		return nil, nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	if margs, err = memberArgs(m); err != nil {
		return nil, nil, err
	}
	if rargs, err = scimUserArgs(r); err != nil {
		return nil, nil, err
	}
	return margs, rargs, nil
}

// CreateUserSCIM implements scim.UserStore.
func (s *Store) CreateUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User) error {
	margs, rargs, err := newSCIMUserArgs(u, m, r)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSCIMUser, rargs...); err != nil {
			return s.wrap(err)
		}
		if _, err := tx.ExecContext(ctx, insertUser+` ON CONFLICT (id) DO NOTHING`, userArgs(u)...); err != nil {
			return s.wrap(err)
		}
		if _, err := tx.ExecContext(ctx, insertMember, margs...); err != nil {
			return s.wrap(err)
		}
		return s.writeEmails(ctx, tx, r)
	})
}

// AdoptUserSCIM implements scim.UserStore.
func (s *Store) AdoptUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User) error {
	margs, rargs, err := newSCIMUserArgs(u, m, r)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSCIMUser, rargs...); err != nil {
			return s.wrap(err)
		}
		if err := s.replaceCoreUser(ctx, tx, u); err != nil {
			return err
		}
		if err := s.replaceCoreMember(ctx, tx, margs); err != nil {
			return err
		}
		return s.writeEmails(ctx, tx, r)
	})
}

// insertSCIMUser stores a SCIM record; its arguments come from scimUserArgs.
const insertSCIMUser = `INSERT INTO ssokit_scim_users (org_id, user_id, user_name, user_name_lc, external_id,
	display_name_lc, given_name_lc, family_name_lc, active, deleted, attrs, version, created_at, last_modified)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// replaceCoreUser rewrites an existing core user inside a SCIM transaction;
// a missing user is ErrNotFound.
func (s *Store) replaceCoreUser(ctx context.Context, tx *sql.Tx, u *sso.User) error {
	res, err := tx.ExecContext(ctx, `UPDATE ssokit_users SET email = $2, email_lower = $3, email_verified = $4, given_name = $5,
		family_name = $6, display_name = $7, created_at = $8, updated_at = $9 WHERE id = $1`, userArgs(u)...)
	if err != nil {
		return s.wrap(err)
	}
	if err := mustAffect(res); err != nil {
		return fmt.Errorf("sqlstore: user: %w", err)
	}
	return nil
}

// replaceCoreMember rewrites an existing membership (margs from memberArgs)
// inside a SCIM transaction; a missing membership is ErrNotFound.
func (s *Store) replaceCoreMember(ctx context.Context, tx *sql.Tx, margs []any) error {
	res, err := tx.ExecContext(ctx, `UPDATE ssokit_memberships SET roles = $3, status = $4, source = $5, external_id = $6,
		break_glass = $7, joined_at = $8, updated_at = $9 WHERE org_id = $1 AND user_id = $2`, margs...)
	if err != nil {
		return s.wrap(err)
	}
	if err := mustAffect(res); err != nil {
		return fmt.Errorf("sqlstore: membership: %w", err)
	}
	return nil
}

// GetUserSCIM implements scim.UserStore.
func (s *Store) GetUserSCIM(ctx context.Context, orgID, id string) (*scim.User, error) {
	return getOne(ctx, s, "scim user", scanSCIMUser, `SELECT `+scimUserCols+` FROM ssokit_scim_users u WHERE u.org_id = $1 AND u.user_id = $2`, orgID, id)
}

// UpdateUserSCIM implements scim.UserStore.
func (s *Store) UpdateUserSCIM(ctx context.Context, r *scim.User, prevVersion int64, u *sso.User, m *sso.Membership) error {
	if u != nil {
		if err := u.Validate(); err != nil {
			return err
		}
	}
	var margs []any
	if m != nil {
		if err := m.Validate(); err != nil {
			return err
		}
		var err error
		if margs, err = memberArgs(m); err != nil {
			return err
		}
	}
	rargs, err := scimUserArgs(r)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ssokit_scim_users SET user_name = $3, user_name_lc = $4, external_id = $5,
			display_name_lc = $6, given_name_lc = $7, family_name_lc = $8, active = $9, deleted = $10, attrs = $11,
			version = $12, created_at = $13, last_modified = $14
			WHERE org_id = $1 AND user_id = $2 AND version = $15`, append(rargs, prevVersion)...)
		if err != nil {
			return s.wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.wrap(err)
		} else if n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM ssokit_scim_users WHERE org_id = $1 AND user_id = $2`, r.OrgID, r.ID).Scan(&one)
			if err != nil {
				return fmt.Errorf("sqlstore: scim user: %w", s.wrap(err))
			}
			return fmt.Errorf("sqlstore: scim user %q: %w", r.ID, scim.ErrVersionMismatch)
		}
		if u != nil {
			if err := s.replaceCoreUser(ctx, tx, u); err != nil {
				return err
			}
		}
		if m != nil {
			if err := s.replaceCoreMember(ctx, tx, margs); err != nil {
				return err
			}
		}
		if r.Deleted {
			if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_scim_members WHERE org_id = $1 AND user_id = $2`, r.OrgID, r.ID); err != nil {
				return s.wrap(err)
			}
		}
		return s.writeEmails(ctx, tx, r)
	})
}

// ListUsersSCIM implements scim.UserStore: the filter becomes a
// parameterised WHERE clause on indexed columns.
func (s *Store) ListUsersSCIM(ctx context.Context, orgID string, q scim.Query) ([]*scim.User, int, error) {
	b := &scimSQL{d: s.dialect}
	where := "u.org_id = " + b.arg(orgID) + " AND NOT u.deleted"
	if q.Filter != nil {
		if err := b.expr(q.Filter, userColumn); err != nil {
			return nil, 0, err
		}
		where += " AND (" + b.b.String() + ")"
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_scim_users u WHERE `+where, b.args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err)
	}
	if q.Count <= 0 || q.StartIndex > total {
		return nil, total, nil
	}
	args := append(b.args, q.Count, max(q.StartIndex, 1)-1)
	n := len(b.args)
	users, err := collect(ctx, s, s.db, scanSCIMUser, `SELECT `+scimUserCols+` FROM ssokit_scim_users u WHERE `+where+
		` ORDER BY u.user_id LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), args...)
	if err != nil {
		return nil, 0, err
	}
	return users, total, nil
}

// --- groups --------------------------------------------------------------------

const scimGroupCols = `g.org_id, g.group_id, g.display_name, g.external_id, g.version, g.created_at, g.last_modified`

func scanSCIMGroup(r scanner) (*scim.Group, error) {
	var (
		g              scim.Group
		created, modif int64
	)
	if err := r.Scan(&g.OrgID, &g.ID, &g.DisplayName, &g.ExternalID, &g.Version, &created, &modif); err != nil {
		return nil, err
	}
	g.Created, g.LastModified = fromTS(created), fromTS(modif)
	return &g, nil
}

const scimChunk = 500

func chunks(ids []string) [][]string {
	var out [][]string
	for len(ids) > scimChunk {
		out = append(out, ids[:scimChunk])
		ids = ids[scimChunk:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// checkMembers fails with scim.ErrInvalidMember unless every ID is a live
// SCIM user of orgID.
func (s *Store) checkMembers(ctx context.Context, tx *sql.Tx, orgID string, ids []string) error {
	for _, c := range chunks(uniq(ids)) {
		args := []any{orgID}
		for _, id := range c {
			args = append(args, id)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_scim_users WHERE org_id = $1 AND NOT deleted AND user_id IN (`+
			placeholders(2, len(c))+`)`, args...).Scan(&n); err != nil {
			return s.wrap(err)
		}
		if n != len(c) {
			return fmt.Errorf("sqlstore: %w: %w", sso.ErrInvalidInput, scim.ErrInvalidMember)
		}
	}
	return nil
}

// addMembers inserts members and returns those that were not members yet.
func (s *Store) addMembers(ctx context.Context, tx *sql.Tx, orgID, groupID string, ids []string) ([]string, error) {
	var added []string
	for _, c := range chunks(uniq(ids)) {
		args := []any{orgID, groupID}
		var vals []string
		for _, id := range c {
			args = append(args, id)
			vals = append(vals, "($1, $2, $"+strconv.Itoa(len(args))+")")
		}
		rows, err := tx.QueryContext(ctx, `INSERT INTO ssokit_scim_members (org_id, group_id, user_id) VALUES `+strings.Join(vals, ", ")+
			` ON CONFLICT DO NOTHING RETURNING user_id`, args...)
		if err != nil {
			return nil, s.wrap(err)
		}
		got, err := scanStrings(rows)
		if err != nil {
			return nil, s.wrap(err)
		}
		added = append(added, got...)
	}
	return added, nil
}

func (s *Store) removeMembers(ctx context.Context, tx *sql.Tx, orgID, groupID string, ids []string) ([]string, error) {
	var removed []string
	for _, c := range chunks(uniq(ids)) {
		args := []any{orgID, groupID}
		for _, id := range c {
			args = append(args, id)
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM ssokit_scim_members WHERE org_id = $1 AND group_id = $2 AND user_id IN (`+
			placeholders(3, len(c))+`) RETURNING user_id`, args...)
		if err != nil {
			return nil, s.wrap(err)
		}
		got, err := scanStrings(rows)
		if err != nil {
			return nil, s.wrap(err)
		}
		removed = append(removed, got...)
	}
	return removed, nil
}

func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreateGroupSCIM implements scim.GroupStore.
func (s *Store) CreateGroupSCIM(ctx context.Context, g *scim.Group, members []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_scim_groups (org_id, group_id, display_name, display_name_lc, external_id,
			version, created_at, last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			g.OrgID, g.ID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, g.Version, ts(g.Created), ts(g.LastModified)); err != nil {
			return s.wrap(err)
		}
		if err := s.checkMembers(ctx, tx, g.OrgID, members); err != nil {
			return err
		}
		_, err := s.addMembers(ctx, tx, g.OrgID, g.ID, members)
		return err
	})
}

// GetGroupSCIM implements scim.GroupStore.
func (s *Store) GetGroupSCIM(ctx context.Context, orgID, id string) (*scim.Group, error) {
	return getOne(ctx, s, "scim group", scanSCIMGroup, `SELECT `+scimGroupCols+` FROM ssokit_scim_groups g WHERE g.org_id = $1 AND g.group_id = $2`, orgID, id)
}

// UpdateGroupSCIM implements scim.GroupStore. The group row is updated
// first, which locks it (PostgreSQL) or the database (SQLite) for the rest
// of the transaction, so concurrent member changes of one group serialize
// and none is lost.
func (s *Store) UpdateGroupSCIM(ctx context.Context, g *scim.Group, prevVersion int64, ops []scim.MemberOp) ([]string, error) {
	var changed []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		changed = nil
		query := `UPDATE ssokit_scim_groups SET display_name = $3, display_name_lc = $4, external_id = $5, version = version + 1,
			last_modified = $6 WHERE org_id = $1 AND group_id = $2`
		args := []any{g.OrgID, g.ID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, ts(g.LastModified)}
		if prevVersion > 0 {
			query += ` AND version = $7`
			args = append(args, prevVersion)
		}
		var version int64
		err := tx.QueryRowContext(ctx, query+` RETURNING version`, args...).Scan(&version)
		if err == sql.ErrNoRows {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM ssokit_scim_groups WHERE org_id = $1 AND group_id = $2`, g.OrgID, g.ID).Scan(&one); err != nil {
				return fmt.Errorf("sqlstore: scim group: %w", s.wrap(err))
			}
			return fmt.Errorf("sqlstore: scim group %q: %w", g.ID, scim.ErrVersionMismatch)
		}
		if err != nil {
			return s.wrap(err)
		}
		toggles := map[string]int{}
		flip := func(ids []string) {
			for _, id := range ids {
				toggles[id]++
			}
		}
		for _, op := range ops {
			switch op.Kind {
			case scim.MembersAdd:
				if err := s.checkMembers(ctx, tx, g.OrgID, op.UserIDs); err != nil {
					return err
				}
				added, err := s.addMembers(ctx, tx, g.OrgID, g.ID, op.UserIDs)
				if err != nil {
					return err
				}
				flip(added)
			case scim.MembersRemove:
				removed, err := s.removeMembers(ctx, tx, g.OrgID, g.ID, op.UserIDs)
				if err != nil {
					return err
				}
				flip(removed)
			case scim.MembersReplace, scim.MembersRemoveAll:
				if err := s.checkMembers(ctx, tx, g.OrgID, op.UserIDs); err != nil {
					return err
				}
				rows, err := tx.QueryContext(ctx, `SELECT user_id FROM ssokit_scim_members WHERE org_id = $1 AND group_id = $2`, g.OrgID, g.ID)
				if err != nil {
					return s.wrap(err)
				}
				cur, err := scanStrings(rows)
				if err != nil {
					return s.wrap(err)
				}
				want := make(map[string]bool, len(op.UserIDs))
				for _, id := range op.UserIDs {
					want[id] = true
				}
				var drop []string
				for _, id := range cur {
					if !want[id] {
						drop = append(drop, id)
					}
				}
				removed, err := s.removeMembers(ctx, tx, g.OrgID, g.ID, drop)
				if err != nil {
					return err
				}
				flip(removed)
				added, err := s.addMembers(ctx, tx, g.OrgID, g.ID, op.UserIDs)
				if err != nil {
					return err
				}
				flip(added)
			}
		}
		for id, n := range toggles {
			if n%2 == 1 {
				changed = append(changed, id)
			}
		}
		sort.Strings(changed)
		g.Version = version
		return nil
	})
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// DeleteGroupSCIM implements scim.GroupStore.
func (s *Store) DeleteGroupSCIM(ctx context.Context, orgID, id string) ([]string, error) {
	var members []string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM ssokit_scim_groups WHERE org_id = $1 AND group_id = $2`, orgID, id)
		if err != nil {
			return s.wrap(err)
		}
		if err := mustAffect(res); err != nil {
			return fmt.Errorf("sqlstore: scim group: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM ssokit_scim_members WHERE org_id = $1 AND group_id = $2 RETURNING user_id`, orgID, id)
		if err != nil {
			return s.wrap(err)
		}
		members, err = scanStrings(rows)
		return s.wrap(err)
	})
	sort.Strings(members)
	return members, err
}

// ListGroupsSCIM implements scim.GroupStore.
func (s *Store) ListGroupsSCIM(ctx context.Context, orgID string, q scim.Query) ([]*scim.Group, int, error) {
	b := &scimSQL{d: s.dialect}
	where := "g.org_id = " + b.arg(orgID)
	if q.Filter != nil {
		if err := b.expr(q.Filter, groupColumn); err != nil {
			return nil, 0, err
		}
		where += " AND (" + b.b.String() + ")"
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ssokit_scim_groups g WHERE `+where, b.args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(err)
	}
	if q.Count <= 0 || q.StartIndex > total {
		return nil, total, nil
	}
	n := len(b.args)
	args := append(b.args, q.Count, max(q.StartIndex, 1)-1)
	groups, err := collect(ctx, s, s.db, scanSCIMGroup, `SELECT `+scimGroupCols+` FROM ssokit_scim_groups g WHERE `+where+
		` ORDER BY g.group_id LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), args...)
	if err != nil {
		return nil, 0, err
	}
	return groups, total, nil
}

// ListGroupMembersSCIM implements scim.GroupStore.
func (s *Store) ListGroupMembersSCIM(ctx context.Context, orgID, groupID, afterUserID string, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM ssokit_scim_members WHERE org_id = $1 AND group_id = $2 AND user_id > $3
		ORDER BY user_id LIMIT $4`, orgID, groupID, afterUserID, sqlLimit(limit))
	if err != nil {
		return nil, s.wrap(err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, s.wrap(err)
	}
	if len(ids) == 0 {
		if _, err := s.GetGroupSCIM(ctx, orgID, groupID); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// ListUserGroupsSCIM implements scim.GroupStore.
func (s *Store) ListUserGroupsSCIM(ctx context.Context, orgID string, userIDs ...string) (map[string][]*scim.Group, error) {
	out := map[string][]*scim.Group{}
	for _, c := range chunks(uniq(userIDs)) {
		args := []any{orgID}
		for _, id := range c {
			args = append(args, id)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT m.user_id, `+scimGroupCols+` FROM ssokit_scim_members m
			JOIN ssokit_scim_groups g ON g.org_id = m.org_id AND g.group_id = m.group_id
			WHERE m.org_id = $1 AND m.user_id IN (`+placeholders(2, len(c))+`) ORDER BY m.user_id, g.group_id`, args...)
		if err != nil {
			return nil, s.wrap(err)
		}
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				var (
					uid            string
					g              scim.Group
					created, modif int64
				)
				if err := rows.Scan(&uid, &g.OrgID, &g.ID, &g.DisplayName, &g.ExternalID, &g.Version, &created, &modif); err != nil {
					return err
				}
				g.Created, g.LastModified = fromTS(created), fromTS(modif)
				out[uid] = append(out[uid], &g)
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, s.wrap(err)
		}
	}
	return out, nil
}

// IncrementSCIMRate implements scim.RateStore with one atomic upsert.
func (s *Store) IncrementSCIMRate(ctx context.Context, key string, window time.Time) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO ssokit_scim_rate (rate_key, window_start, n) VALUES ($1, $2, 1)
		ON CONFLICT (rate_key) DO UPDATE SET
			n = CASE WHEN ssokit_scim_rate.window_start = excluded.window_start THEN ssokit_scim_rate.n + 1
				WHEN ssokit_scim_rate.window_start < excluded.window_start THEN 1
				ELSE ssokit_scim_rate.n END,
			window_start = CASE WHEN ssokit_scim_rate.window_start < excluded.window_start THEN excluded.window_start
				ELSE ssokit_scim_rate.window_start END
		RETURNING n`, key, ts(window)).Scan(&n)
	if err != nil {
		return 0, s.wrap(err)
	}
	return n, nil
}
