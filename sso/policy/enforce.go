package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/sso"
)

// Store is what the Enforcer needs from storage.
type Store interface {
	sso.OrgStore
	sso.ConnectionStore
	sso.MembershipStore
}

// Config configures an Enforcer.
type Config struct {
	// Store holds organizations, connections and memberships. Required.
	Store Store
	// Auditor records enforcement changes. Required.
	Auditor sso.EventRecorder
	// Revoker ends sessions and API tokens when enforcement is switched on
	// with revocation. It must also implement sso.OrgSessionRevoker
	// (session.Manager does): enforcement in one organization ends the
	// members' sessions in that organization only, never in the other
	// organizations they belong to. New refuses a Revoker without it. Nil
	// makes such requests fail with ErrInvalidConfig.
	Revoker sso.SessionRevoker
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Logger logs audit write failures. Nil means slog.Default().
	Logger *slog.Logger
}

// Enforcer applies per-organization SSO enforcement and plan features.
type Enforcer struct {
	cfg     Config
	log     *slog.Logger
	revoker sso.OrgSessionRevoker
}

// New returns an Enforcer.
func New(cfg Config) (*Enforcer, error) {
	if cfg.Store == nil || cfg.Auditor == nil {
		return nil, fmt.Errorf("%w: enforcer: nil store or auditor", sso.ErrInvalidConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Enforcer{cfg: cfg, log: cfg.Logger}
	if cfg.Revoker != nil {
		var err error
		if e.revoker, err = orgRevoker(cfg.Revoker); err != nil {
			return nil, err
		}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	return e, nil
}

// LocalLoginAllowed reports whether userID may sign in to orgID with a
// local credential (password, passkey). It returns nil when allowed, and an
// error wrapping ErrSSORequired when the organization enforces SSO and the
// user is not an active break-glass member (non-members included, so the
// answer reveals nothing about membership).
func (e *Enforcer) LocalLoginAllowed(ctx context.Context, orgID, userID string) error {
	org, err := e.cfg.Store.GetOrg(ctx, orgID)
	if err != nil {
		return err
	}
	if !org.EnforcesSSO() {
		return nil
	}
	m, err := e.cfg.Store.GetMembership(ctx, orgID, userID)
	switch {
	case err == nil && m.BreakGlass && m.Active():
		return nil
	case err != nil && !errors.Is(err, sso.ErrNotFound):
		return err
	}
	return fmt.Errorf("sso: local login for organization: %w", sso.ErrSSORequired)
}

// orgRevoker returns r's organization-scoped revocation, or
// ErrInvalidConfig when r has none.
func orgRevoker(r sso.SessionRevoker) (sso.OrgSessionRevoker, error) {
	or, ok := r.(sso.OrgSessionRevoker)
	if !ok {
		return nil, fmt.Errorf("%w: policy: the Revoker must implement sso.OrgSessionRevoker, so that one organization's "+
			"action ends only its own sessions (session.Manager does)", sso.ErrInvalidConfig)
	}
	return or, nil
}

// Options are the options of SetEnforcement.
type Options struct {
	// RevokeSessions ends, when enforcement is switched on, the sessions
	// in the organization of every member who is not a break-glass admin,
	// with the API tokens bound to them. Their sessions in other
	// organizations are not touched.
	RevokeSessions bool
}

// Result reports what SetEnforcement did.
type Result struct {
	Enforced bool `json:"enforced"`
	// Revoked is how many members' sessions were revoked.
	Revoked int `json:"revoked"`
	// EndedSessions is how many live sessions those members had in the
	// organization and lost.
	EndedSessions int `json:"ended_sessions"`
}

// ReadyConnection returns an active connection of org whose last test login
// succeeded and whose protocol the plan includes, or ErrNotFound. A
// connection whose latest test failed (for example because a real login
// of the tester would be refused by policy) is not ready until a test
// passes again.
func (e *Enforcer) ReadyConnection(ctx context.Context, org *sso.Organization) (*sso.Connection, error) {
	conns, err := e.cfg.Store.ListConnections(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range conns {
		if c.OrgID == org.ID && c.Status == sso.ConnectionActive && !c.LastTestOK.IsZero() && (c.LastTest == nil || c.LastTest.OK) &&
			org.Settings.Features.Allows(c.Protocol) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("sso: no tested active connection: %w", sso.ErrNotFound)
}

// SetEnforcement switches SSO enforcement for orgID on or off. Switching on
// requires the EnforceSSO feature and an active, successfully tested
// connection (refusals are *ValidationError with reason "feature_disabled"
// or "no_tested_connection"); with opts.RevokeSessions the sessions in orgID
// of every non-break-glass member end with their API tokens (each audited
// by the Revoker with reason "sso_enforced"), and the members' sessions in
// other organizations keep working.
func (e *Enforcer) SetEnforcement(ctx context.Context, orgID string, on bool, opts Options) (*Result, error) {
	org, err := e.cfg.Store.GetOrg(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if on {
		if !org.Settings.Features.Has("enforce_sso") {
			return nil, &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
		}
		if _, err := e.ReadyConnection(ctx, org); err != nil {
			if errors.Is(err, sso.ErrNotFound) {
				return nil, &sso.ValidationError{Reason: "no_tested_connection", Err: sso.ErrInvalidInput}
			}
			return nil, err
		}
		if opts.RevokeSessions && e.revoker == nil {
			return nil, fmt.Errorf("%w: enforcer: no session revoker", sso.ErrInvalidConfig)
		}
	}
	revoke := on && opts.RevokeSessions
	if _, err := e.saveOrg(ctx, org, func(org *sso.Organization) ([]*sso.Event, bool, error) {
		if on && !org.Settings.Features.Has("enforce_sso") {
			return nil, false, &sso.ValidationError{Reason: "feature_disabled", Err: sso.ErrAccessDenied}
		}
		if on && org.Settings.SSOEnforced != on {
			org.Settings.SSOEnforcedAt = e.cfg.Now().UTC()
		}
		org.Settings.SSOEnforced = on
		// The event is stored with the change; each revocation that
		// follows records its own sso.EventSessionRevoked.
		return []*sso.Event{{OrgID: orgID, Type: EventEnforcementChanged, Target: sso.Target{Type: "organization", ID: orgID},
			Details: map[string]string{"enforced": fmt.Sprint(on), "revoke_sessions": fmt.Sprint(revoke)}}}, true, nil
	}); err != nil {
		return nil, err
	}
	res := &Result{Enforced: on}
	if revoke {
		var err error
		res.Revoked, res.EndedSessions, err = e.revokeMembers(ctx, orgID, func(m *sso.Membership) bool { return !m.BreakGlass })
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// saveOrg applies change to org and saves the result with the events
// change returns, without undoing a save of another setting made since org
// was read: on such a save change is applied again to the organization as
// it is now (record.Org).
func (e *Enforcer) saveOrg(ctx context.Context, org *sso.Organization,
	change func(o *sso.Organization) (evs []*sso.Event, write bool, err error)) (*sso.Organization, error) {
	return record.Org[Store, sso.Store](ctx, e.cfg.Store, e.cfg.Auditor, e.cfg.Now, e.log.ErrorContext, org, change)
}

// revokeMembers ends the sessions in orgID of every member of orgID
// selected by pick, and returns how many members it went through and how
// many sessions ended. Each ended session is audited by the Revoker.
func (e *Enforcer) revokeMembers(ctx context.Context, orgID string, pick func(*sso.Membership) bool) (members, sessions int, err error) {
	after := ""
	for {
		ms, err := e.cfg.Store.ListMembers(ctx, orgID, after, 200)
		if err != nil {
			return members, sessions, err
		}
		for _, m := range ms {
			if !pick(m) {
				continue
			}
			n, err := e.revoker.RevokeOrgSessions(ctx, orgID, m.UserID, "sso_enforced")
			sessions += n
			if err != nil {
				return members, sessions, fmt.Errorf("sso: revoke sessions: %w", err)
			}
			members++
		}
		if len(ms) < 200 {
			return members, sessions, nil
		}
		after = ms[len(ms)-1].UserID
	}
}

// Event types of MergeOrganizations.
const (
	// EventDomainTransferred is recorded in both organizations for each
	// verified domain moved.
	EventDomainTransferred = "domain.transferred"
	// EventMemberMoved is recorded for each membership moved.
	EventMemberMoved = "membership.moved"
	// EventOrgMerged is recorded once in the surviving organization.
	EventOrgMerged = "org.merged"
)

// MergeStore is what MergeOrganizations needs from storage.
type MergeStore interface {
	sso.OrgStore
	sso.DomainStore
	sso.ConnectionStore
	sso.MembershipStore
	sso.IdentityStore
}

// MergeResult reports what MergeOrganizations moved.
type MergeResult struct {
	Domains     int `json:"domains"`
	Connections int `json:"connections"`
	Members     int `json:"members"`
	Identities  int `json:"identities"`
	Revoked     int `json:"revoked"`
}

// MergeOrganizations moves everything of organization fromID into toID
// after an acquisition: its domains (verified ones stay verified), its
// connections (so the IdPs keep working) with their identities, and its
// members (a user who is already a member of toID keeps that membership;
// break-glass status and the owner role are not carried over, so toID's
// owners stay its only owners, and a moved connection's group mapping
// loses its lines that map to the owner role). Every moved member's sessions in
// fromID end (with their API tokens; audited with reason "org_merged") so
// they re-authenticate into the merged organization; their sessions in
// other organizations are not touched, so revoker must implement
// sso.OrgSessionRevoker (session.Manager does) or the merge fails with
// ErrInvalidConfig before it moves anything. The
// steps are idempotent: after a partial failure, calling it again finishes
// the move. The emptied organization itself is left for the caller to
// delete. revoker may be nil only when the host revokes sessions itself.
func MergeOrganizations(ctx context.Context, st MergeStore, a sso.EventRecorder, revoker sso.SessionRevoker, fromID, toID string) (*MergeResult, error) {
	if fromID == toID {
		return nil, fmt.Errorf("%w: merge an organization into itself", sso.ErrInvalidInput)
	}
	var orgRev sso.OrgSessionRevoker
	if revoker != nil {
		var err error
		if orgRev, err = orgRevoker(revoker); err != nil {
			return nil, err
		}
	}
	if _, err := st.GetOrg(ctx, fromID); err != nil {
		return nil, err
	}
	to, err := st.GetOrg(ctx, toID)
	if err != nil {
		return nil, err
	}
	m := &merger{st: st, a: a, orgRev: orgRev, from: fromID, to: to, logf: slog.Default().ErrorContext}
	if err := m.domains(ctx); err != nil {
		return &m.res, err
	}
	conns, err := st.ListConnections(ctx, fromID)
	if err != nil {
		return &m.res, err
	}
	for _, c := range conns {
		moved, err := moveConnection(ctx, st, c, fromID, toID)
		if err != nil {
			return &m.res, err
		}
		if moved {
			m.res.Connections++
		}
	}
	for {
		ms, err := st.ListMembers(ctx, fromID, "", 200)
		if err != nil {
			return &m.res, err
		}
		if len(ms) == 0 {
			break
		}
		for _, mem := range ms {
			if err := m.member(ctx, mem); err != nil {
				return &m.res, err
			}
		}
	}
	record.Quietly(ctx, a, &sso.Event{OrgID: toID, Type: EventOrgMerged, Target: sso.Target{Type: "organization", ID: fromID},
		Details: map[string]string{"domains": fmt.Sprint(m.res.Domains), "members": fmt.Sprint(m.res.Members)}}, m.logf)
	return &m.res, nil
}

// merger moves one organization's records into another for
// MergeOrganizations, counting what it moved.
type merger struct {
	st     MergeStore
	a      sso.EventRecorder
	orgRev sso.OrgSessionRevoker // nil: no sessions to end
	from   string
	to     *sso.Organization
	logf   func(ctx context.Context, msg string, args ...any)
	res    MergeResult
}

// domains moves every domain; one the target already has stays, verified
// when either was.
func (m *merger) domains(ctx context.Context) error {
	doms, err := m.st.ListDomains(ctx, m.from)
	if err != nil {
		return err
	}
	for _, d := range doms {
		if err := m.st.DeleteDomain(ctx, m.from, d.Name); err != nil && !errors.Is(err, sso.ErrNotFound) {
			return err
		}
		moved := *d
		moved.OrgID = m.to.ID
		if cur, err := m.st.GetDomain(ctx, m.to.ID, d.Name); err == nil {
			if d.State == sso.DomainVerified && cur.State != sso.DomainVerified {
				if err := m.st.UpdateDomain(ctx, &moved); err != nil {
					return err
				}
			}
		} else if errors.Is(err, sso.ErrNotFound) {
			if err := m.st.CreateDomain(ctx, &moved); err != nil {
				return err
			}
		} else {
			return err
		}
		m.res.Domains++
		record.Quietly(ctx, m.a, &sso.Event{OrgID: m.to.ID, Type: EventDomainTransferred, Target: sso.Target{Type: "domain", ID: d.Name},
			Details: map[string]string{"from_org": m.from}}, m.logf)
		record.Quietly(ctx, m.a, &sso.Event{OrgID: m.from, Type: EventDomainTransferred, Target: sso.Target{Type: "domain", ID: d.Name},
			Details: map[string]string{"to_org": m.to.ID}}, m.logf)
	}
	return nil
}

// member moves mem's identities of the source organization and mem
// itself (unless the target already has the user: that membership
// stays), ends the member's sessions in the source, and removes mem.
func (m *merger) member(ctx context.Context, mem *sso.Membership) error {
	ids, err := m.st.ListUserIdentities(ctx, mem.UserID)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id.OrgID != m.from {
			continue
		}
		moved := *id
		moved.ID, moved.OrgID = opaque.NewID("idn_"), m.to.ID
		if err := m.st.CreateIdentity(ctx, &moved); err != nil && !errors.Is(err, sso.ErrConflict) {
			return err
		}
		if err := m.st.DeleteIdentity(ctx, id.ID); err != nil && !errors.Is(err, sso.ErrNotFound) {
			return err
		}
		m.res.Identities++
	}
	ownerDropped := false
	if _, err := m.st.GetMembership(ctx, m.to.ID, mem.UserID); errors.Is(err, sso.ErrNotFound) {
		nm := *mem
		nm.OrgID, nm.BreakGlass = m.to.ID, false
		nm.Roles, ownerDropped = movedRoles(mem.Roles, m.to)
		if err := m.st.CreateMembership(ctx, &nm); err != nil && !errors.Is(err, sso.ErrConflict) {
			return err
		}
	} else if err != nil {
		return err
	}
	if m.orgRev != nil {
		if _, err := m.orgRev.RevokeOrgSessions(ctx, m.from, mem.UserID, "org_merged"); err != nil {
			return fmt.Errorf("sso: merge: revoke sessions: %w", err)
		}
		m.res.Revoked++
	}
	if err := m.st.DeleteMembership(ctx, m.from, mem.UserID); err != nil && !errors.Is(err, sso.ErrNotFound) {
		return err
	}
	m.res.Members++
	details := map[string]string{"from_org": m.from}
	if ownerDropped {
		details["dropped_role"] = sso.RoleOwner
	}
	record.Quietly(ctx, m.a, &sso.Event{OrgID: m.to.ID, Type: EventMemberMoved, Target: sso.Target{Type: "user", ID: mem.UserID},
		Details: details}, m.logf)
	return nil
}

// moveConnection moves c, read from organization fromID, to toID without
// writing back a copy an administrator's change made since the read would
// undo (sso.UpdateConnectionIf): on such a change it moves the connection
// as it is now. The new UpdatedAt also keeps a metadata refresh or a test
// result read before the move from writing the connection back. It
// reports false when the connection left fromID meanwhile, and gives up
// with sso.ErrConnectionChanged when it kept changing.
func moveConnection(ctx context.Context, st Store, c *sso.Connection, fromID, toID string) (bool, error) {
	for range 8 {
		prev := c.UpdatedAt
		c.OrgID, c.UpdatedAt = toID, sso.NextUpdatedAt(prev, time.Now())
		// Its owners named who owned the organization it leaves.
		c.GroupRoles = slices.DeleteFunc(slices.Clone(c.GroupRoles), func(gr sso.GroupRole) bool { return gr.Role == sso.RoleOwner })
		err := sso.UpdateConnectionIf(ctx, st, c, prev)
		if !errors.Is(err, sso.ErrConnectionChanged) {
			return err == nil, err
		}
		if c, err = st.GetConnection(ctx, c.ID); errors.Is(err, sso.ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		if c.OrgID != fromID {
			return false, nil
		}
	}
	return false, sso.ConnectionChanged(c.ID)
}

// movedRoles returns the roles of a member moved into organization to by
// a merge: theirs without sso.RoleOwner (the surviving organization's
// owners stay its only owners), or to's default role when nothing else
// is left. dropped reports that the owner role was taken off.
func movedRoles(roles []string, to *sso.Organization) (moved []string, dropped bool) {
	moved = slices.DeleteFunc(slices.Clone(roles), func(r string) bool { return r == sso.RoleOwner })
	if len(moved) == 0 {
		moved = []string{to.Settings.MemberRole()}
	}
	return moved, slices.Contains(roles, sso.RoleOwner)
}
