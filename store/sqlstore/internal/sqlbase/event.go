package sqlbase

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// EventInsertCols are the columns an unsealed event is inserted with: the
// values of EventArgs, then prev_hash and hash (both empty until sealed).
const EventInsertCols = `id, org_id, at, type, actor_type, actor_id, target_type, target_id, outcome, reason, ip, user_agent, details,
	prev_hash, hash`

// InsertEvent stores e unsealed through q (the sealer chains it later): on
// its own, or inside a transaction that writes the records e is about,
// which it does not make wait for anything.
func InsertEvent(ctx context.Context, q Querier, e *sso.Event) error {
	args, err := EventArgs(e)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO ssokit_events (`+EventInsertCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, '', '')`, args...)
	return Wrap(err)
}

// EventArgs validates e, clears what sealing sets and returns the values
// of the first 13 of EventInsertCols, for a statement that inserts e with
// other writes.
func EventArgs(e *sso.Event) ([]any, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Seq, e.PrevHash, e.Hash = 0, "", ""
	details, err := ToJSON(e.Details)
	if err != nil {
		return nil, err
	}
	return []any{e.ID, e.OrgID, TS(e.Time), e.Type, string(e.Actor.Type), e.Actor.ID, e.Target.Type, e.Target.ID,
		e.Outcome, e.Reason, e.IP, e.UserAgent, details}, nil
}
