package sqlstore_test

import (
	"slices"
	"testing"

	"github.com/ssokit/ssokit/internal/testkit"
)

// TestOIDCOnlyHostLinksNoOtherProtocol builds the import graph of
// internal/oidconly, a host of OIDC sign-in and sessions on sqlstore and
// sqloidc, and fails when it holds a SAML, MFA or SCIM library: the stores
// are split by capability so that a host links only the protocols it uses.
func TestOIDCOnlyHostLinksNoOtherProtocol(t *testing.T) {
	t.Parallel()
	deps := testkit.Deps(t, "./store/sqlstore/internal/oidconly")
	for _, want := range []string{"github.com/ssokit/ssokit/store/sqlstore/sqloidc", "github.com/ssokit/ssokit/oidc",
		"github.com/ssokit/ssokit/session", "github.com/ssokit/ssokit/store/sqlstore"} {
		if !slices.Contains(deps, want) {
			t.Errorf("the OIDC-only host does not import %s: the program no longer tests what it should", want)
		}
	}
	for _, p := range deps {
		if lib := testkit.ProtocolLibrary(p); lib != "" {
			t.Errorf("the OIDC-only host links %s (of %s)", p, lib)
		}
	}
}

// TestRootImportsNoProtocol checks that package sqlstore, which every host
// of the SQL store links, imports no protocol package but session, and so
// no protocol library.
func TestRootImportsNoProtocol(t *testing.T) {
	t.Parallel()
	for _, p := range testkit.Deps(t, "./store/sqlstore") {
		switch p {
		case "github.com/ssokit/ssokit/saml", "github.com/ssokit/ssokit/oidc",
			"github.com/ssokit/ssokit/scim", "github.com/ssokit/ssokit/mfa":
			t.Errorf("sqlstore imports %s; its state belongs in a capability package", p)
		}
		if lib := testkit.ProtocolLibrary(p); lib != "" {
			t.Errorf("sqlstore links %s (of %s)", p, lib)
		}
	}
}
