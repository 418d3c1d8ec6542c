package sqlscim

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
)

// Sorted lists (scim.SortAttr) are ordered in SQL by (no value, value,
// ID), each ascending or each descending, which is the order of the scim
// package's cursors; a page after a cursor is a row-value comparison that
// the sort indexes of migration 0133 serve by seeking.

// sortSpec is the column a list is sorted by.
type sortSpec struct {
	col  string // column, with its table alias
	id   string // ID column, with its table alias
	text bool   // a text column where '' is no value; else a time
}

func userSort(a scim.SortAttr) (sortSpec, error) {
	s := sortSpec{id: "u.user_id", text: true}
	switch a {
	case scim.SortUserName:
		s.col = "u.user_name_lc"
	case scim.SortDisplayName:
		s.col = "u.display_name_lc"
	case scim.SortFamilyName:
		s.col = "u.family_name_lc"
	case scim.SortEmail:
		s.col = "u.primary_email_lc"
	case scim.SortExternalID:
		s.col = "u.external_id"
	case scim.SortCreated:
		s.col, s.text = "u.created_at", false
	case scim.SortLastModified:
		s.col, s.text = "u.last_modified", false
	default:
		return s, fmt.Errorf("sqlstore: scim users cannot be sorted by %q: %w", a, sso.ErrInvalidInput)
	}
	return s, nil
}

func groupSort(a scim.SortAttr) (sortSpec, error) {
	s := sortSpec{id: "g.group_id", text: true}
	switch a {
	case scim.SortDisplayName:
		s.col = "g.display_name_lc"
	case scim.SortExternalID:
		s.col = "g.external_id"
	case scim.SortCreated:
		s.col, s.text = "g.created_at", false
	case scim.SortLastModified:
		s.col, s.text = "g.last_modified", false
	default:
		return s, fmt.Errorf("sqlstore: scim groups cannot be sorted by %q: %w", a, sso.ErrInvalidInput)
	}
	return s, nil
}

// orderBy returns the ORDER BY clause of the sort.
func (s sortSpec) orderBy(desc bool) string {
	dir := ""
	if desc {
		dir = " DESC"
	}
	if s.text {
		return " ORDER BY (" + s.col + " = '')" + dir + ", " + s.col + dir + ", " + s.id + dir
	}
	return " ORDER BY " + s.col + dir + ", " + s.id + dir
}

// after writes the condition keeping the rows after cursor in the sort's
// order.
func (s sortSpec) after(b *scimSQL, cursor string, desc bool) (string, error) {
	has, value, id, ok := scim.SplitSortCursor(cursor)
	if !ok {
		return "", fmt.Errorf("sqlstore: scim sort cursor: %w", sso.ErrInvalidInput)
	}
	op := " > "
	if desc {
		op = " < "
	}
	if s.text {
		return "((" + s.col + " = ''), " + s.col + ", " + s.id + ")" + op + "(" + b.arg(!has) + ", " + b.arg(value) + ", " + b.arg(id) + ")", nil
	}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil || !has {
		return "", fmt.Errorf("sqlstore: scim sort cursor: %w", sso.ErrInvalidInput)
	}
	return "(" + s.col + ", " + s.id + ")" + op + "(" + b.arg(v) + ", " + b.arg(id) + ")", nil
}

// key returns the sort key of a row from its value of the column: text
// for a text column, else microseconds.
func (s sortSpec) key(text string, micros int64) string {
	if s.text {
		return scim.TextSortKey(text)
	}
	return scim.TimeSortKey(time.UnixMicro(micros))
}

// listOrder returns the ORDER BY clause of a ListUsersSCIM or
// ListGroupsSCIM query.
func listOrder(q scim.Query, spec func(scim.SortAttr) (sortSpec, error), idCol string) (string, error) {
	if q.Sort == "" {
		return " ORDER BY " + idCol, nil
	}
	s, err := spec(q.Sort)
	if err != nil {
		return "", err
	}
	return s.orderBy(q.Descending), nil
}
