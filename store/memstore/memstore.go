// Package memstore implements ssokit's core and session storage in memory.
// It is meant for tests, demos and single-process development; data is lost
// on exit. A Store is safe for concurrent use.
//
// A Store implements the core interfaces (sso.Store, health.Store,
// login.Loader) and
// the session stores (session.Store, session.TokenStore,
// session.RevocationStore, session.Sweeper). The state of each protocol lives
// in a subpackage whose New takes the Store and shares its records, lock and
// clock, so a host links only the protocols it uses:
//
//	ms := memstore.New()
//	memsaml.New(ms) // saml.Store
//	memoidc.New(ms) // oidc.Store
//	memscim.New(ms) // scim.Store and scim.RateStore
//	memmfa.New(ms)  // mfa.Store
package memstore

import (
	"sync"

	"github.com/ssokit/ssokit/sso"
	"time"

	"github.com/ssokit/ssokit/store/memstore/internal/memstate"
)

// Store is an in-memory implementation of the core and session storage
// interfaces. The zero value is not usable; call New.
type Store struct {
	*records
	// events are appended with every core write of a view WithEvents
	// returned; nil for the Store New returns.
	events []*sso.Event
}

// records are the state of a Store, shared by the views WithEvents returns.
type records struct {
	// mu is the shared lock of state: it guards every field below and the
	// records of the capability packages. One lock keeps multi-record
	// operations atomic, which is what the storage contracts ask for.
	mu    *sync.Mutex
	now   func() time.Time
	state *memstate.State

	core    coreData
	session sessionData
	health  healthData
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read time from now (for expiry) instead of
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{records: &records{now: time.Now}}
	for _, o := range opts {
		o(s)
	}
	s.state = &memstate.State{Now: s.now, Core: &s.core}
	s.mu = &s.state.Mu
	return s
}

func init() {
	// The capability packages reach the lock, clock and core records of a
	// Store through memstate, so they share them without API on Store.
	memstate.Of = func(store any) *memstate.State {
		s := store.(*Store)
		if s == nil {
			panic("memstore: nil *Store")
		}
		return s.state
	}
}
