package memstore_test

import (
	"testing"

	"github.com/ssokit/ssokit/internal/testkit"
)

// TestRootImportsNoProtocol checks that package memstore imports no
// protocol package but session, and so no protocol library: the protocol
// state lives in memsaml, memoidc, memscim and memmfa, so a host links only
// the protocols it uses.
func TestRootImportsNoProtocol(t *testing.T) {
	t.Parallel()
	for _, p := range testkit.Deps(t, "./store/memstore") {
		switch p {
		case "github.com/ssokit/ssokit/saml", "github.com/ssokit/ssokit/oidc",
			"github.com/ssokit/ssokit/scim", "github.com/ssokit/ssokit/mfa":
			t.Errorf("memstore imports %s; its state belongs in a capability package", p)
		}
		if lib := testkit.ProtocolLibrary(p); lib != "" {
			t.Errorf("memstore links %s (of %s)", p, lib)
		}
	}
}
