package memsocial_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso/social/socialtest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsocial"
)

func TestConformance(t *testing.T) {
	socialtest.Run(t, func(t *testing.T) socialtest.Stores {
		ms := memstore.New()
		return socialtest.Stores{Social: memsocial.New(ms), Users: ms}
	})
}
