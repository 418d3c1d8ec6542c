package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

var (
	_ sso.IdPSessionEnder  = (*Manager)(nil)
	_ sso.MembershipSyncer = (*Manager)(nil)
)

// EndIdPSessions implements sso.IdPSessionEnder: it ends the sessions that
// the connection l.ConnectionID opened for l.Subject (narrowed to
// l.SessionIndexes when given; with no subject, the sessions of those
// indexes), with their refresh-token families and access tokens. Sessions
// of another connection or organization are never touched, whatever the
// IdP names. It returns how many sessions it ended.
func (m *Manager) EndIdPSessions(ctx context.Context, l *sso.IdPLogout) (int, error) {
	if l == nil || l.ConnectionID == "" || (l.Subject == "" && len(l.SessionIndexes) == 0) {
		return 0, fmt.Errorf("%w: session: an IdP logout names a connection and a subject or session index", sso.ErrInvalidInput)
	}
	indexes := l.SessionIndexes
	if len(indexes) == 0 {
		indexes = []string{""}
	}
	seen := map[string]bool{}
	var errs []error
	for _, idx := range indexes {
		ss, err := m.cfg.Store.ListIdPSessions(ctx, l.ConnectionID, l.Subject, idx)
		if err != nil {
			return len(seen), fmt.Errorf("%w: session: find IdP sessions: %w", sso.ErrUnavailable, err)
		}
		for _, s := range ss {
			if seen[s.ID] || (l.OrgID != "" && s.OrgID != l.OrgID) {
				continue
			}
			seen[s.ID] = true
			if err := m.end(ctx, s); err != nil {
				errs = append(errs, err)
				continue
			}
			m.audit(ctx, &sso.Event{OrgID: s.OrgID, Type: sso.EventSessionRevoked, Actor: sso.Actor{Type: sso.ActorIdP, ID: l.ConnectionID},
				Target: sso.Target{Type: "session", ID: s.ID}, Outcome: sso.OutcomeSuccess, Reason: "idp_logout",
				Details: map[string]string{"user_id": s.UserID}})
		}
	}
	return len(seen), errors.Join(errs...)
}

// SyncMembership implements sso.MembershipSyncer. Roles and status live on
// the membership, and a session or token carries a copy made at issue
// time, so a changed membership ends the member's sessions in that
// organization at once, with their refresh-token families and the access
// tokens naming them (refused on every replica once the RevocationBus
// delivers the news, and within RevocationCacheTTL without one). The member signs in again (through SSO usually
// without typing anything) and gets a session with the membership as it
// is now. Refresh also reads the live membership, so no family mints a role
// the member lost. Sessions in other organizations are not touched.
func (m *Manager) SyncMembership(ctx context.Context, mem *sso.Membership) error {
	if mem == nil || mem.OrgID == "" || mem.UserID == "" {
		return fmt.Errorf("%w: session: SyncMembership needs a membership", sso.ErrInvalidInput)
	}
	ss, err := m.cfg.Store.ListUserSessions(ctx, mem.UserID)
	if err != nil {
		return fmt.Errorf("%w: session: list: %w", sso.ErrUnavailable, err)
	}
	var errs []error
	n := 0
	for _, s := range ss {
		if s.OrgID != mem.OrgID {
			continue
		}
		if err := m.end(ctx, s); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if n > 0 {
		m.audit(ctx, &sso.Event{OrgID: mem.OrgID, Type: sso.EventSessionRevoked, Actor: sso.Actor{Type: sso.ActorSystem},
			Target: sso.Target{Type: "user", ID: mem.UserID}, Outcome: sso.OutcomeSuccess, Reason: "membership_changed",
			Details: map[string]string{"sessions": fmt.Sprint(n), "status": string(mem.Status)}})
	}
	return errors.Join(errs...)
}
