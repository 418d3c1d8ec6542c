package memstore

import (
	"context"
	"slices"
	"time"

	"github.com/ssokit/ssokit/session"
)

var _ session.StaleSessionLister = (*Store)(nil)

// ListStaleSessions implements session.StaleSessionLister. Being in
// memory, it scans the sessions.
func (s *Store) ListStaleSessions(ctx context.Context, since time.Time, limit int) ([]*session.Session, error) {
	d := s.lock()
	defer s.mu.Unlock()
	stale := s.session.sessionsWhere(func(ss *session.Session) bool {
		m, ok := d.members[ss.OrgID][ss.UserID]
		if !ok {
			// A first pass also ends sessions whose membership is gone.
			return since.IsZero() && ss.OrgID != ""
		}
		if m.UpdatedAt.Before(since) {
			return false
		}
		return !m.Active() || slices.ContainsFunc(ss.Roles, func(r string) bool { return !slices.Contains(m.Roles, r) })
	})
	out := make([]*session.Session, 0, min(len(stale), limit))
	for _, ss := range stale[:min(len(stale), limit)] {
		out = append(out, copySession(ss))
	}
	return out, nil
}
