package teststore

import (
	"context"
	"testing"
	"time"

	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// LoginStore is what a login completed with a real session.Manager reads
// and writes: the core store and a session store that writes a login's
// records with its session. Both back-ends are one.
type LoginStore interface {
	sso.Store
	session.Store
	session.LoginWriter
}

// OpenLogin is Open, as a LoginStore.
func OpenLogin(t testing.TB, backend string, now func() time.Time) LoginStore {
	t.Helper()
	mem, sq := Open(t, backend, now)
	if sq != nil {
		return sq
	}
	return mem
}

// BeforeLoginWrite is a LoginStore that runs Before, once, before the
// next login write (CreateLoginSession) goes to the store it wraps: a
// change committed after a login read its records and before its session
// is written. Give it to session.Config.Store.
type BeforeLoginWrite struct {
	LoginStore
	between testkit.Between
}

// Before sets the function the next login write runs first.
func (b *BeforeLoginWrite) Before(f func()) { b.between.Arm(0, f) }

// CreateLoginSession implements session.LoginWriter.
func (b *BeforeLoginWrite) CreateLoginSession(ctx context.Context, s *session.Session, limit int, w *sso.LoginWrites) ([]*session.Session, error) {
	b.between.Fire()
	return b.LoginStore.CreateLoginSession(ctx, s, limit, w)
}

// BeforeCreateSession is a session store that is not a
// session.LoginWriter (as the Redis session store, or a host's own) and
// runs Before, once, before the next CreateSession goes to the store it
// wraps: a change committed after a login read its records and before its
// session is written.
type BeforeCreateSession struct {
	session.Store
	between testkit.Between
}

// Before sets the function the next CreateSession runs first.
func (b *BeforeCreateSession) Before(f func()) { b.between.Arm(0, f) }

// CreateSession implements session.Store.
func (b *BeforeCreateSession) CreateSession(ctx context.Context, s *session.Session, limit int) ([]*session.Session, error) {
	b.between.Fire()
	return b.Store.CreateSession(ctx, s, limit)
}
