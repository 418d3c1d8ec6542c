package memstore_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso/portal"

	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memmfa"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
	"github.com/ssokit/ssokit/store/memstore/memscim"
	"github.com/ssokit/ssokit/store/storetest"
)

// newStores provides every capability of memstore and its capability
// packages, all on one fresh Store.
func newStores(t *testing.T) storetest.Stores {
	s := memstore.New()
	sc := memscim.New(s)
	return storetest.Stores{
		Core: s, Health: s, LoginLoader: s,
		Sessions: s, Tokens: s, Revocations: s, Sweeper: s, Clients: s,
		SAML: memsaml.New(s), OIDC: memoidc.New(s), MFA: memmfa.New(s), SCIM: sc, SCIMRate: sc,
		Portal: portal.NewMemoryStore(),
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
