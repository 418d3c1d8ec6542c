package mempasskey_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/passkey/passkeytest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mempasskey"
)

func TestConformance(t *testing.T) {
	passkeytest.Run(t, func(t *testing.T) passkey.Store { return mempasskey.New(memstore.New()) })
}
