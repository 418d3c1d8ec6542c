package sqlscim

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

const scimUserCols = `u.org_id, u.user_id, u.attrs, u.deleted, u.version, u.created_at, u.last_modified`

func scanSCIMUser(r sqlbase.Scanner) (*scim.User, error) {
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
	u.Created, u.LastModified = sqlbase.FromTS(created), sqlbase.FromTS(modif)
	u.Derive()
	return &u, nil
}

func scimUserArgs(r *scim.User) ([]any, error) {
	attrs, err := sqlbase.ToJSON(r.Attributes)
	if err != nil {
		return nil, err
	}
	ent := r.Enterprise.Of()
	return []any{r.OrgID, r.ID, r.UserName, r.UserNameKey(), r.ExternalID, strings.ToLower(r.DisplayName),
		strings.ToLower(r.GivenName), strings.ToLower(r.FamilyName), r.Active, r.Deleted, attrs, r.Version,
		sqlbase.TS(r.Created), sqlbase.TS(r.LastModified),
		strings.ToLower(ent.EmployeeNumber), strings.ToLower(ent.CostCenter),
		strings.ToLower(ent.Organization), strings.ToLower(ent.Division),
		strings.ToLower(ent.Department), ent.ManagerID, strings.ToLower(r.PrimaryEmail())}, nil
}

func (s *Store) writeEmails(ctx context.Context, tx *sql.Tx, r *scim.User) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM ssokit_scim_emails WHERE org_id = $1 AND user_id = $2`, r.OrgID, r.ID); err != nil {
		return sqlbase.Wrap(err)
	}
	for i, e := range r.Emails {
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_scim_emails (org_id, user_id, pos, value_lc, type_lc, is_primary)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.OrgID, r.ID, i, strings.ToLower(e.Value), strings.ToLower(e.Type), e.Primary); err != nil {
			return sqlbase.Wrap(err)
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
	if margs, err = sqlbase.MemberArgs(m); err != nil {
		return nil, nil, err
	}
	if rargs, err = scimUserArgs(r); err != nil {
		return nil, nil, err
	}
	return margs, rargs, nil
}

// CreateUserSCIM implements scim.UserStore.
func (s *Store) CreateUserSCIM(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User) error {
	return s.CreateUserSCIMEvents(ctx, u, m, r, nil)
}

// CreateUserSCIMEvents implements scim.EventWriter: the user, membership,
// SCIM record and the events in one transaction.
func (s *Store) CreateUserSCIMEvents(ctx context.Context, u *sso.User, m *sso.Membership, r *scim.User, evs []*sso.Event) error {
	margs, rargs, err := newSCIMUserArgs(u, m, r)
	if err != nil {
		return err
	}
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := insertEvents(ctx, tx, evs); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertSCIMUser, rargs...); err != nil {
			return sqlbase.Wrap(err)
		}
		if _, err := tx.ExecContext(ctx, sqlbase.InsertUser+` ON CONFLICT (id) DO NOTHING`, sqlbase.UserArgs(u)...); err != nil {
			return sqlbase.Wrap(err)
		}
		if _, err := tx.ExecContext(ctx, sqlbase.InsertMember, margs...); err != nil {
			return sqlbase.Wrap(err)
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
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSCIMUser, rargs...); err != nil {
			return sqlbase.Wrap(err)
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
	display_name_lc, given_name_lc, family_name_lc, active, deleted, attrs, version, created_at, last_modified,
	employee_number_lc, cost_center_lc, organization_lc, division_lc, department_lc, manager_id, primary_email_lc)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`

// replaceCoreUser rewrites an existing core user inside a SCIM transaction;
// a missing user is ErrNotFound.
func (s *Store) replaceCoreUser(ctx context.Context, tx *sql.Tx, u *sso.User) error {
	res, err := tx.ExecContext(ctx, `UPDATE ssokit_users SET email = $2, email_lower = $3, email_verified = $4, given_name = $5,
		family_name = $6, display_name = $7, created_at = $8, updated_at = $9 WHERE id = $1`, sqlbase.UserArgs(u)...)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if err := sqlbase.MustAffect(res); err != nil {
		return fmt.Errorf("sqlstore: user: %w", err)
	}
	return nil
}

// replaceCoreMember writes what a SCIM user write owns of an existing
// membership (margs from memberArgs): its status, source and external ID,
// inside a SCIM transaction; a missing membership is ErrNotFound. Roles,
// the break-glass mark and the join time are left as stored: the SCIM
// write read them earlier, and a role recompute (scim.RolesWriter) or an
// administrator on another replica may have changed them since, which a
// stale copy must not undo.
func (s *Store) replaceCoreMember(ctx context.Context, tx *sql.Tx, margs []any) error {
	res, err := tx.ExecContext(ctx, `UPDATE ssokit_memberships SET status = $3, source = $4, external_id = $5,
		updated_at = $6 WHERE org_id = $1 AND user_id = $2`, margs[0], margs[1], margs[3], margs[4], margs[5], margs[8])
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if err := sqlbase.MustAffect(res); err != nil {
		return fmt.Errorf("sqlstore: membership: %w", err)
	}
	return nil
}

// GetUserSCIM implements scim.UserStore.
func (s *Store) GetUserSCIM(ctx context.Context, orgID, id string) (*scim.User, error) {
	return sqlbase.GetOne(ctx, s.db, "scim user", scanSCIMUser, `SELECT `+scimUserCols+` FROM ssokit_scim_users u WHERE u.org_id = $1 AND u.user_id = $2`, orgID, id)
}

// UpdateUserSCIM implements scim.UserStore.
func (s *Store) UpdateUserSCIM(ctx context.Context, r *scim.User, prevVersion int64, u *sso.User, m *sso.Membership) error {
	return s.UpdateUserSCIMEvents(ctx, r, prevVersion, u, m, nil)
}

// insertEvents appends evs in tx.
func insertEvents(ctx context.Context, tx *sql.Tx, evs []*sso.Event) error {
	if err := sqlbase.InsertEvents(ctx, tx, evs); err != nil {
		return fmt.Errorf("sqlstore: scim user event: %w", err)
	}
	return nil
}

// UpdateUserSCIMEvents implements scim.EventWriter: the change and the
// events in one transaction.
func (s *Store) UpdateUserSCIMEvents(ctx context.Context, r *scim.User, prevVersion int64, u *sso.User, m *sso.Membership, evs []*sso.Event) error {
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
		if margs, err = sqlbase.MemberArgs(m); err != nil {
			return err
		}
	}
	rargs, err := scimUserArgs(r)
	if err != nil {
		return err
	}
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ssokit_scim_users SET user_name = $3, user_name_lc = $4, external_id = $5,
			display_name_lc = $6, given_name_lc = $7, family_name_lc = $8, active = $9, deleted = $10, attrs = $11,
			version = $12, created_at = $13, last_modified = $14, employee_number_lc = $15, cost_center_lc = $16,
			organization_lc = $17, division_lc = $18, department_lc = $19, manager_id = $20, primary_email_lc = $21
			WHERE org_id = $1 AND user_id = $2 AND version = $22`, append(rargs, prevVersion)...)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return sqlbase.Wrap(err)
		} else if n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM ssokit_scim_users WHERE org_id = $1 AND user_id = $2`, r.OrgID, r.ID).Scan(&one)
			if err != nil {
				return fmt.Errorf("sqlstore: scim user: %w", sqlbase.Wrap(err))
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
				return sqlbase.Wrap(err)
			}
		}
		if err := insertEvents(ctx, tx, evs); err != nil {
			return err
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
		return nil, 0, sqlbase.Wrap(err)
	}
	if q.Count <= 0 || q.StartIndex > total {
		return nil, total, nil
	}
	order, err := listOrder(q, userSort, "u.user_id")
	if err != nil {
		return nil, 0, err
	}
	args := append(b.args, q.Count, max(q.StartIndex, 1)-1)
	n := len(b.args)
	users, err := sqlbase.Collect(ctx, s.db, scanSCIMUser, `SELECT `+scimUserCols+` FROM ssokit_scim_users u WHERE `+where+
		order+` LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), args...)
	if err != nil {
		return nil, 0, err
	}
	return users, total, nil
}
