package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/sqlstore/internal/sqlbase"
)

var (
	_ audit.EventSealer = (*Store)(nil)
	_ audit.EventBinder = (*Store)(nil)
)

// The audit trail is appended and sealed in two steps, as transparency logs
// do, so that a burst of events in one organization never queues on its
// chain:
//
//   - AppendEvent inserts the event unsealed (seq NULL, empty hashes) with
//     one INSERT that touches no shared row, so concurrent appends do not
//     wait for each other.
//   - Sealing chains an organization's unsealed events in arrival order
//     (pos), a batch per transaction: it locks the organization's row in
//     ssokit_event_heads, reads the chain's last Seq and Hash there, calls
//     sso.Event.Chain on each event and writes the batch's seq, prev_hash
//     and hash and the new head before it commits. The head row lock makes
//     sealers on several replicas safe (PostgreSQL skips an organization
//     another sealer holds, SQLite has one writer), and a sealer that dies
//     mid-batch rolls back whole: its events stay unsealed, none is lost and
//     the chain never forks.
//
// SealEvents runs a sealing pass over every organization (audit.Trail.Run
// calls it periodically), and ListEvents seals the queried organization
// first, so readers never see an unsealed event.

const eventCols = `id, org_id, seq, at, type, actor_type, actor_id, target_type, target_id, outcome, reason, ip, user_agent, details, prev_hash, hash`

// Statements of the sealer, named so that tests can check their plans.
const (
	// qPendingOrgs lists organizations with unsealed events. SQLite's
	// planner prefers scanning the whole (org_id, seq) index to the partial
	// one, so qPendingOrgsSQLite names it.
	qPendingOrgs       = `SELECT DISTINCT org_id FROM ssokit_events WHERE seq IS NULL LIMIT $1`
	qPendingOrgsSQLite = `SELECT DISTINCT org_id FROM ssokit_events INDEXED BY ssokit_events_unsealed WHERE seq IS NULL LIMIT $1`
	// qHasPending probes one organization for unsealed events.
	qHasPending = `SELECT 1 FROM ssokit_events WHERE org_id = $1 AND seq IS NULL LIMIT 1`
	// qPending reads a batch of an organization's unsealed events.
	qPending = `SELECT ` + eventCols + ` FROM ssokit_events WHERE org_id = $1 AND seq IS NULL ORDER BY pos LIMIT $2`
)

// sealBatch is the most events one sealing transaction chains, and
// pendingOrgs the most organizations one round of a pass looks at.
const (
	sealBatch   = 500
	pendingOrgs = 100
)

func scanEvent(r sqlbase.Scanner) (*sso.Event, error) {
	var (
		e         sso.Event
		seq       sql.NullInt64
		at        int64
		actorType string
		details   string
	)
	if err := r.Scan(&e.ID, &e.OrgID, &seq, &at, &e.Type, &actorType, &e.Actor.ID, &e.Target.Type, &e.Target.ID,
		&e.Outcome, &e.Reason, &e.IP, &e.UserAgent, &details, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	if err := sqlbase.FromJSON(details, &e.Details); err != nil {
		return nil, err
	}
	e.Seq, e.Actor.Type, e.Time = seq.Int64, sso.ActorType(actorType), sqlbase.FromTS(at)
	return &e, nil
}

// AppendEvent implements sso.EventStore with one INSERT and no lock. The
// event is stored unsealed: e.Seq, e.PrevHash and e.Hash are left zero,
// and the stored copy gets them when it is sealed (by SealEvents, or by the
// first ListEvents of its organization). A duplicate ID is ErrConflict.
func (s *Store) AppendEvent(ctx context.Context, e *sso.Event) error {
	return insertEvent(ctx, s.db, e)
}

// insertEvent appends e unsealed; see sqlbase.InsertEvent.
func insertEvent(ctx context.Context, q sqlbase.Querier, e *sso.Event) error {
	return sqlbase.InsertEvent(ctx, q, e)
}

// ListEvents implements sso.EventStore. It first seals the organization's
// unsealed events (one indexed probe when there are none), waiting for a
// sealer that holds the organization, so every event appended before the
// call is listed with its final Seq, PrevHash and Hash. The filters are
// pushed down to the database and served by the (org_id, type, seq),
// (org_id, actor_id, seq) and (org_id, at) indexes.
func (s *Store) ListEvents(ctx context.Context, q sso.EventQuery) ([]*sso.Event, error) {
	if _, err := s.sealOrg(ctx, q.OrgID, true); err != nil {
		return nil, fmt.Errorf("sqlstore: seal before listing: %w", err)
	}
	query, args := eventsQuery(q)
	return sqlbase.Collect(ctx, s.db, scanEvent, query, args...)
}

// eventsQuery builds the ListEvents query for q. Unsealed events (seq
// NULL) never match seq > $2.
func eventsQuery(q sso.EventQuery) (string, []any) {
	var b strings.Builder
	args := []any{q.OrgID, q.AfterSeq}
	b.WriteString(`SELECT ` + eventCols + ` FROM ssokit_events WHERE org_id = $1 AND seq > $2`)
	add := func(cond string, v any) {
		args = append(args, v)
		fmt.Fprintf(&b, " AND %s $%d", cond, len(args))
	}
	if !q.Since.IsZero() {
		add("at >=", sqlbase.TS(q.Since))
	}
	if !q.Until.IsZero() {
		add("at <", sqlbase.TS(q.Until))
	}
	if q.Type != "" {
		add("type =", q.Type)
	}
	if q.ActorID != "" {
		add("actor_id =", q.ActorID)
	}
	args = append(args, q.EffectiveLimit())
	fmt.Fprintf(&b, " ORDER BY seq LIMIT $%d", len(args))
	return b.String(), args
}

// SealEvents implements audit.EventSealer: it chains the unsealed events of
// every organization, in batches, and returns how many it sealed. On
// PostgreSQL it skips an organization whose head another sealer holds at
// that moment (another replica's pass, or a ListEvents); that sealer, or
// the next pass, seals what is left. An organization that fails to seal
// does not hold up the others: its error is returned after the pass. It is
// safe for concurrent use, by several processes on one database too.
func (s *Store) SealEvents(ctx context.Context) (int, error) {
	query := qPendingOrgs
	if s.dialect == SQLite {
		query = qPendingOrgsSQLite
	}
	total := 0
	failed := map[string]error{}
	for {
		orgs, err := sqlbase.Collect(ctx, s.db, scanOrgID, query, pendingOrgs)
		if err != nil {
			return total, err
		}
		progress := false
		for _, org := range orgs {
			if failed[*org] != nil {
				continue
			}
			n, err := s.sealOrg(ctx, *org, false)
			total += n
			if err != nil {
				if ctx.Err() != nil {
					return total, err
				}
				failed[*org] = fmt.Errorf("sqlstore: seal events of organization %q: %w", *org, err)
			}
			progress = progress || n > 0
		}
		// Stop when nothing is pending, or when every pending organization
		// is being sealed by someone else or failed.
		if !progress {
			errs := make([]error, 0, len(failed))
			for _, err := range failed {
				errs = append(errs, err)
			}
			return total, errors.Join(errs...)
		}
	}
}

func scanOrgID(r sqlbase.Scanner) (*string, error) {
	var id string
	if err := r.Scan(&id); err != nil {
		return nil, err
	}
	return &id, nil
}

// sealOrg seals org's unsealed events, batch after batch, until none is
// left. With wait it waits for a sealer holding org's head; without, it
// returns at once when one does (PostgreSQL).
func (s *Store) sealOrg(ctx context.Context, org string, wait bool) (int, error) {
	var probe int
	switch err := s.db.QueryRowContext(ctx, qHasPending, org).Scan(&probe); err {
	case nil:
	case sql.ErrNoRows:
		return 0, nil
	default:
		return 0, sqlbase.Wrap(err)
	}
	total := 0
	for {
		n, err := s.sealChunk(ctx, org, wait)
		total += n
		if err != nil || n < sealBatch {
			return total, err
		}
	}
}

// sealChunk chains up to sealBatch of org's unsealed events in one
// transaction and returns how many. It returns 0 when another sealer holds
// org's head and wait is false.
func (s *Store) sealChunk(ctx context.Context, org string, wait bool) (int, error) {
	lock := ""
	if s.dialect == Postgres {
		// SQLite has a single writer: the INSERT below took the database
		// write lock for the transaction.
		lock = " FOR UPDATE"
		if !wait {
			lock += " SKIP LOCKED"
		}
	}
	var sealed int
	err := sqlbase.InTx(ctx, s.db, func(tx *sql.Tx) error {
		sealed = 0
		if _, err := tx.ExecContext(ctx, `INSERT INTO ssokit_event_heads (org_id, seq, hash) VALUES ($1, 0, '')
			ON CONFLICT (org_id) DO NOTHING`, org); err != nil {
			return sqlbase.Wrap(err)
		}
		var head sso.Event
		switch err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM ssokit_event_heads WHERE org_id = $1`+lock, org).
			Scan(&head.Seq, &head.Hash); err {
		case nil:
		case sql.ErrNoRows:
			return nil // held by another sealer (SKIP LOCKED)
		default:
			return sqlbase.Wrap(err)
		}
		pending, err := sqlbase.Collect(ctx, tx, scanEvent, qPending, org, sealBatch)
		if err != nil || len(pending) == 0 {
			return err
		}
		prev := &head
		if head.Seq == 0 {
			prev = nil
		}
		for _, e := range pending {
			e.Chain(prev)
			prev = e
		}
		if err := writeSeals(ctx, tx, pending); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ssokit_event_heads SET seq = $2, hash = $3 WHERE org_id = $1`,
			org, prev.Seq, prev.Hash); err != nil {
			return sqlbase.Wrap(err)
		}
		sealed = len(pending)
		return nil
	})
	return sealed, err
}

// writeSeals stores the seq, prev_hash and hash of a chained batch with one
// UPDATE, and fails unless it changed every event of the batch, each still
// unsealed.
func writeSeals(ctx context.Context, tx *sql.Tx, evs []*sso.Event) error {
	var b strings.Builder
	args := make([]any, 0, 4*len(evs))
	b.WriteString(`WITH v (id, seq, prev_hash, hash) AS (VALUES `)
	for i, e := range evs {
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, CAST($%d AS BIGINT), $%d, $%d)", n+1, n+2, n+3, n+4)
		args = append(args, e.ID, e.Seq, e.PrevHash, e.Hash)
	}
	b.WriteString(`) UPDATE ssokit_events SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash
		FROM v WHERE ssokit_events.id = v.id AND ssokit_events.seq IS NULL`)
	res, err := tx.ExecContext(ctx, b.String(), args...)
	if err != nil {
		return sqlbase.Wrap(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return sqlbase.Wrap(err)
	}
	if n != int64(len(evs)) {
		return fmt.Errorf("sqlstore: seal events: %d of %d rows changed", n, len(evs))
	}
	return nil
}
