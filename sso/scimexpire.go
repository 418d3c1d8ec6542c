package sso

import (
	"context"
	"time"
)

// SCIMTokenExpirer is an optional SCIMTokenStore capability for a token's
// rotation. ExpireSCIMToken moves token id's expiry to at unless it
// already expires earlier, in one atomic step, and changes nothing else:
// of two rotations of one token at once the shorter overlap holds (an
// administrator rotating a leaked token with no overlap is not undone by a
// routine rotation with a week's), and neither writes back a copy of the
// token read before the other. A missing token is ErrNotFound.
// store/memstore and store/sqlstore implement it; ExpireSCIMToken (the
// function) falls back for a store that does not.
type SCIMTokenExpirer interface {
	ExpireSCIMToken(ctx context.Context, id string, at time.Time) error
}

// ExpireSCIMToken makes token t, as read from st, expire at at unless it
// expires earlier, through st's SCIMTokenExpirer when st implements it;
// otherwise it sets t.ExpiresAt and writes t with UpdateSCIMToken, where a
// concurrent rotation's shorter expiry can be lost.
func ExpireSCIMToken(ctx context.Context, st SCIMTokenStore, t *SCIMToken, at time.Time) error {
	if e, ok := st.(SCIMTokenExpirer); ok {
		return e.ExpireSCIMToken(ctx, t.ID, at)
	}
	if t.ExpiresAt.IsZero() || at.Before(t.ExpiresAt) {
		t.ExpiresAt = at
	}
	return st.UpdateSCIMToken(ctx, t)
}
