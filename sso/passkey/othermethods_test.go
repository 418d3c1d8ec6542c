package passkey_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ssokit/ssokit/sso/passkey"
)

// TestDeleteAsksOtherMethodsOnlyWhenLast: Config.OtherMethods is asked
// only when the store refuses a delete as the user's last way to sign in.
// While it fails the passkey stays and the delete fails; while it says no
// the delete is refused with last_credential; once it says yes the last
// passkey goes.
func TestDeleteAsksOtherMethodsOnlyWhenLast(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			var calls atomic.Int32
			var mu sync.Mutex
			other, otherErr := false, error(nil)
			e := newEnv(t, b, func(c *passkey.Config) {
				c.OtherMethods = func(context.Context, string) (bool, error) {
					calls.Add(1)
					mu.Lock()
					defer mu.Unlock()
					return other, otherErr
				}
			})
			answer := func(yes bool, err error) {
				mu.Lock()
				defer mu.Unlock()
				other, otherErr = yes, err
			}
			u := e.member("kim", "acme", false, false)
			c := e.signInMFA(u, "org_acme")
			first, second := e.register(c, "Laptop"), e.register(c, "Phone")
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(first), nil, c); res.code != http.StatusOK || calls.Load() != 0 {
				t.Errorf("delete of one of two: %d %v, OtherMethods asked %d times; want 200 and none", res.code, res.body, calls.Load())
			}
			answer(false, errors.New("password store down"))
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(second), nil, c); res.code == http.StatusOK || calls.Load() != 1 {
				t.Errorf("delete of the last while OtherMethods fails: %d %v, asked %d times; want a failure after one question", res.code, res.body, calls.Load())
			}
			answer(false, nil)
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(second), nil, c); res.code != http.StatusConflict || res.str("error") != passkey.ReasonLastCredential {
				t.Errorf("delete of the last while OtherMethods says no: %d %v; want 409 last_credential", res.code, res.body)
			}
			answer(true, nil)
			if res := e.call("DELETE", "/credentials/"+b64.EncodeToString(second), nil, c); res.code != http.StatusOK {
				t.Errorf("delete of the last while OtherMethods says yes: %d %v; want 200", res.code, res.body)
			}
			if list := e.call("GET", "/credentials", nil, c); list.code != http.StatusOK || string(list.body["passkeys"]) != "[]" {
				t.Errorf("passkeys left: %d %s; want none", list.code, list.body["passkeys"])
			}
		})
	}
}
