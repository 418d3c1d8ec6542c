package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso/webhook"
)

// A receiver checks the webhook-signature header: HMAC-SHA256, keyed with
// the base64 part of the secret, over "id.timestamp.body".
func ExampleSign() {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	body := []byte(`{"type":"scim.user_created"}`)
	ts := time.Unix(1674087231, 0)
	header, err := webhook.Sign("evt_1", ts, body, secret)
	if err != nil {
		panic(err)
	}

	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte("evt_1.1674087231."))
	m.Write(body)
	fmt.Println(header == "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	// Output: true
}
