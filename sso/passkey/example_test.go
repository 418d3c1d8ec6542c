package passkey_test

import (
	"encoding/base64"
	"fmt"

	"github.com/ssokit/ssokit/sso/passkey"
)

// The user handle a passkey carries is a fixed-length hash of the user ID:
// nothing personal reaches the authenticator.
func ExampleUserHandle() {
	h := passkey.UserHandle("usr_123")
	fmt.Println(len(h), base64.RawURLEncoding.EncodeToString(h) != "usr_123")
	// Output: 32 true
}
