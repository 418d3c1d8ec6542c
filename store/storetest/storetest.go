// Package storetest is the conformance suite for ssokit storage
// implementations. memstore and sqlstore (SQLite and PostgreSQL) run it, and
// so should a host that implements the storage interfaces on its own
// database:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) any { return mystore.New(...) })
//	}
//
// newStore must return a fresh, empty store for every call. The value is
// checked against each capability interface (sso.OrgStore, session.Store,
// ...); every capability it implements gets its subtests. RunConcurrency runs
// the races (many goroutines on one record) separately, since they are slower.
package storetest

import (
	"sort"
	"testing"
)

// NewStore returns a fresh, empty store for one subtest.
type NewStore func(t *testing.T) any

// suite is one capability's tests. run calls t.Run for each case with a
// fresh store, and does nothing when the store lacks the capability.
type suite struct {
	name        string
	run         func(t *testing.T, newStore NewStore)
	concurrency bool
	// needs reports whether a store has the capability the suite tests;
	// nil means every store.
	needs func(store any) bool
}

// impl reports whether a store implements S.
func impl[S any](store any) bool {
	_, ok := store.(S)
	return ok
}

// suites is filled by the init functions of this package's files, one file
// per capability.
var suites []suite

func register(s suite) { suites = append(suites, s) }

func sorted(concurrency bool) []suite {
	var out []suite
	for _, s := range suites {
		if s.concurrency == concurrency {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Run runs the functional conformance tests for every capability the store
// implements; suites for capabilities it lacks are not run at all (not
// skipped), so a store that implements only sessions, say, runs exactly the
// session suites.
func Run(t *testing.T, newStore NewStore) {
	run(t, newStore, false)
}

// RunConcurrency runs the race tests: many goroutines contending for one
// record, where exactly one must win.
func RunConcurrency(t *testing.T, newStore NewStore) {
	run(t, newStore, true)
}

func run(t *testing.T, newStore NewStore, concurrency bool) {
	probe := newStore(t)
	ran := 0
	for _, s := range sorted(concurrency) {
		if s.needs != nil && !s.needs(probe) {
			continue
		}
		ran++
		t.Run(s.name, func(t *testing.T) { s.run(t, newStore) })
	}
	if ran == 0 && !concurrency {
		t.Fatalf("storetest: %T implements none of the storage interfaces", probe)
	}
}
