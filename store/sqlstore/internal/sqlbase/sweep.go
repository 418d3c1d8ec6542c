package sqlbase

import (
	"context"
	"database/sql"
	"time"
)

// SweepStep is one bounded delete of a sweep: SQL takes the cutoff as $1
// (encoded with TS) and the batch size as $2.
type SweepStep struct {
	SQL    string
	Cutoff time.Time
}

// Sweep runs each step once with limit rows at most and returns how many
// rows the steps deleted in all. It stops at the first failure, returning
// what was deleted before it.
func Sweep(ctx context.Context, db *sql.DB, limit int, steps ...SweepStep) (int, error) {
	total := 0
	for _, st := range steps {
		res, err := db.ExecContext(ctx, st.SQL, TS(st.Cutoff), limit)
		if err != nil {
			return total, Wrap(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, Wrap(err)
		}
		total += int(n)
	}
	return total, nil
}
