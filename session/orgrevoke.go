package session

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ssokit/ssokit/sso"
)

var _ sso.OrgSessionRevoker = (*Manager)(nil)

// RevokeOrgSessions implements sso.OrgSessionRevoker: it ends userID's
// sessions in orgID (narrowed to those authenticated with one of methods
// when any are given), each with its refresh-token families and the access
// tokens naming it, which every replica refuses once the RevocationBus
// delivers the news (within RevocationCacheTTL without one). The user's
// sessions and tokens in other organizations keep working: this is how an
// organization's own action (SSO enforcement, SCIM deactivation, an
// administrator) ends sessions. Each ended session that was still valid
// is audited in orgID as sso.EventSessionRevoked with reason and the
// session's method, naming the actor of ctx (sso.AuditInfo, else its
// principal); the count is of those. A session that fails to end is
// reported in the joined error and the others still end.
func (m *Manager) RevokeOrgSessions(ctx context.Context, orgID, userID, reason string, methods ...sso.AuthMethod) (int, error) {
	if orgID == "" || userID == "" || reason == "" {
		return 0, fmt.Errorf("%w: session: RevokeOrgSessions needs an organization, a user and a reason", sso.ErrInvalidInput)
	}
	ss, err := m.cfg.Store.ListUserSessions(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("%w: session: list: %w", sso.ErrUnavailable, err)
	}
	now := m.now()
	n := 0
	var errs []error
	for _, s := range ss {
		if s.OrgID != orgID || (len(methods) > 0 && !slices.Contains(methods, s.Method)) {
			continue
		}
		live := s.Valid(now)
		if err := m.end(ctx, s); err != nil {
			errs = append(errs, err)
			continue
		}
		if !live {
			continue
		}
		n++
		m.audit(ctx, m.orgRevokedEvent(ctx, s, reason))
	}
	return n, errors.Join(errs...)
}

// orgRevokedEvent is the audit event of RevokeOrgSessions ending s.
func (m *Manager) orgRevokedEvent(ctx context.Context, s *Session, reason string) *sso.Event {
	e := &sso.Event{OrgID: s.OrgID, Type: sso.EventSessionRevoked, Target: sso.Target{Type: "session", ID: s.ID},
		Outcome: sso.OutcomeSuccess, Reason: reason, Details: map[string]string{"user_id": s.UserID, "method": string(s.Method)}}
	if sso.AuditInfoFrom(ctx).Actor.Type == "" {
		e.Actor = actorFrom(ctx)
	}
	e.FillDefaults(ctx, m.now())
	return e
}
