package storetest_test

import (
	"testing"

	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/storetest"
)

// This example shows the tests of a package that implements the session
// storage interfaces. newStores fills one typed field per capability it
// provides; the capabilities left nil are not tested, and Run logs them.
// Because the fields are typed, a store whose FindSession, say, had the wrong
// signature would not compile here.
func Example() {
	newStores := func(t *testing.T) storetest.Stores {
		s := memstore.New() // your store, fresh and empty
		return storetest.Stores{Sessions: s, Tokens: s, Revocations: s, Sweeper: s}
	}

	// In your store's _test.go file:
	testMyStore := func(t *testing.T) {
		storetest.Run(t, newStores)
		storetest.RunConcurrency(t, newStores)
	}
	_ = testMyStore
}
