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
// implements.
func Run(t *testing.T, newStore NewStore) {
	for _, s := range sorted(false) {
		t.Run(s.name, func(t *testing.T) { s.run(t, newStore) })
	}
}

// RunConcurrency runs the race tests: many goroutines contending for one
// record, where exactly one must win.
func RunConcurrency(t *testing.T, newStore NewStore) {
	for _, s := range sorted(true) {
		t.Run(s.name, func(t *testing.T) { s.run(t, newStore) })
	}
}
