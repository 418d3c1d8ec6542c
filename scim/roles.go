package scim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/ssokit/ssokit/sso"
)

func itoa(n int) string { return strconv.Itoa(n) }

// mappingConns returns the organization's non-disabled connections that
// map groups to roles.
func (h *Handler) mappingConns(ctx context.Context, org *sso.Organization) ([]*sso.Connection, error) {
	conns, err := h.cfg.Core.ListConnections(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	var out []*sso.Connection
	for _, c := range conns {
		if c.Status != sso.ConnectionDisabled && len(c.GroupRoles) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// rolesFor returns the roles the organization's connections give to a
// member of the named SCIM groups: the union of every connection's
// GroupRoles mapping, or the default role when nothing maps.
func (h *Handler) rolesFor(ctx context.Context, org *sso.Organization, groups []string) ([]string, error) {
	conns, err := h.mappingConns(ctx, org)
	if err != nil {
		return nil, err
	}
	return rolesFrom(org, conns, groups), nil
}

func rolesFrom(org *sso.Organization, conns []*sso.Connection, groups []string) []string {
	var roles []string
	for _, c := range conns {
		for _, r := range c.RolesFor(groups) {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	if len(roles) == 0 {
		roles = []string{org.Settings.MemberRole()}
	}
	return roles
}

// recomputeRoles sets the roles of each user from the display names of the
// SCIM groups they belong to, and brings their sessions in line (T-X.10).
// Organizations without any group mapping keep the roles the host
// assigned. When a member lost a role and neither the MembershipSyncer nor
// the fallback revocation succeeded, it goes on with the other users and
// then answers 503, so the client knows the change is not fully in force.
func (h *Handler) recomputeRoles(ctx context.Context, org *sso.Organization, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	conns, err := h.mappingConns(ctx, org)
	if err != nil || len(conns) == 0 {
		return err
	}
	unsynced := 0
	for _, uid := range userIDs {
		unlock, err := h.locks.lock(ctx, userKey(org.ID, uid))
		if err != nil {
			return err
		}
		_, ok, err := h.recomputeWith(ctx, org, conns, uid)
		unlock()
		if err != nil {
			return err
		}
		if !ok {
			unsynced++
		}
	}
	if unsynced > 0 {
		return &Error{Status: http.StatusServiceUnavailable, RetryAfter: time.Second,
			Detail: "roles changed but the sessions of " + itoa(unsynced) + " member(s) could not be updated, retry"}
	}
	return nil
}

// recomputeUser is recomputeRoles for one user whose lock the caller
// holds. It returns the updated membership, or nil when the roles did not
// change.
func (h *Handler) recomputeUser(ctx context.Context, org *sso.Organization, uid string) (*sso.Membership, error) {
	conns, err := h.mappingConns(ctx, org)
	if err != nil || len(conns) == 0 {
		return nil, err
	}
	m, _, err := h.recomputeWith(ctx, org, conns, uid)
	return m, err
}

// RolesWriter is an optional Config.Core capability: SetMembershipRoles
// writes only the roles (and the update time) of a membership. A role
// recompute uses it so that it never writes back a status or an external
// ID it read before a SCIM write on another replica changed them (a lost
// deactivation). store/sqlstore and store/memstore implement it; without
// it the whole membership is written with UpdateMembership.
type RolesWriter interface {
	SetMembershipRoles(ctx context.Context, orgID, userID string, roles []string, at time.Time) error
}

// maxRecomputeRounds bounds how often a recompute writes roles again
// because the groups changed under it.
const maxRecomputeRounds = 4

// recomputeWith stores the roles conns give uid's groups and syncs the
// membership when they changed. It returns the updated membership (nil
// when unchanged) and whether the member's sessions reflect a lost role.
//
// Group changes on other replicas are not serialized with this one: after
// writing, it reads the groups again and writes again when they give
// other roles, so the last recompute to write saw every group change
// committed before its write, and no removed role outlives a race.
func (h *Handler) recomputeWith(ctx context.Context, org *sso.Organization, conns []*sso.Connection, uid string) (*sso.Membership, bool, error) {
	var (
		written *sso.Membership
		synced  = true
	)
	for range maxRecomputeRounds {
		roles, err := h.groupRoles(ctx, org, conns, uid)
		if err != nil {
			return nil, false, err
		}
		m, err := h.cfg.Core.GetMembership(ctx, org.ID, uid)
		if err != nil {
			return nil, false, err
		}
		roles = sso.MappedRoles(roles, m.Roles, slices.ContainsFunc(conns, (*sso.Connection).MapsOwner))
		if sso.SameRoles(m.Roles, roles) {
			return written, synced, nil
		}
		old := m.Roles
		m.Roles, m.UpdatedAt = roles, h.now()
		if rw, ok := h.cfg.Core.(RolesWriter); ok {
			if err = rw.SetMembershipRoles(ctx, org.ID, uid, roles, m.UpdatedAt); err == nil {
				// The rest of the row as stored now, for the sync.
				m, err = h.cfg.Core.GetMembership(ctx, org.ID, uid)
			}
		} else {
			err = h.cfg.Core.UpdateMembership(ctx, m)
		}
		if err != nil {
			return nil, false, err
		}
		h.record(ctx, sso.EventRolesChanged, "user", uid, map[string]string{"from": joinRoles(old), "to": joinRoles(roles)})
		written, synced = m, h.syncRoles(ctx, m, old) && synced
	}
	return written, synced, nil
}

// groupRoles returns the roles conns give uid's SCIM groups.
func (h *Handler) groupRoles(ctx context.Context, org *sso.Organization, conns []*sso.Connection, uid string) ([]string, error) {
	byUser, err := h.cfg.Store.ListUserGroupsSCIM(ctx, org.ID, uid)
	if err != nil {
		return nil, err
	}
	groups := byUser[uid]
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.DisplayName)
	}
	return rolesFrom(org, conns, names), nil
}

// syncMember hands the stored membership m to the MembershipSyncer. A
// failure is logged and returned; callers decide how to fail closed.
func (h *Handler) syncMember(ctx context.Context, m *sso.Membership) error {
	if h.sync == nil {
		return errNoSyncer
	}
	// The client may disconnect; the sync must still finish.
	if err := h.sync.SyncMembership(context.WithoutCancel(ctx), m); err != nil {
		h.log.ErrorContext(ctx, "scim: membership sync failed", "org_id", m.OrgID, "user_id", m.UserID, "err", err)
		return err
	}
	return nil
}

var errNoSyncer = errors.New("scim: no MembershipSyncer")

// syncStatus syncs a membership whose status changed. A failure does not
// fail the request: a deactivation is enforced by endOrgSessions, which
// the caller runs next, and a reactivated member has no sessions to update.
func (h *Handler) syncStatus(ctx context.Context, m *sso.Membership) {
	_ = h.syncMember(ctx, m)
}

// syncRoles syncs a membership whose roles changed from old and reports
// whether the member's live sessions are now no more privileged than m.
// When the sync fails (or there is no MembershipSyncer) and a role was
// taken away, it fails closed: it revokes the member's sessions.
func (h *Handler) syncRoles(ctx context.Context, m *sso.Membership, old []string) bool {
	if h.syncMember(ctx, m) == nil {
		return true
	}
	lost := false
	for _, r := range old {
		if !slices.Contains(m.Roles, r) {
			lost = true
		}
	}
	if !lost {
		// Only gained roles: the sessions catch up when refreshed.
		return true
	}
	details := map[string]string{"cause": "scim_role_removed"}
	if err := h.endOrgSessions(ctx, m.OrgID, m.UserID, "scim_role_removed"); err != nil {
		h.log.ErrorContext(ctx, "scim: revocation after a role removal failed", "org_id", m.OrgID, "user_id", m.UserID, "err", err)
		h.record(ctx, sso.EventSessionRevoked, "user", m.UserID, details, sso.OutcomeFailure)
		return false
	}
	h.record(ctx, sso.EventSessionRevoked, "user", m.UserID, details)
	return true
}

func joinRoles(rs []string) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += ","
		}
		s += r
	}
	return s
}

// isOrgRevoker reports whether r can end a user's sessions in one
// organization only.
func isOrgRevoker(r sso.SessionRevoker) bool {
	_, ok := r.(sso.OrgSessionRevoker)
	return ok
}

// endOrgSessions ends userID's sessions and API tokens in orgID, the
// directory's organization, and no other: the user's sessions in their
// other organizations are none of this directory's business. It runs to
// the end even when the client disconnects.
func (h *Handler) endOrgSessions(ctx context.Context, orgID, userID, reason string) error {
	_, err := h.revoker.RevokeOrgSessions(context.WithoutCancel(ctx), orgID, userID, reason)
	return err
}
