package sqlscim

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

// scimChunk is the most IDs one statement binds, well below the
// parameter limits of both dialects.
const scimChunk = 500

// chunks splits ids into runs of at most scimChunk.
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

// placeholders returns n bind parameters numbered from from.
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

// uniq returns ids without repeats, in first-seen order.
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
//
// On PostgreSQL the live users are locked FOR SHARE until tx ends. The
// check reads the users as committed when it ran: unlocked, a delete of one
// of them committing between the check and tx's commit would remove the
// user from its groups without seeing tx's new member rows, leaving a
// deleted user in a group. With the lock, a delete that commits first
// makes the check count the user as deleted, and one that comes later
// waits for tx and then removes its rows. (SQLite runs one writer at a
// time.)
func (s *Store) checkMembers(ctx context.Context, tx *sql.Tx, orgID string, ids []string) error {
	lock := ""
	if s.dialect == sqlstore.Postgres {
		lock = " ORDER BY user_id FOR SHARE"
	}
	for _, c := range chunks(uniq(ids)) {
		args := []any{orgID}
		for _, id := range c {
			args = append(args, id)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT user_id FROM ssokit_scim_users WHERE org_id = $1 AND NOT deleted AND user_id IN (`+
			placeholders(2, len(c))+`)`+lock+`) AS live`, args...).Scan(&n); err != nil {
			return sqlbase.Wrap(err)
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
			return nil, sqlbase.Wrap(err)
		}
		got, err := scanStrings(rows)
		if err != nil {
			return nil, sqlbase.Wrap(err)
		}
		added = append(added, got...)
	}
	return added, nil
}

// removeMembers deletes members and returns those that were members.
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
			return nil, sqlbase.Wrap(err)
		}
		got, err := scanStrings(rows)
		if err != nil {
			return nil, sqlbase.Wrap(err)
		}
		removed = append(removed, got...)
	}
	return removed, nil
}

// scanStrings reads a one-column result and closes rows.
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
