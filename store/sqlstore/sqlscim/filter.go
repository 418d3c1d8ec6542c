package sqlscim

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore"
)

// scimSQL accumulates a WHERE clause and its arguments. Every operand is a
// bind parameter; attribute names map to fixed column names, so no part of
// a filter ever reaches the SQL text.
type scimSQL struct {
	d    sqlstore.Dialect
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

// globEscape escapes GLOB wildcards by putting each in brackets.
func globEscape(s string) string {
	r := strings.NewReplacer(`[`, `[[]`, `*`, `[*]`, `?`, `[?]`)
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
	case scim.AttrEmployeeNumber:
		return "u.employee_number_lc", true
	case scim.AttrCostCenter:
		return "u.cost_center_lc", true
	case scim.AttrOrganization:
		return "u.organization_lc", true
	case scim.AttrDivision:
		return "u.division_lc", true
	case scim.AttrDepartment:
		return "u.department_lc", true
	case scim.AttrManagerValue:
		return "u.manager_id", true
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
				if q.d == sqlstore.Postgres {
					w.WriteString("strpos(" + c + ", " + p + ") > 0")
				} else {
					w.WriteString("instr(" + c + ", " + p + ") > 0")
				}
			case scim.OpSw:
				w.WriteString("substr(" + c + ", 1, length(" + p + ")) = " + p)
			case scim.OpEw:
				w.WriteString("length(" + c + ") >= length(" + p + ") AND substr(" + c + ", length(" + c + ") - length(" + p + ") + 1) = " + p)
			}
		} else if x.Op == scim.OpSw && q.d == sqlstore.SQLite {
			// SQLite's LIKE ignores ASCII case, so its index cannot serve
			// it; GLOB is exact, which on these lower-cased columns is the
			// same match, and a prefix GLOB is an index range.
			w.WriteString(c + " GLOB " + q.arg(globEscape(x.Str)+"*"))
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

// UserFilterSQL translates a SCIM user filter into a parameterised SQL
// condition on ssokit_scim_users aliased u, with arguments numbered from $1.
// It is exported for benchmarks and diagnostics.
func UserFilterSQL(d sqlstore.Dialect, e scim.Expr) (string, []any, error) {
	q := &scimSQL{d: d}
	if err := q.expr(e, userColumn); err != nil {
		return "", nil, err
	}
	return q.b.String(), q.args, nil
}
