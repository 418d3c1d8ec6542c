package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// StaleSessionLister is an optional Store capability for a store that also
// holds the memberships (store/sqlstore and store/memstore; not
// store/redisstore, whose sessions sit apart from them). It serves
// Manager.Reconcile.
type StaleSessionLister interface {
	// ListStaleSessions returns up to limit sessions whose membership in
	// their organization was updated at or after since and now admits
	// them no more: the membership is not active, or lacks a role the
	// session carries. Sessions without an organization are never
	// listed. Index the memberships' update time.
	ListStaleSessions(ctx context.Context, since time.Time, limit int) ([]*Session, error)
}

const (
	// reconcileBatch is how many stale sessions Reconcile ends per read,
	// and reconcileRounds how many reads one pass makes at most.
	reconcileBatch  = 200
	reconcileRounds = 500
	// reconcileOverlap is how far before its last pass Reconcile looks
	// again: it covers replicas' clock skew and a membership write whose
	// transaction committed after the pass that read past its time.
	reconcileOverlap = 10 * time.Minute
	// ReasonMembershipChanged is the audit reason of a session Reconcile
	// ended.
	ReasonMembershipChanged = "membership_changed"
)

// Reconcile ends every session, with its refresh-token families and access
// tokens, that its member's membership no longer admits: suspended or
// otherwise inactive, or without a role the session carries. Changes made
// through ssokit end those sessions at once (sso.MembershipSyncer); this
// is the safety net for the rest: a role removal whose sync and fallback
// revocation both failed (the directory's retry then finds nothing left to
// change), or a membership the host's own code updated. It returns how
// many sessions it ended. Each ended session is audited as
// session.revoked with reason membership_changed.
//
// The first call on a Manager looks at every membership; later ones only
// at memberships updated since shortly before the previous complete pass.
// It does nothing when the Store is not a StaleSessionLister.
// sso/stack's Run calls it every SweepInterval; it is safe on every
// replica.
func (m *Manager) Reconcile(ctx context.Context) (int, error) {
	lister, ok := m.cfg.Store.(StaleSessionLister)
	if !ok {
		return 0, nil
	}
	m.reconcileMu.Lock()
	defer m.reconcileMu.Unlock()
	start := m.now()
	n := 0
	for round := 1; ; round++ {
		ss, err := lister.ListStaleSessions(ctx, m.reconciledAt, reconcileBatch)
		if err != nil {
			return n, fmt.Errorf("%w: session: reconcile: %w", sso.ErrUnavailable, err)
		}
		var errs []error
		for _, s := range ss {
			if err := m.end(ctx, s); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
			m.audit(ctx, &sso.Event{OrgID: s.OrgID, Type: sso.EventSessionRevoked, Actor: sso.Actor{Type: sso.ActorSystem},
				Target: sso.Target{Type: "session", ID: s.ID}, Outcome: sso.OutcomeSuccess, Reason: ReasonMembershipChanged,
				Details: map[string]string{"user_id": s.UserID}})
		}
		if err := errors.Join(errs...); err != nil {
			// The failed ones would be listed again: the next pass retries
			// them, from the same point.
			return n, fmt.Errorf("session: reconcile: %w", err)
		}
		if len(ss) < reconcileBatch {
			break
		}
		if round == reconcileRounds {
			// A store whose deletes leave the sessions listed would keep
			// this pass going: the next one goes on from the same point.
			return n, fmt.Errorf("session: reconcile: %d sessions ended and more still listed; the next pass goes on", n)
		}
	}
	m.reconciledAt = start.Add(-reconcileOverlap)
	if n > 0 {
		m.log.WarnContext(ctx, "session: ended sessions their membership no longer admits", "count", n)
	}
	return n, nil
}
