package social_test

import (
	"fmt"

	"github.com/ssokit/ssokit/sso/social"
)

// The Microsoft preset for the common endpoint checks each token's issuer
// against the tenant template.
func ExampleMicrosoft() {
	p := social.Microsoft(social.TenantCommon, "client-id", "client-secret", "")
	fmt.Println(p.Issuer)
	fmt.Println(p.IssuerTemplate)
	// Output:
	// https://login.microsoftonline.com/common/v2.0
	// https://login.microsoftonline.com/{tenantid}/v2.0
}

// Only GitHub's primary, verified address is used.
func ExampleGitHub() {
	p := social.GitHub("client-id", "client-secret")
	fmt.Println(p.Kind, p.APIURL)
	// Output: github https://api.github.com
}
