// Package sqlinvite implements invite.Store (invitations, auto-join
// policies, join requests and the account lookup) on the database of a
// sqlstore.Store, SQLite or PostgreSQL, so that only hosts that use
// invitations link it.
//
//	inv, err := invite.New(invite.Config{Store: sqlinvite.New(st), Users: st, Orgs: st, Members: st, Domains: st, ...})
//
// An invitation is used, resent or revoked with one compare-and-swap
// UPDATE on its token hash, and a join request decided with one UPDATE
// guarded by its pending state, so concurrent callers on any number of
// replicas stay exact. A partial unique index keeps one pending invitation
// per organization and address: an invitation is created in a transaction
// that first marks the address's expired pending ones expired, so of
// concurrent invitations the index lets one commit (on PostgreSQL the
// second insert waits for the first transaction and then conflicts).
package sqlinvite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var (
	_ invite.Store       = (*Store)(nil)
	_ invite.EventBinder = (*Store)(nil)
)

// Store is the invite store on a sqlstore.Store's database. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB
	// events are inserted with every write of a view WithEvents returned;
	// nil for the Store New returns.
	events []*sso.Event
}

// New returns the invite store on st's database. Migrate st first:
// sqlstore.Store.Migrate creates the tables of every capability.
func New(st *sqlstore.Store) *Store { return &Store{db: sqlbase.Of(st).DB} }

const invCols = `id, org_id, email, roles, token_hash, status, invited_by, accepted_by, created_at, expires_at, updated_at`

func scanInv(row sqlbase.Scanner) (*invite.Invitation, error) {
	var v invite.Invitation
	var roles, status string
	var created, expires, updated int64
	if err := row.Scan(&v.ID, &v.OrgID, &v.Email, &roles, &v.TokenHash, &status, &v.InvitedBy, &v.AcceptedBy, &created, &expires, &updated); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	if err := sqlbase.FromJSON(roles, &v.Roles); err != nil {
		return nil, err
	}
	v.Status, v.CreatedAt, v.ExpiresAt, v.UpdatedAt = invite.Status(status), sqlbase.FromTS(created), sqlbase.FromTS(expires), sqlbase.FromTS(updated)
	return &v, nil
}

func invArgs(v *invite.Invitation) ([]any, error) {
	roles, err := sqlbase.ToJSON(v.Roles)
	if err != nil {
		return nil, err
	}
	return []any{v.ID, v.OrgID, v.Email, roles, v.TokenHash, string(v.Status), v.InvitedBy, v.AcceptedBy,
		sqlbase.TS(v.CreatedAt), sqlbase.TS(v.ExpiresAt), sqlbase.TS(v.UpdatedAt)}, nil
}

// CreateInvitation implements invite.InvitationStore in one transaction:
// the address's expired pending invitations are marked expired, then the
// insert, which the partial unique index ssokit_invitations_pending
// refuses while a live one is pending.
func (s *Store) CreateInvitation(ctx context.Context, inv *invite.Invitation) error {
	args, err := invArgs(inv)
	if err != nil {
		return err
	}
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if inv.Status == invite.StatusPending {
			if _, err := tx.ExecContext(ctx, `UPDATE ssokit_invitations SET status = 'expired', updated_at = $3
WHERE org_id = $1 AND email = $2 AND status = 'pending' AND expires_at <= $3`, inv.OrgID, inv.Email, sqlbase.TS(inv.CreatedAt)); err != nil {
				return sqlbase.Wrap(err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_invitations (`+invCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, args...); err != nil {
			return sqlbase.Wrap(err)
		}
		return sqlbase.InsertEvents(ctx, tx, s.events)
	})
}

// GetInvitation implements invite.InvitationStore.
func (s *Store) GetInvitation(ctx context.Context, orgID, id string) (*invite.Invitation, error) {
	return scanInv(s.db.QueryRowContext(ctx, `SELECT `+invCols+` FROM ssokit_invitations WHERE id = $1 AND org_id = $2`, id, orgID))
}

// FindInvitation implements invite.InvitationStore.
func (s *Store) FindInvitation(ctx context.Context, tokenHash string) (*invite.Invitation, error) {
	return scanInv(s.db.QueryRowContext(ctx, `SELECT `+invCols+` FROM ssokit_invitations WHERE token_hash = $1`, tokenHash))
}

// ListInvitations implements invite.InvitationStore.
func (s *Store) ListInvitations(ctx context.Context, orgID string) ([]*invite.Invitation, error) {
	return sqlbase.Collect(ctx, s.db, scanInv, `SELECT `+invCols+` FROM ssokit_invitations WHERE org_id = $1 ORDER BY created_at DESC, id DESC`, orgID)
}

// ListPendingInvitations implements invite.InvitationStore.
func (s *Store) ListPendingInvitations(ctx context.Context, email string) ([]*invite.Invitation, error) {
	return sqlbase.Collect(ctx, s.db, scanInv, `SELECT `+invCols+` FROM ssokit_invitations WHERE email = $1 AND status = $2 ORDER BY created_at, id`,
		email, string(invite.StatusPending))
}

// UpdateInvitation implements invite.InvitationStore with one
// compare-and-swap UPDATE on the old token hash.
func (s *Store) UpdateInvitation(ctx context.Context, inv *invite.Invitation, oldTokenHash string) error {
	args, err := invArgs(inv)
	if err != nil {
		return err
	}
	return s.write(ctx, func(q sqlbase.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE ssokit_invitations SET email = $3, roles = $4, token_hash = $5, status = $6,
invited_by = $7, accepted_by = $8, created_at = $9, expires_at = $10, updated_at = $11
WHERE id = $1 AND org_id = $2 AND token_hash = $12`, append(args, oldTokenHash)...)
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return sqlbase.Wrap(err)
		} else if n == 1 {
			return nil
		}
		if _, err := scanInv(q.QueryRowContext(ctx, `SELECT `+invCols+` FROM ssokit_invitations WHERE id = $1 AND org_id = $2`, inv.ID, inv.OrgID)); err != nil {
			return err
		}
		return fmt.Errorf("%w: sqlstore: invitation changed concurrently", sso.ErrConflict)
	})
}

// GetAutoJoin implements invite.JoinStore.
func (s *Store) GetAutoJoin(ctx context.Context, orgID string) (*invite.AutoJoin, error) {
	var p invite.AutoJoin
	var mode string
	var updated int64
	err := s.db.QueryRowContext(ctx, `SELECT org_id, mode, role, updated_at FROM ssokit_auto_join WHERE org_id = $1`, orgID).
		Scan(&p.OrgID, &mode, &p.Role, &updated)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	p.Mode, p.UpdatedAt = invite.Mode(mode), sqlbase.FromTS(updated)
	return &p, nil
}

// PutAutoJoin implements invite.JoinStore with one upsert.
func (s *Store) PutAutoJoin(ctx context.Context, p *invite.AutoJoin) error {
	return s.write(ctx, func(q sqlbase.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO ssokit_auto_join (org_id, mode, role, updated_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (org_id) DO UPDATE SET mode = excluded.mode, role = excluded.role, updated_at = excluded.updated_at`,
			p.OrgID, string(p.Mode), p.Role, sqlbase.TS(p.UpdatedAt))
		return sqlbase.Wrap(err)
	})
}

const jrCols = `id, org_id, user_id, email, role, status, decided_by, created_at, updated_at`

func scanJR(row sqlbase.Scanner) (*invite.JoinRequest, error) {
	var jr invite.JoinRequest
	var status string
	var created, updated int64
	if err := row.Scan(&jr.ID, &jr.OrgID, &jr.UserID, &jr.Email, &jr.Role, &status, &jr.DecidedBy, &created, &updated); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	jr.Status, jr.CreatedAt, jr.UpdatedAt = invite.Status(status), sqlbase.FromTS(created), sqlbase.FromTS(updated)
	return &jr, nil
}

// CreateJoinRequest implements invite.JoinStore; a partial unique index
// keeps one pending request per member.
func (s *Store) CreateJoinRequest(ctx context.Context, jr *invite.JoinRequest) error {
	return s.write(ctx, func(q sqlbase.Querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO ssokit_join_requests (`+jrCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			jr.ID, jr.OrgID, jr.UserID, jr.Email, jr.Role, string(jr.Status), jr.DecidedBy, sqlbase.TS(jr.CreatedAt), sqlbase.TS(jr.UpdatedAt))
		return sqlbase.Wrap(err)
	})
}

// GetJoinRequest implements invite.JoinStore.
func (s *Store) GetJoinRequest(ctx context.Context, orgID, id string) (*invite.JoinRequest, error) {
	return scanJR(s.db.QueryRowContext(ctx, `SELECT `+jrCols+` FROM ssokit_join_requests WHERE id = $1 AND org_id = $2`, id, orgID))
}

// ListJoinRequests implements invite.JoinStore.
func (s *Store) ListJoinRequests(ctx context.Context, orgID string, status invite.Status) ([]*invite.JoinRequest, error) {
	return sqlbase.Collect(ctx, s.db, scanJR, `SELECT `+jrCols+` FROM ssokit_join_requests
WHERE org_id = $1 AND ($2 = '' OR status = $2) ORDER BY created_at DESC, id DESC`, orgID, string(status))
}

// DecideJoinRequest implements invite.JoinStore with one UPDATE guarded
// by the pending state.
func (s *Store) DecideJoinRequest(ctx context.Context, jr *invite.JoinRequest) error {
	return s.write(ctx, func(q sqlbase.Querier) error {
		res, err := q.ExecContext(ctx, `UPDATE ssokit_join_requests SET role = $3, status = $4, decided_by = $5, updated_at = $6
WHERE id = $1 AND org_id = $2 AND status = 'pending'`, jr.ID, jr.OrgID, jr.Role, string(jr.Status), jr.DecidedBy, sqlbase.TS(jr.UpdatedAt))
		if err != nil {
			return sqlbase.Wrap(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return sqlbase.Wrap(err)
		} else if n == 1 {
			return nil
		}
		if _, err := scanJR(q.QueryRowContext(ctx, `SELECT `+jrCols+` FROM ssokit_join_requests WHERE id = $1 AND org_id = $2`, jr.ID, jr.OrgID)); err != nil {
			return err
		}
		return fmt.Errorf("%w: sqlstore: join request already decided", sso.ErrConflict)
	})
}

// FindVerifiedUser implements invite.UserFinder on the core users table.
func (s *Store) FindVerifiedUser(ctx context.Context, email string) (*sso.User, error) {
	var u sso.User
	var lower string
	var created, updated int64
	err := s.db.QueryRowContext(ctx, `SELECT `+sqlbase.UserCols+` FROM ssokit_users
WHERE email_lower = $1 AND email_verified = $2 ORDER BY created_at, id LIMIT 1`, email, true).
		Scan(&u.ID, &u.Email, &lower, &u.EmailVerified, &u.GivenName, &u.FamilyName, &u.DisplayName, &created, &updated)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	u.CreatedAt, u.UpdatedAt = sqlbase.FromTS(created), sqlbase.FromTS(updated)
	return &u, nil
}
