package mempasskey_test

import (
	"testing"

	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mempasskey"
	"github.com/ssokit/ssokit/store/memstore/mempassword"
	"github.com/ssokit/ssokit/store/memstore/memsocial"
	"github.com/ssokit/ssokit/store/storetest"
)

func TestWaysIn(t *testing.T) {
	storetest.RunWaysIn(t, func(t *testing.T) storetest.WaysIn {
		ms := memstore.New()
		return storetest.WaysIn{Passkeys: mempasskey.New(ms), Social: memsocial.New(ms), Passwords: mempassword.New(ms)}
	})
}
