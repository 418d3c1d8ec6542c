package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// StaleSessionLister is an optional Store capability for a store that also
// holds the memberships (store/sqlstore and store/memstore). It serves
// Manager.Reconcile in one read per batch; without it, Reconcile reads the
// changed memberships (sso.MembershipChangeLister) and each member's
// sessions.
type StaleSessionLister interface {
	// ListStaleSessions returns up to limit sessions whose membership in
	// their organization was updated at or after since and now admits
	// them no more: the membership is not active, or lacks a role the
	// session carries. With the zero since it also returns the sessions
	// whose membership no longer exists (deleted by code that did not end
	// them). Sessions without an organization are never listed. Index the
	// memberships' update time.
	ListStaleSessions(ctx context.Context, since time.Time, limit int) ([]*Session, error)
}

const (
	// reconcileBatch is how many stale sessions or changed memberships
	// Reconcile reads at a time, and reconcileRounds how many batches of
	// stale sessions one pass ends at most.
	reconcileBatch  = 200
	reconcileRounds = 500
	// reconcileParallel is how many members' sessions Reconcile reads at
	// once when the sessions are kept apart from the memberships.
	reconcileParallel = 8
	// reconcileOverlap is how far before its last pass Reconcile looks
	// again: it covers replicas' clock skew and a membership write whose
	// transaction committed after the pass that read past its time.
	reconcileOverlap = 10 * time.Minute
	// reconcileFullEvery is how often Reconcile looks at every membership,
	// not only those updated since its last pass: it catches a change
	// written without a new update time (a host's own SQL, say).
	reconcileFullEvery = time.Hour
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
// A pass looks at the memberships updated since shortly before the
// previous complete pass, and at every membership on a Manager's first
// pass and once an hour after it; through a StaleSessionLister, those
// passes also end the sessions whose membership was deleted. The sessions are found through the
// Store when it is a StaleSessionLister, otherwise through Config's
// Memberships when it is an sso.MembershipChangeLister (sessions kept in
// Redis, memberships in SQL); with neither, Reconcile does nothing.
// sso/stack's Run calls it every SweepInterval; it is safe on every
// replica.
func (m *Manager) Reconcile(ctx context.Context) (int, error) {
	m.reconcileMu.Lock()
	defer m.reconcileMu.Unlock()
	start := m.now()
	full := m.reconciledAll.IsZero() || start.Sub(m.reconciledAll) >= reconcileFullEvery
	since := m.reconciledAt
	if full {
		since = time.Time{}
	}
	var n int
	var err error
	if lister, ok := m.cfg.Store.(StaleSessionLister); ok {
		n, err = m.reconcileStale(ctx, lister, since)
	} else if changes, ok := m.cfg.Memberships.(sso.MembershipChangeLister); ok {
		n, err = m.reconcileChanged(ctx, changes, since)
	} else {
		return 0, nil
	}
	if n > 0 {
		m.log.WarnContext(ctx, "session: ended sessions their membership no longer admits", "count", n)
	}
	if err != nil {
		// The next pass goes on from the same point.
		return n, fmt.Errorf("session: reconcile: %w", err)
	}
	m.reconciledAt = start.Add(-reconcileOverlap)
	if full {
		m.reconciledAll = start
	}
	return n, nil
}

// reconcileStale ends the sessions lister lists, a batch at a time.
func (m *Manager) reconcileStale(ctx context.Context, lister StaleSessionLister, since time.Time) (int, error) {
	n := 0
	for round := 1; ; round++ {
		ss, err := lister.ListStaleSessions(ctx, since, reconcileBatch)
		if err != nil {
			return n, fmt.Errorf("%w: %w", sso.ErrUnavailable, err)
		}
		var errs []error
		for _, s := range ss {
			if err := m.endStale(ctx, s); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
		if err := errors.Join(errs...); err != nil {
			// The failed ones would be listed again.
			return n, err
		}
		if len(ss) < reconcileBatch {
			return n, nil
		}
		if round == reconcileRounds {
			// A store whose deletes leave the sessions listed would keep
			// this pass going.
			return n, fmt.Errorf("%d sessions ended and more still listed", n)
		}
	}
}

// reconcileChanged reads the memberships changes lists, a batch at a time,
// and ends each member's sessions in that organization the membership no
// longer admits.
func (m *Manager) reconcileChanged(ctx context.Context, changes sso.MembershipChangeLister, since time.Time) (int, error) {
	n := 0
	var after sso.MembershipCursor
	for {
		ms, err := changes.ListChangedMemberships(ctx, since, after, reconcileBatch)
		if err != nil {
			return n, fmt.Errorf("%w: %w", sso.ErrUnavailable, err)
		}
		ended, err := m.endUnadmittedAll(ctx, ms)
		n += ended
		if err != nil {
			return n, err
		}
		if len(ms) < reconcileBatch {
			return n, nil
		}
		next := ms[len(ms)-1].Cursor()
		if next == after {
			return n, errors.New("the membership store returned the same page twice")
		}
		after = next
	}
}

// endUnadmittedAll runs endUnadmitted for each of ms, reconcileParallel
// at a time: each reads its member's sessions in a round trip of its own.
func (m *Manager) endUnadmittedAll(ctx context.Context, ms []*sso.Membership) (int, error) {
	var (
		mu   sync.Mutex
		n    int
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, reconcileParallel)
	for _, mem := range ms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ended, err := m.endUnadmitted(ctx, mem)
			mu.Lock()
			defer mu.Unlock()
			n += ended
			errs = append(errs, err)
		})
	}
	wg.Wait()
	return n, errors.Join(errs...)
}

// endUnadmitted ends mem's member's sessions in mem's organization that mem
// does not admit, and returns how many it ended.
func (m *Manager) endUnadmitted(ctx context.Context, mem *sso.Membership) (int, error) {
	ss, err := m.cfg.Store.ListUserSessions(ctx, mem.UserID)
	if err != nil {
		return 0, fmt.Errorf("%w: list %s's sessions: %w", sso.ErrUnavailable, mem.UserID, err)
	}
	n := 0
	var errs []error
	for _, s := range ss {
		if s.OrgID != mem.OrgID || admits(mem, s) {
			continue
		}
		if err := m.endStale(ctx, s); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// admits is true when mem is active and holds every role s carries.
func admits(mem *sso.Membership, s *Session) bool {
	return mem.Active() && !slices.ContainsFunc(s.Roles, func(r string) bool { return !slices.Contains(mem.Roles, r) })
}

// endStale ends s, which its membership no longer admits, and audits it.
func (m *Manager) endStale(ctx context.Context, s *Session) error {
	if err := m.end(ctx, s); err != nil {
		return err
	}
	m.audit(ctx, &sso.Event{OrgID: s.OrgID, Type: sso.EventSessionRevoked, Actor: sso.Actor{Type: sso.ActorSystem},
		Target: sso.Target{Type: "session", ID: s.ID}, Outcome: sso.OutcomeSuccess, Reason: ReasonMembershipChanged,
		Details: map[string]string{"user_id": s.UserID}})
	return nil
}
