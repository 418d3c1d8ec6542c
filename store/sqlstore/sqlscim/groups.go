package sqlscim

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

const scimGroupCols = `g.org_id, g.group_id, g.display_name, g.external_id, g.version, g.created_at, g.last_modified`

func scanSCIMGroup(r sqlbase.Scanner) (*scim.Group, error) {
	var (
		g              scim.Group
		created, modif int64
	)
	if err := r.Scan(&g.OrgID, &g.ID, &g.DisplayName, &g.ExternalID, &g.Version, &created, &modif); err != nil {
		return nil, err
	}
	g.Created, g.LastModified = sqlbase.FromTS(created), sqlbase.FromTS(modif)
	return &g, nil
}

// CreateGroupSCIM implements scim.GroupStore.
func (s *Store) CreateGroupSCIM(ctx context.Context, g *scim.Group, members []string) error {
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_scim_groups (org_id, group_id, display_name, display_name_lc, external_id,
			version, created_at, last_modified) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			g.OrgID, g.ID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, g.Version, sqlbase.TS(g.Created), sqlbase.TS(g.LastModified)); err != nil {
			return sqlbase.Wrap(err)
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
	return sqlbase.GetOne(ctx, s.db, "scim group", scanSCIMGroup, `SELECT `+scimGroupCols+` FROM ssokit_scim_groups g WHERE g.org_id = $1 AND g.group_id = $2`, orgID, id)
}

// UpdateGroupSCIM implements scim.GroupStore. The group row is updated
// first, which locks it (PostgreSQL) or the database (SQLite) for the rest
// of the transaction, so concurrent member changes of one group serialize
// and none is lost.
func (s *Store) UpdateGroupSCIM(ctx context.Context, g *scim.Group, prevVersion int64, ops []scim.MemberOp) ([]string, error) {
	var changed []string
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		changed = nil
		query := `UPDATE ssokit_scim_groups SET display_name = $3, display_name_lc = $4, external_id = $5, version = version + 1,
			last_modified = $6 WHERE org_id = $1 AND group_id = $2`
		args := []any{g.OrgID, g.ID, g.DisplayName, strings.ToLower(g.DisplayName), g.ExternalID, sqlbase.TS(g.LastModified)}
		if prevVersion > 0 {
			query += ` AND version = $7`
			args = append(args, prevVersion)
		}
		var version int64
		err := tx.QueryRowContext(ctx, query+` RETURNING version`, args...).Scan(&version)
		if err == sql.ErrNoRows {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM ssokit_scim_groups WHERE org_id = $1 AND group_id = $2`, g.OrgID, g.ID).Scan(&one); err != nil {
				return fmt.Errorf("sqlstore: scim group: %w", sqlbase.Wrap(err))
			}
			return fmt.Errorf("sqlstore: scim group %q: %w", g.ID, scim.ErrVersionMismatch)
		}
		if err != nil {
			return sqlbase.Wrap(err)
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
					return sqlbase.Wrap(err)
				}
				cur, err := scanStrings(rows)
				if err != nil {
					return sqlbase.Wrap(err)
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
func (s *Store) DeleteGroupSCIM(ctx context.Context, orgID, id string, prevVersion int64) ([]string, error) {
	var members []string
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		query, args := `DELETE FROM ssokit_scim_groups WHERE org_id = $1 AND group_id = $2`, []any{orgID, id}
		if prevVersion > 0 {
			query += ` AND version = $3`
			args = append(args, prevVersion)
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if err := sqlbase.MustAffect(res); err != nil {
			if prevVersion > 0 {
				var one int
				if err := tx.QueryRowContext(ctx, `SELECT 1 FROM ssokit_scim_groups WHERE org_id = $1 AND group_id = $2`, orgID, id).Scan(&one); err != nil {
					return fmt.Errorf("sqlstore: scim group: %w", sqlbase.Wrap(err))
				}
				return fmt.Errorf("sqlstore: scim group %q: %w", id, scim.ErrVersionMismatch)
			}
			return fmt.Errorf("sqlstore: scim group: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM ssokit_scim_members WHERE org_id = $1 AND group_id = $2 RETURNING user_id`, orgID, id)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		members, err = scanStrings(rows)
		return sqlbase.Wrap(err)
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
		return nil, 0, sqlbase.Wrap(err)
	}
	if q.Count <= 0 || q.StartIndex > total {
		return nil, total, nil
	}
	order, err := listOrder(q, groupSort, "g.group_id")
	if err != nil {
		return nil, 0, err
	}
	n := len(b.args)
	args := append(b.args, q.Count, max(q.StartIndex, 1)-1)
	groups, err := sqlbase.Collect(ctx, s.db, scanSCIMGroup, `SELECT `+scimGroupCols+` FROM ssokit_scim_groups g WHERE `+where+
		order+` LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), args...)
	if err != nil {
		return nil, 0, err
	}
	return groups, total, nil
}

// ListGroupMembersSCIM implements scim.GroupStore.
func (s *Store) ListGroupMembersSCIM(ctx context.Context, orgID, groupID, afterUserID string, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM ssokit_scim_members WHERE org_id = $1 AND group_id = $2 AND user_id > $3
		ORDER BY user_id LIMIT $4`, orgID, groupID, afterUserID, sqlbase.Limit(limit))
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return nil, sqlbase.Wrap(err)
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
			return nil, sqlbase.Wrap(err)
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
				g.Created, g.LastModified = sqlbase.FromTS(created), sqlbase.FromTS(modif)
				out[uid] = append(out[uid], &g)
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, sqlbase.Wrap(err)
		}
	}
	return out, nil
}
