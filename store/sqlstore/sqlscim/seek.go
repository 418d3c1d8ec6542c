package sqlscim

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// Keyset pages: a page is "ID greater than the last one seen, in ID order,
// LIMIT n", which the primary key (groups) or ssokit_scim_users_live
// (users; migration 0120) serves by seeking, so page 1000 costs what page
// 1 does. Counting reads the same index alone.

// userWhere returns the condition selecting orgID's live users that match
// f, and its arguments. after, when not empty, keeps only greater IDs.
func (s *Store) userWhere(orgID, after string, f scim.Expr) (string, []any, error) {
	b := &scimSQL{d: s.dialect}
	where := "u.org_id = " + b.arg(orgID) + " AND NOT u.deleted"
	if after != "" {
		where += " AND u.user_id > " + b.arg(after)
	}
	if f != nil {
		if err := b.expr(f, userColumn); err != nil {
			return "", nil, err
		}
		where += " AND (" + b.b.String() + ")"
	}
	return where, b.args, nil
}

func (s *Store) groupWhere(orgID, after string, f scim.Expr) (string, []any, error) {
	b := &scimSQL{d: s.dialect}
	where := "g.org_id = " + b.arg(orgID)
	if after != "" {
		where += " AND g.group_id > " + b.arg(after)
	}
	if f != nil {
		if err := b.expr(f, groupColumn); err != nil {
			return "", nil, err
		}
		where += " AND (" + b.b.String() + ")"
	}
	return where, b.args, nil
}

// limitOffset appends LIMIT and OFFSET for q to a query with n arguments.
func limitOffset(args []any, q scim.Query) (string, []any) {
	n := len(args)
	args = append(args, q.Count, max(q.StartIndex, 1)-1)
	return ` LIMIT $` + strconv.Itoa(n+1) + ` OFFSET $` + strconv.Itoa(n+2), args
}

// SeekUsersSCIM implements scim.Seeker. The users carry AttributesJSON
// (the stored document) and no Attributes.
func (s *Store) SeekUsersSCIM(ctx context.Context, orgID, after string, q scim.Query) ([]*scim.User, error) {
	if q.Count <= 0 {
		return nil, nil
	}
	var (
		spec   sortSpec
		err    error
		sorted = q.Sort != ""
		idFrom = after
	)
	if sorted {
		if spec, err = userSort(q.Sort); err != nil {
			return nil, err
		}
		idFrom = ""
	}
	where, args, err := s.userWhere(orgID, idFrom, q.Filter)
	if err != nil {
		return nil, err
	}
	cols, order := "u.user_id, u.attrs, u.version, u.created_at, u.last_modified", " ORDER BY u.user_id"
	if sorted {
		b := &scimSQL{d: s.dialect, args: args}
		if after != "" {
			cond, err := spec.after(b, after, q.Descending)
			if err != nil {
				return nil, err
			}
			where += " AND " + cond
		}
		args, cols, order = b.args, cols+", "+spec.col, spec.orderBy(q.Descending)
	}
	tail, args := limitOffset(args, q)
	rows, err := s.db.QueryContext(ctx, `SELECT `+cols+` FROM ssokit_scim_users u WHERE `+where+order+tail, args...)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	// One allocation for the records and one growing arena for the
	// documents of the page.
	recs := make([]scim.User, 0, min(q.Count, 1000))
	var (
		arena                   []byte
		raw                     sql.RawBytes
		id, sortText            string
		version, created, modif int64
		sortTime                int64
	)
	dest := []any{&id, &raw, &version, &created, &modif}
	if sorted && spec.text {
		dest = append(dest, &sortText)
	} else if sorted {
		dest = append(dest, &sortTime)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, sqlbase.Wrap(err)
		}
		start := len(arena)
		arena = append(arena, raw...)
		u := scim.User{OrgID: orgID, ID: id, AttributesJSON: arena[start:len(arena):len(arena)],
			Version: version, Created: sqlbase.FromTS(created), LastModified: sqlbase.FromTS(modif)}
		if sorted {
			u.Cursor = scim.SortCursor(spec.key(sortText, sortTime), id)
		}
		recs = append(recs, u)
	}
	if err := rows.Err(); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	out := make([]*scim.User, len(recs))
	for i := range recs {
		out[i] = &recs[i]
	}
	return out, nil
}

// SeekGroupsSCIM implements scim.Seeker.
func (s *Store) SeekGroupsSCIM(ctx context.Context, orgID, after string, q scim.Query) ([]*scim.Group, error) {
	if q.Count <= 0 {
		return nil, nil
	}
	if q.Sort == "" {
		where, args, err := s.groupWhere(orgID, after, q.Filter)
		if err != nil {
			return nil, err
		}
		tail, args := limitOffset(args, q)
		return sqlbase.Collect(ctx, s.db, scanSCIMGroup, `SELECT `+scimGroupCols+` FROM ssokit_scim_groups g WHERE `+where+` ORDER BY g.group_id`+tail, args...)
	}
	spec, err := groupSort(q.Sort)
	if err != nil {
		return nil, err
	}
	where, args, err := s.groupWhere(orgID, "", q.Filter)
	if err != nil {
		return nil, err
	}
	if after != "" {
		b := &scimSQL{d: s.dialect, args: args}
		cond, err := spec.after(b, after, q.Descending)
		if err != nil {
			return nil, err
		}
		where, args = where+" AND "+cond, b.args
	}
	tail, args := limitOffset(args, q)
	groups, err := sqlbase.Collect(ctx, s.db, scanSCIMGroup, `SELECT `+scimGroupCols+` FROM ssokit_scim_groups g WHERE `+where+spec.orderBy(q.Descending)+tail, args...)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		g.Cursor = scim.SortCursor(scim.GroupSortKey(g, q.Sort), g.ID)
	}
	return groups, nil
}

// CountUsersSCIM implements scim.Seeker in one statement.
func (s *Store) CountUsersSCIM(ctx context.Context, orgID string, filter scim.Expr, every int) (int, []string, error) {
	where, args, err := s.userWhere(orgID, "", filter)
	if err != nil {
		return 0, nil, err
	}
	return s.count(ctx, "u.user_id", "ssokit_scim_users u", where, args, every)
}

// CountGroupsSCIM implements scim.Seeker.
func (s *Store) CountGroupsSCIM(ctx context.Context, orgID string, filter scim.Expr, every int) (int, []string, error) {
	where, args, err := s.groupWhere(orgID, "", filter)
	if err != nil {
		return 0, nil, err
	}
	return s.count(ctx, "g.group_id", "ssokit_scim_groups g", where, args, every)
}

// count counts the rows of from that satisfy where and, when every > 0,
// returns the IDs at positions every, 2*every, ...: it reads the matching
// IDs in order from the index and keeps the marked ones (measured faster
// than numbering the rows with a window function, on PostgreSQL about
// 1.5x and on SQLite 7x, for 100k rows).
func (s *Store) count(ctx context.Context, id, from, where string, args []any, every int) (int, []string, error) {
	if every <= 0 {
		var total int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+from+` WHERE `+where, args...).Scan(&total); err != nil {
			return 0, nil, sqlbase.Wrap(err)
		}
		return total, nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+id+` FROM `+from+` WHERE `+where+` ORDER BY `+id, args...)
	if err != nil {
		return 0, nil, sqlbase.Wrap(err)
	}
	defer rows.Close()
	var (
		marks []string
		total int
		raw   sql.RawBytes
	)
	for rows.Next() {
		if err := rows.Scan(&raw); err != nil {
			return 0, nil, sqlbase.Wrap(err)
		}
		if total++; total%every == 0 {
			marks = append(marks, string(raw))
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, sqlbase.Wrap(err)
	}
	return total, marks, nil
}
