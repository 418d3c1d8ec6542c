package memstore_test

import (
	"testing"

	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/storetest"
)

// newStores provides every capability memstore implements, from one fresh
// Store.
func newStores(t *testing.T) storetest.Stores {
	s := memstore.New()
	return storetest.Stores{
		Core: s, Health: s,
		Sessions: s, Tokens: s, Revocations: s, Sweeper: s,
		SAML: s, OIDC: s, MFA: s, SCIM: s, SCIMRate: s,
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStores)
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrency(t, newStores)
}
