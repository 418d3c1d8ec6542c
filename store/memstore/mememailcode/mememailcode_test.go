package mememailcode_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso/emailcode/emailcodetest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mememailcode"
)

func TestConformance(t *testing.T) {
	emailcodetest.Run(t, func(t *testing.T) emailcodetest.Stores {
		ms := memstore.New()
		return emailcodetest.Stores{Store: mememailcode.New(ms), Users: ms}
	})
}
