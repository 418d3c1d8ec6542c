package mempassword_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/password/passwordtest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mempassword"
)

func TestConformance(t *testing.T) {
	passwordtest.Run(t, func(t *testing.T) password.Store { return mempassword.New(memstore.New()) })
}
