package saml_test

import (
	"fmt"
	"net/url"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// An admin turns on IdP-initiated sign-in and SHA-1 for an IdP that needs
// them: Weakened names both (the admin API audits them as
// connection.security_weakened), and turning SHA-1 off again weakens
// nothing.
func ExampleSP_Weakened() {
	store := memstore.New()
	base, _ := url.Parse("https://app.example.com/sso/saml")
	sp, err := saml.New(saml.Config{BaseURL: base, Connections: store, Store: memsaml.New(store), Completer: exampleFlow{}})
	if err != nil {
		panic(err)
	}
	before := &saml.ConnectionConfig{IdPEntityID: "https://idp.example.com"}
	after := *before
	after.AllowIdPInitiated, after.AllowSHA1 = true, true
	fmt.Println(sp.Weakened(before, &after))
	strict := after
	strict.AllowSHA1 = false
	fmt.Println(len(sp.Weakened(&after, &strict)))
	// Output:
	// [allow_idp_initiated allow_sha1]
	// 0
}
