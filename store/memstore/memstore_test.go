package memstore_test

import (
	"testing"

	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/storetest"
)

func newStore(t *testing.T) any { return memstore.New() }

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStore)
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrency(t, newStore)
}
