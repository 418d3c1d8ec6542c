package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var _ sso.Store = (*Store)(nil)

// exec runs a single-statement write and maps its errors. On a view
// WithEvents returned, the statement and the view's events run in one
// transaction.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(s.events) > 0 {
		return s.execEvents(ctx, "", query, args)
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return nil, sqlbase.Wrap(err)
	}
	return res, nil
}

// execAffect runs an update or delete that must touch a row; none is
// ErrNotFound (and, on a view WithEvents returned, stores no event).
func (s *Store) execAffect(ctx context.Context, what, query string, args ...any) error {
	if len(s.events) > 0 {
		_, err := s.execEvents(ctx, what, query, args)
		return err
	}
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if err := sqlbase.MustAffect(res); err != nil {
		return fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return nil
}

// WithEvents implements audit.EventBinder: the core writes of the
// returned view (organizations, domains, connections, memberships, SCIM
// tokens) insert
// evs in the same transaction as their statement. The sealer chains the
// events afterwards, as it does those AppendEvent stores.
func (s *Store) WithEvents(evs ...*sso.Event) sso.Store {
	v := *s
	v.events = evs
	return &v
}

// execEvents runs query and inserts s.events in one transaction; a
// non-empty what requires the statement to touch a row.
func (s *Store) execEvents(ctx context.Context, what, query string, args []any) (sql.Result, error) {
	var res sql.Result
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		// The change first: on SQLite it takes the write lock at once.
		var err error
		if res, err = tx.ExecContext(ctx, query, args...); err != nil {
			return sqlbase.Wrap(err)
		}
		if what != "" {
			if err := sqlbase.MustAffect(res); err != nil {
				return fmt.Errorf("sqlstore: %s: %w", what, err)
			}
		}
		for _, e := range s.events {
			if err := insertEvent(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// Read queries, named so that tests can check their plans use indexes.
const (
	qGetOrg             = `SELECT ` + orgCols + ` FROM ssokit_orgs WHERE id = $1`
	qGetOrgBySlug       = `SELECT ` + orgCols + ` FROM ssokit_orgs WHERE slug = $1`
	qListOrgs           = `SELECT ` + orgCols + ` FROM ssokit_orgs WHERE id > $1 ORDER BY id LIMIT $2`
	qGetDomain          = `SELECT ` + domainCols + ` FROM ssokit_domains WHERE org_id = $1 AND name = $2`
	qListDomains        = `SELECT ` + domainCols + ` FROM ssokit_domains WHERE org_id = $1 ORDER BY name`
	qFindVerifiedDomain = `SELECT ` + domainCols + ` FROM ssokit_domains WHERE name = $1 AND state = 'verified'`
	qListDomainsToCheck = `SELECT ` + domainCols + ` FROM ssokit_domains
		WHERE state IN ('verified', 'failed') AND last_checked_at < $1
		ORDER BY last_checked_at, name, org_id LIMIT $2`
	qGetConnection         = `SELECT ` + connCols + ` FROM ssokit_connections WHERE id = $1`
	qListConnections       = `SELECT ` + connCols + ` FROM ssokit_connections WHERE org_id = $1 ORDER BY created_at, id`
	qListActiveConnections = `SELECT ` + connCols + ` FROM ssokit_connections
			WHERE status = 'active' AND id > $1 ORDER BY id LIMIT $2`
	qListActiveConnectionsProto = `SELECT ` + connCols + ` FROM ssokit_connections
		WHERE status = 'active' AND protocol = $1 AND id > $2 ORDER BY id LIMIT $3`
	qListProtocolConnections = `SELECT ` + connCols + ` FROM ssokit_connections
		WHERE protocol = $1 AND id > $2 ORDER BY id LIMIT $3`
	qGetUser       = `SELECT ` + sqlbase.UserCols + ` FROM ssokit_users WHERE id = $1`
	qGetMembership = `SELECT ` + sqlbase.MemberCols + ` FROM ssokit_memberships WHERE org_id = $1 AND user_id = $2`
	qListMembers   = `SELECT ` + sqlbase.MemberCols + ` FROM ssokit_memberships
		WHERE org_id = $1 AND user_id > $2 ORDER BY user_id LIMIT $3`
	qListUserMemberships = `SELECT ` + sqlbase.MemberCols + ` FROM ssokit_memberships WHERE user_id = $1 ORDER BY org_id`
	qFindMemberByEmail   = `SELECT m.org_id, m.user_id, m.roles, m.status, m.source, m.external_id, m.break_glass, m.joined_at, m.updated_at
		FROM ssokit_users u JOIN ssokit_memberships m ON m.user_id = u.id
		WHERE u.email_lower = $1 AND m.org_id = $2
		ORDER BY u.email_verified DESC, m.joined_at, m.user_id LIMIT 1`
	qGetIdentity = `SELECT ` + identityCols + ` FROM ssokit_identities
		WHERE org_id = $1 AND issuer = $2 AND subject = $3`
	qListUserIdentities = `SELECT ` + identityCols + ` FROM ssokit_identities WHERE user_id = $1 ORDER BY created_at, id`
	qFindSCIMToken      = `SELECT ` + tokenCols + ` FROM ssokit_scim_tokens WHERE hash = $1`
	qListSCIMTokens     = `SELECT ` + tokenCols + ` FROM ssokit_scim_tokens WHERE org_id = $1 ORDER BY created_at DESC, id DESC`
)

// --- organizations -----------------------------------------------------------

const orgCols = `id, slug, name, settings, created_at, updated_at`

func scanOrg(r sqlbase.Scanner) (*sso.Organization, error) {
	var (
		o            sso.Organization
		settings     string
		created, upd int64
	)
	if err := r.Scan(&o.ID, &o.Slug, &o.Name, &settings, &created, &upd); err != nil {
		return nil, err
	}
	if err := sqlbase.FromJSON(settings, &o.Settings); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = sqlbase.FromTS(created), sqlbase.FromTS(upd)
	return &o, nil
}

// CreateOrg implements sso.OrgStore.
func (s *Store) CreateOrg(ctx context.Context, o *sso.Organization) error {
	if err := o.Validate(); err != nil {
		return err
	}
	settings, err := sqlbase.ToJSON(o.Settings)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO ssokit_orgs (`+orgCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		o.ID, o.Slug, o.Name, settings, sqlbase.TS(o.CreatedAt), sqlbase.TS(o.UpdatedAt))
	return err
}

// GetOrg implements sso.OrgStore.
func (s *Store) GetOrg(ctx context.Context, id string) (*sso.Organization, error) {
	return sqlbase.GetOne(ctx, s.db, "organization", scanOrg, qGetOrg, id)
}

// GetOrgBySlug implements sso.OrgStore.
func (s *Store) GetOrgBySlug(ctx context.Context, slug string) (*sso.Organization, error) {
	return sqlbase.GetOne(ctx, s.db, "organization", scanOrg, qGetOrgBySlug, slug)
}

// UpdateOrg implements sso.OrgStore.
func (s *Store) UpdateOrg(ctx context.Context, o *sso.Organization) error {
	if err := o.Validate(); err != nil {
		return err
	}
	settings, err := sqlbase.ToJSON(o.Settings)
	if err != nil {
		return err
	}
	return s.execAffect(ctx, "organization", `UPDATE ssokit_orgs SET slug = $2, name = $3, settings = $4, created_at = $5, updated_at = $6 WHERE id = $1`,
		o.ID, o.Slug, o.Name, settings, sqlbase.TS(o.CreatedAt), sqlbase.TS(o.UpdatedAt))
}

var _ sso.ConditionalOrgUpdater = (*Store)(nil)

// UpdateOrgIf implements sso.ConditionalOrgUpdater: one UPDATE whose WHERE
// also requires the stored updated_at to be prevUpdatedAt, so a change
// committed since the caller's read (which on PostgreSQL the UPDATE waits
// for and then re-checks) makes it write nothing.
func (s *Store) UpdateOrgIf(ctx context.Context, o *sso.Organization, prevUpdatedAt time.Time) error {
	if err := o.Validate(); err != nil {
		return err
	}
	settings, err := sqlbase.ToJSON(o.Settings)
	if err != nil {
		return err
	}
	err = s.execAffect(ctx, "organization", `UPDATE ssokit_orgs SET slug = $2, name = $3, settings = $4, created_at = $5, updated_at = $6
		WHERE id = $1 AND updated_at = $7`,
		o.ID, o.Slug, o.Name, settings, sqlbase.TS(o.CreatedAt), sqlbase.TS(o.UpdatedAt), sqlbase.TS(prevUpdatedAt))
	if errors.Is(err, sso.ErrNotFound) {
		// No row matched: the organization is gone, or it changed.
		if _, gerr := s.GetOrg(ctx, o.ID); gerr == nil {
			return sso.OrgChanged(o.ID)
		}
	}
	return err
}

// DeleteOrg implements sso.OrgStore.
func (s *Store) DeleteOrg(ctx context.Context, id string) error {
	return s.execAffect(ctx, "organization", `DELETE FROM ssokit_orgs WHERE id = $1`, id)
}

// ListOrgs implements sso.OrgStore.
func (s *Store) ListOrgs(ctx context.Context, afterID string, limit int) ([]*sso.Organization, error) {
	return sqlbase.Collect(ctx, s.db, scanOrg, qListOrgs,
		afterID, sqlbase.Limit(limit))
}

// --- domains -------------------------------------------------------------------

const domainCols = `org_id, name, token, state, verified_at, last_checked_at, consecutive_failures, failing_since, created_at`

func scanDomain(r sqlbase.Scanner) (*sso.Domain, error) {
	var (
		d                                   sso.Domain
		state                               string
		verified, checked, failing, created int64
	)
	if err := r.Scan(&d.OrgID, &d.Name, &d.Token, &state, &verified, &checked, &d.ConsecutiveFailures, &failing, &created); err != nil {
		return nil, err
	}
	d.State = sso.DomainState(state)
	d.VerifiedAt, d.LastCheckedAt = sqlbase.FromTS(verified), sqlbase.FromTS(checked)
	d.FailingSince, d.CreatedAt = sqlbase.FromTS(failing), sqlbase.FromTS(created)
	return &d, nil
}

// CreateDomain implements sso.DomainStore. A second verified holder of the
// name is refused by a partial unique index.
func (s *Store) CreateDomain(ctx context.Context, d *sso.Domain) error {
	if err := d.Validate(); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO ssokit_domains (`+domainCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.OrgID, d.Name, d.Token, string(d.State), sqlbase.TS(d.VerifiedAt), sqlbase.TS(d.LastCheckedAt),
		d.ConsecutiveFailures, sqlbase.TS(d.FailingSince), sqlbase.TS(d.CreatedAt))
	return err
}

// GetDomain implements sso.DomainStore.
func (s *Store) GetDomain(ctx context.Context, orgID, name string) (*sso.Domain, error) {
	return sqlbase.GetOne(ctx, s.db, "domain", scanDomain, qGetDomain, orgID, name)
}

// ListDomains implements sso.DomainStore.
func (s *Store) ListDomains(ctx context.Context, orgID string) ([]*sso.Domain, error) {
	return sqlbase.Collect(ctx, s.db, scanDomain, qListDomains, orgID)
}

// FindVerifiedDomain implements sso.DomainStore.
func (s *Store) FindVerifiedDomain(ctx context.Context, name string) (*sso.Domain, error) {
	return sqlbase.GetOne(ctx, s.db, "verified domain", scanDomain, qFindVerifiedDomain, name)
}

// UpdateDomain implements sso.DomainStore. A second verified holder of the
// name is refused by a partial unique index.
func (s *Store) UpdateDomain(ctx context.Context, d *sso.Domain) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.execAffect(ctx, "domain", `UPDATE ssokit_domains SET token = $3, state = $4, verified_at = $5, last_checked_at = $6,
		consecutive_failures = $7, failing_since = $8, created_at = $9 WHERE org_id = $1 AND name = $2`,
		d.OrgID, d.Name, d.Token, string(d.State), sqlbase.TS(d.VerifiedAt), sqlbase.TS(d.LastCheckedAt),
		d.ConsecutiveFailures, sqlbase.TS(d.FailingSince), sqlbase.TS(d.CreatedAt))
}

// DeleteDomain implements sso.DomainStore.
func (s *Store) DeleteDomain(ctx context.Context, orgID, name string) error {
	return s.execAffect(ctx, "domain", `DELETE FROM ssokit_domains WHERE org_id = $1 AND name = $2`, orgID, name)
}

// ListDomainsToCheck implements sso.DomainStore.
func (s *Store) ListDomainsToCheck(ctx context.Context, checkedBefore time.Time, limit int) ([]*sso.Domain, error) {
	return sqlbase.Collect(ctx, s.db, scanDomain, qListDomainsToCheck, sqlbase.TS(checkedBefore), sqlbase.Limit(limit))
}

// --- connections -----------------------------------------------------------------

const connCols = `id, org_id, protocol, status, display_name, config, config_version, mapping, group_roles, last_test, last_test_ok, created_at, updated_at`

func scanConn(r sqlbase.Scanner) (*sso.Connection, error) {
	var (
		c                              sso.Connection
		protocol, status               string
		config, mapping, groups, lastT string
		version                        int
		lastOK, created, upd           int64
	)
	if err := r.Scan(&c.ID, &c.OrgID, &protocol, &status, &c.DisplayName, &config, &version, &mapping, &groups, &lastT,
		&lastOK, &created, &upd); err != nil {
		return nil, err
	}
	c.Protocol, c.Status = sso.Protocol(protocol), sso.ConnectionStatus(status)
	cfg, err := sso.DecodeConfig(c.Protocol, version, []byte(config))
	if err != nil {
		return nil, err
	}
	c.Config = cfg
	for _, f := range []struct {
		s string
		v any
	}{{mapping, &c.Mapping}, {groups, &c.GroupRoles}, {lastT, &c.LastTest}} {
		if err := sqlbase.FromJSON(f.s, f.v); err != nil {
			return nil, err
		}
	}
	c.LastTestOK, c.CreatedAt, c.UpdatedAt = sqlbase.FromTS(lastOK), sqlbase.FromTS(created), sqlbase.FromTS(upd)
	return &c, nil
}

// connArgs returns the column values of c in connCols order.
func connArgs(c *sso.Connection) ([]any, error) {
	doc, version, err := sso.EncodeConfig(c.Config)
	if err != nil {
		return nil, err
	}
	args := []any{c.ID, c.OrgID, string(c.Protocol), string(c.Status), c.DisplayName, string(doc), version}
	for _, v := range []any{c.Mapping, c.GroupRoles, c.LastTest} {
		j, err := sqlbase.ToJSON(v)
		if err != nil {
			return nil, err
		}
		args = append(args, j)
	}
	return append(args, sqlbase.TS(c.LastTestOK), sqlbase.TS(c.CreatedAt), sqlbase.TS(c.UpdatedAt)), nil
}

// CreateConnection implements sso.ConnectionStore.
func (s *Store) CreateConnection(ctx context.Context, c *sso.Connection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	args, err := connArgs(c)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO ssokit_connections (`+connCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`, args...)
	return err
}

// GetConnection implements sso.ConnectionStore.
func (s *Store) GetConnection(ctx context.Context, id string) (*sso.Connection, error) {
	return sqlbase.GetOne(ctx, s.db, "connection", scanConn, qGetConnection, id)
}

// ListConnections implements sso.ConnectionStore.
func (s *Store) ListConnections(ctx context.Context, orgID string) ([]*sso.Connection, error) {
	return sqlbase.Collect(ctx, s.db, scanConn, qListConnections, orgID)
}

// ListActiveConnections implements sso.ConnectionStore.
func (s *Store) ListActiveConnections(ctx context.Context, p sso.Protocol, afterID string, limit int) ([]*sso.Connection, error) {
	if p == "" {
		return sqlbase.Collect(ctx, s.db, scanConn, qListActiveConnections, afterID, sqlbase.Limit(limit))
	}
	return sqlbase.Collect(ctx, s.db, scanConn, qListActiveConnectionsProto, string(p), afterID, sqlbase.Limit(limit))
}

// ListProtocolConnections returns up to limit connections of protocol p,
// whatever their status, with ID > afterID in ID order (saml.SP checks
// that no two connections claim one ACS URL with it).
func (s *Store) ListProtocolConnections(ctx context.Context, p sso.Protocol, afterID string, limit int) ([]*sso.Connection, error) {
	return sqlbase.Collect(ctx, s.db, scanConn, qListProtocolConnections, string(p), afterID, sqlbase.Limit(limit))
}

// UpdateConnection implements sso.ConnectionStore.
func (s *Store) UpdateConnection(ctx context.Context, c *sso.Connection) error {
	if err := c.Validate(); err != nil {
		return err
	}
	args, err := connArgs(c)
	if err != nil {
		return err
	}
	return s.execAffect(ctx, "connection", `UPDATE ssokit_connections SET org_id = $2, protocol = $3, status = $4, display_name = $5,
		config = $6, config_version = $7, mapping = $8, group_roles = $9, last_test = $10, last_test_ok = $11, created_at = $12, updated_at = $13
		WHERE id = $1`, args...)
}

var _ sso.ConditionalConnectionUpdater = (*Store)(nil)

// UpdateConnectionIf implements sso.ConditionalConnectionUpdater: one
// UPDATE whose WHERE also requires the stored updated_at to be
// prevUpdatedAt, so a change committed since the caller's read (which on
// PostgreSQL the UPDATE waits for and then re-checks) makes it write
// nothing.
func (s *Store) UpdateConnectionIf(ctx context.Context, c *sso.Connection, prevUpdatedAt time.Time) error {
	if err := c.Validate(); err != nil {
		return err
	}
	args, err := connArgs(c)
	if err != nil {
		return err
	}
	err = s.execAffect(ctx, "connection", `UPDATE ssokit_connections SET org_id = $2, protocol = $3, status = $4, display_name = $5,
		config = $6, config_version = $7, mapping = $8, group_roles = $9, last_test = $10, last_test_ok = $11, created_at = $12, updated_at = $13
		WHERE id = $1 AND updated_at = $14`, append(args, sqlbase.TS(prevUpdatedAt))...)
	if errors.Is(err, sso.ErrNotFound) {
		// No row matched: the connection is gone, or it changed.
		if _, gerr := s.GetConnection(ctx, c.ID); gerr == nil {
			return sso.ConnectionChanged(c.ID)
		}
	}
	return err
}

// DeleteConnection implements sso.ConnectionStore.
func (s *Store) DeleteConnection(ctx context.Context, id string) error {
	return s.execAffect(ctx, "connection", `DELETE FROM ssokit_connections WHERE id = $1`, id)
}

// --- users -------------------------------------------------------------------------

func scanUser(r sqlbase.Scanner) (*sso.User, error) {
	var (
		u            sso.User
		lower        string
		created, upd int64
	)
	if err := r.Scan(&u.ID, &u.Email, &lower, &u.EmailVerified, &u.GivenName, &u.FamilyName, &u.DisplayName, &created, &upd); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = sqlbase.FromTS(created), sqlbase.FromTS(upd)
	return &u, nil
}

// CreateUser implements sso.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *sso.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	_, err := s.exec(ctx, sqlbase.InsertUser, sqlbase.UserArgs(u)...)
	return err
}

// GetUser implements sso.UserStore.
func (s *Store) GetUser(ctx context.Context, id string) (*sso.User, error) {
	return sqlbase.GetOne(ctx, s.db, "user", scanUser, qGetUser, id)
}

// UpdateUser implements sso.UserStore.
func (s *Store) UpdateUser(ctx context.Context, u *sso.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	return s.execAffect(ctx, "user", `UPDATE ssokit_users SET email = $2, email_lower = $3, email_verified = $4, given_name = $5,
		family_name = $6, display_name = $7, created_at = $8, updated_at = $9 WHERE id = $1`, sqlbase.UserArgs(u)...)
}

var _ sso.ConditionalUserUpdater = (*Store)(nil)

// UpdateUserIf implements sso.ConditionalUserUpdater: UpdateUser whose
// WHERE also requires the stored updated_at to be prevUpdatedAt, so a
// change committed since the caller's read (which on PostgreSQL the UPDATE
// waits for and then re-checks) makes it write nothing.
func (s *Store) UpdateUserIf(ctx context.Context, u *sso.User, prevUpdatedAt time.Time) error {
	if err := u.Validate(); err != nil {
		return err
	}
	err := s.execAffect(ctx, "user", `UPDATE ssokit_users SET email = $2, email_lower = $3, email_verified = $4, given_name = $5,
		family_name = $6, display_name = $7, created_at = $8, updated_at = $9 WHERE id = $1 AND updated_at = $10`,
		append(sqlbase.UserArgs(u), sqlbase.TS(prevUpdatedAt))...)
	if errors.Is(err, sso.ErrNotFound) {
		// No row matched: the user is gone, or changed.
		if _, gerr := s.GetUser(ctx, u.ID); gerr == nil {
			return sso.UserChanged(u.ID)
		}
	}
	return err
}

// DeleteUser implements sso.UserStore.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.execAffect(ctx, "user", `DELETE FROM ssokit_users WHERE id = $1`, id)
}

// --- memberships ---------------------------------------------------------------------

func scanMember(r sqlbase.Scanner) (*sso.Membership, error) {
	var (
		m                     sso.Membership
		roles, status, source string
		joined, upd           int64
	)
	if err := r.Scan(&m.OrgID, &m.UserID, &roles, &status, &source, &m.ExternalID, &m.BreakGlass, &joined, &upd); err != nil {
		return nil, err
	}
	if err := sqlbase.FromJSON(roles, &m.Roles); err != nil {
		return nil, err
	}
	m.Status, m.Source = sso.MembershipStatus(status), sso.Source(source)
	m.JoinedAt, m.UpdatedAt = sqlbase.FromTS(joined), sqlbase.FromTS(upd)
	return &m, nil
}

// CreateMembership implements sso.MembershipStore.
func (s *Store) CreateMembership(ctx context.Context, m *sso.Membership) error {
	if err := m.Validate(); err != nil {
		return err
	}
	args, err := sqlbase.MemberArgs(m)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, sqlbase.InsertMember, args...)
	return err
}

// GetMembership implements sso.MembershipStore.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (*sso.Membership, error) {
	return sqlbase.GetOne(ctx, s.db, "membership", scanMember, qGetMembership, orgID, userID)
}

// UpdateMembership implements sso.MembershipStore.
func (s *Store) UpdateMembership(ctx context.Context, m *sso.Membership) error {
	if err := m.Validate(); err != nil {
		return err
	}
	args, err := sqlbase.MemberArgs(m)
	if err != nil {
		return err
	}
	return s.execAffect(ctx, "membership", `UPDATE ssokit_memberships SET roles = $3, status = $4, source = $5, external_id = $6,
		break_glass = $7, joined_at = $8, updated_at = $9 WHERE org_id = $1 AND user_id = $2`, args...)
}

// SetMembershipRoles implements scim.RolesWriter: it writes only the
// roles (and the update time) of a membership, so a role recompute never
// writes back a status it read before a concurrent change.
func (s *Store) SetMembershipRoles(ctx context.Context, orgID, userID string, roles []string, at time.Time) error {
	m := &sso.Membership{OrgID: orgID, UserID: userID, Roles: roles, Status: sso.MembershipActive, JoinedAt: at, UpdatedAt: at}
	if err := m.Validate(); err != nil {
		return err
	}
	args, err := sqlbase.MemberArgs(m)
	if err != nil {
		return err
	}
	return s.execAffect(ctx, "membership", `UPDATE ssokit_memberships SET roles = $3, updated_at = $4
		WHERE org_id = $1 AND user_id = $2`, args[0], args[1], args[2], args[8])
}

// EditMembership implements sso.MembershipEditor in one transaction. On
// PostgreSQL it first locks the organization's row, so that edits of one
// organization's members (and their Keep checks) run one after the other,
// then reads the member's row for update; on SQLite its first statement
// takes the database's write lock. The edit runs on the row as stored,
// and the whole row is written back while it is locked.
func (s *Store) EditMembership(ctx context.Context, e *sso.MembershipEdit) (*sso.Membership, error) {
	var out *sso.Membership
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		old, err := s.lockMember(ctx, tx, e.OrgID, e.UserID)
		if err != nil {
			return err
		}
		m, err := e.Apply(old)
		if err != nil {
			return err
		}
		if e.TakesKeep(old, m) {
			if err := s.otherHolder(ctx, tx, e); err != nil {
				return err
			}
		}
		if err := writeEdit(ctx, tx, e, m); err != nil {
			return err
		}
		for _, ev := range s.events {
			if err := insertEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockMember locks what an edit of (orgID, userID) needs and reads the
// membership.
func (s *Store) lockMember(ctx context.Context, tx *sql.Tx, orgID, userID string) (*sso.Membership, error) {
	q, lock, args := qGetMembership, `SELECT 1 FROM ssokit_orgs WHERE id = $1 FOR NO KEY UPDATE`, []any{orgID}
	if s.dialect == Postgres {
		// FOR NO KEY UPDATE: edits of the organization queue on its row,
		// while inserts that only reference the organization do not.
		q += ` FOR UPDATE`
	} else {
		// A write first: the transaction holds SQLite's write lock before
		// it reads.
		lock, args = `UPDATE ssokit_memberships SET updated_at = updated_at WHERE org_id = $1 AND user_id = $2`, []any{orgID, userID}
	}
	if _, err := tx.ExecContext(ctx, lock, args...); err != nil {
		return nil, sqlbase.Wrap(err)
	}
	return sqlbase.GetOne(ctx, tx, "membership", scanMember, q, orgID, userID)
}

// otherHolder returns sso.ErrLastHolder unless a member of e's
// organization other than e's is an active holder of e.Keep.
func (s *Store) otherHolder(ctx context.Context, tx *sql.Tx, e *sso.MembershipEdit) error {
	holds := `EXISTS (SELECT 1 FROM json_each(roles) WHERE value = $3)`
	if s.dialect == Postgres {
		holds = `roles::jsonb @> jsonb_build_array($3::text)`
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM ssokit_memberships
		WHERE org_id = $1 AND user_id <> $2 AND status = 'active' AND `+holds+` LIMIT 1) h`, e.OrgID, e.UserID, e.Keep).Scan(&n)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n == 0 {
		return sso.ErrLastHolder
	}
	return nil
}

// writeEdit writes (or deletes) the edited membership m.
func writeEdit(ctx context.Context, tx *sql.Tx, e *sso.MembershipEdit, m *sso.Membership) error {
	if e.Delete {
		_, err := tx.ExecContext(ctx, `DELETE FROM ssokit_memberships WHERE org_id = $1 AND user_id = $2`, m.OrgID, m.UserID)
		return sqlbase.Wrap(err)
	}
	args, err := sqlbase.MemberArgs(m)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE ssokit_memberships SET roles = $3, status = $4, source = $5, external_id = $6,
		break_glass = $7, joined_at = $8, updated_at = $9 WHERE org_id = $1 AND user_id = $2`, args...)
	return sqlbase.Wrap(err)
}

// DeleteMembership implements sso.MembershipStore.
func (s *Store) DeleteMembership(ctx context.Context, orgID, userID string) error {
	return s.execAffect(ctx, "membership", `DELETE FROM ssokit_memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID)
}

// ListMembers implements sso.MembershipStore.
func (s *Store) ListMembers(ctx context.Context, orgID, afterUserID string, limit int) ([]*sso.Membership, error) {
	return sqlbase.Collect(ctx, s.db, scanMember, qListMembers, orgID, afterUserID, sqlbase.Limit(limit))
}

// ListUserMemberships implements sso.MembershipStore.
func (s *Store) ListUserMemberships(ctx context.Context, userID string) ([]*sso.Membership, error) {
	return sqlbase.Collect(ctx, s.db, scanMember, qListUserMemberships, userID)
}

// FindMemberByEmail implements sso.MembershipStore. It matches the
// lower-cased stored email against email, through an index.
func (s *Store) FindMemberByEmail(ctx context.Context, orgID, email string) (*sso.Membership, error) {
	return sqlbase.GetOne(ctx, s.db, "member", scanMember, qFindMemberByEmail, email, orgID)
}

// --- identities ------------------------------------------------------------------------

const identityCols = `id, org_id, connection_id, issuer, subject, user_id, created_at, last_login_at`

func scanIdentity(r sqlbase.Scanner) (*sso.Identity, error) {
	var (
		i              sso.Identity
		created, login int64
	)
	if err := r.Scan(&i.ID, &i.OrgID, &i.ConnectionID, &i.Issuer, &i.Subject, &i.UserID, &created, &login); err != nil {
		return nil, err
	}
	i.CreatedAt, i.LastLoginAt = sqlbase.FromTS(created), sqlbase.FromTS(login)
	return &i, nil
}

func identityArgs(i *sso.Identity) []any {
	return []any{i.ID, i.OrgID, i.ConnectionID, i.Issuer, i.Subject, i.UserID, sqlbase.TS(i.CreatedAt), sqlbase.TS(i.LastLoginAt)}
}

const insertIdentity = `INSERT INTO ssokit_identities (` + identityCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// CreateIdentity implements sso.IdentityStore. (OrgID, Issuer, Subject) is
// unique in the database.
func (s *Store) CreateIdentity(ctx context.Context, id *sso.Identity) error {
	if err := id.Validate(); err != nil {
		return err
	}
	_, err := s.exec(ctx, insertIdentity, identityArgs(id)...)
	return err
}

// GetIdentity implements sso.IdentityStore.
func (s *Store) GetIdentity(ctx context.Context, orgID, issuer, subject string) (*sso.Identity, error) {
	return sqlbase.GetOne(ctx, s.db, "identity", scanIdentity, qGetIdentity, orgID, issuer, subject)
}

// ListUserIdentities implements sso.IdentityStore.
func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*sso.Identity, error) {
	return sqlbase.Collect(ctx, s.db, scanIdentity, qListUserIdentities, userID)
}

// UpdateIdentity implements sso.IdentityStore.
func (s *Store) UpdateIdentity(ctx context.Context, id *sso.Identity) error {
	if err := id.Validate(); err != nil {
		return err
	}
	return updateIdentity(ctx, s.db, id)
}

// updateIdentity stores id through q; a missing row is sso.ErrNotFound.
func updateIdentity(ctx context.Context, q sqlbase.Querier, id *sso.Identity) error {
	res, err := q.ExecContext(ctx, `UPDATE ssokit_identities SET org_id = $2, connection_id = $3, issuer = $4, subject = $5,
		user_id = $6, created_at = $7, last_login_at = $8 WHERE id = $1`, identityArgs(id)...)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if err := sqlbase.MustAffect(res); err != nil {
		return fmt.Errorf("sqlstore: identity: %w", err)
	}
	return nil
}

// DeleteIdentity implements sso.IdentityStore.
func (s *Store) DeleteIdentity(ctx context.Context, id string) error {
	return s.execAffect(ctx, "identity", `DELETE FROM ssokit_identities WHERE id = $1`, id)
}

// Provision implements sso.Provisioner in one transaction: the user (unless
// one with u.ID exists), the membership and the identity are written
// together or not at all.
func (s *Store) Provision(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity) error {
	return s.ProvisionEvent(ctx, u, m, id, nil)
}

// ProvisionEvent implements login.EventProvisioner: Provision plus the
// audit event e (when non-nil) in the same transaction.
func (s *Store) ProvisionEvent(ctx context.Context, u *sso.User, m *sso.Membership, id *sso.Identity, e *sso.Event) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return err
	}
	if id != nil {
		if err := id.Validate(); err != nil {
			return err
		}
	}
	margs, err := sqlbase.MemberArgs(m)
	if err != nil {
		return err
	}
	return sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		// The first statement writes, so on SQLite the transaction holds the
		// write lock from the start and cannot fail to upgrade later.
		if _, err := tx.ExecContext(ctx, sqlbase.InsertUser+` ON CONFLICT (id) DO NOTHING`, sqlbase.UserArgs(u)...); err != nil {
			return sqlbase.Wrap(err)
		}
		if _, err := tx.ExecContext(ctx, sqlbase.InsertMember, margs...); err != nil {
			return sqlbase.Wrap(err)
		}
		if id != nil {
			if _, err := tx.ExecContext(ctx, insertIdentity, identityArgs(id)...); err != nil {
				return sqlbase.Wrap(err)
			}
		}
		if e != nil {
			return insertEvent(ctx, tx, e)
		}
		return nil
	})
}

// --- SCIM tokens -------------------------------------------------------------------------

const tokenCols = `id, org_id, hash, hint, description, created_at, expires_at, revoked_at, last_used_at`

func scanToken(r sqlbase.Scanner) (*sso.SCIMToken, error) {
	var (
		t                          sso.SCIMToken
		created, exp, rev, lastUse int64
	)
	if err := r.Scan(&t.ID, &t.OrgID, &t.Hash, &t.Hint, &t.Description, &created, &exp, &rev, &lastUse); err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = sqlbase.FromTS(created), sqlbase.FromTS(exp), sqlbase.FromTS(rev), sqlbase.FromTS(lastUse)
	return &t, nil
}

func tokenArgs(t *sso.SCIMToken) []any {
	return []any{t.ID, t.OrgID, t.Hash, t.Hint, t.Description,
		sqlbase.TS(t.CreatedAt), sqlbase.TS(t.ExpiresAt), sqlbase.TS(t.RevokedAt), sqlbase.TS(t.LastUsedAt)}
}

// CreateSCIMToken implements sso.SCIMTokenStore.
func (s *Store) CreateSCIMToken(ctx context.Context, t *sso.SCIMToken) error {
	if err := t.Validate(); err != nil {
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO ssokit_scim_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, tokenArgs(t)...)
	return err
}

// FindSCIMToken implements sso.SCIMTokenStore.
func (s *Store) FindSCIMToken(ctx context.Context, hash string) (*sso.SCIMToken, error) {
	return sqlbase.GetOne(ctx, s.db, "scim token", scanToken, qFindSCIMToken, hash)
}

// ListSCIMTokens implements sso.SCIMTokenStore.
func (s *Store) ListSCIMTokens(ctx context.Context, orgID string) ([]*sso.SCIMToken, error) {
	return sqlbase.Collect(ctx, s.db, scanToken, qListSCIMTokens, orgID)
}

// UpdateSCIMToken implements sso.SCIMTokenStore. A revocation is final: a
// stored revoked_at is kept whatever t says, so a write from a copy read
// before the revocation (a rotation shortening the token's life) cannot
// make the token valid again. The statement reads the row it updates (on
// PostgreSQL, the version a concurrent revocation committed).
func (s *Store) UpdateSCIMToken(ctx context.Context, t *sso.SCIMToken) error {
	if err := t.Validate(); err != nil {
		return err
	}
	return s.execAffect(ctx, "scim token", `UPDATE ssokit_scim_tokens SET org_id = $2, hash = $3, hint = $4, description = $5,
		created_at = $6, expires_at = $7, revoked_at = CASE WHEN revoked_at <> 0 THEN revoked_at ELSE $8 END, last_used_at = $9
		WHERE id = $1`, tokenArgs(t)...)
}

// ExpireSCIMToken implements sso.SCIMTokenExpirer: one UPDATE that keeps
// an earlier stored expiry.
func (s *Store) ExpireSCIMToken(ctx context.Context, id string, at time.Time) error {
	return s.execAffect(ctx, "scim token", `UPDATE ssokit_scim_tokens
		SET expires_at = CASE WHEN expires_at <> 0 AND expires_at <= $2 THEN expires_at ELSE $2 END WHERE id = $1`, id, sqlbase.TS(at))
}

// DeleteSCIMToken implements sso.SCIMTokenStore.
func (s *Store) DeleteSCIMToken(ctx context.Context, id string) error {
	return s.execAffect(ctx, "scim token", `DELETE FROM ssokit_scim_tokens WHERE id = $1`, id)
}
