// Package memstore implements every ssokit storage interface in memory. It
// is meant for tests, demos and single-process development; data is lost on
// exit. A Store is safe for concurrent use.
package memstore

import (
	"sync"
	"time"
)

// Store is an in-memory implementation of the ssokit storage interfaces.
// The zero value is not usable; call New.
type Store struct {
	// mu guards every field below. One lock keeps multi-record operations
	// atomic, which is what the storage contracts ask for.
	mu  sync.Mutex
	now func() time.Time

	core    coreData
	session sessionData
	saml    samlData
	oidc    oidcData
	mfa     mfaData
	scim    scimData
	health  healthData
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read time from now (for expiry) instead of
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// New returns an empty Store.
func New(opts ...Option) *Store {
	s := &Store{now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}
