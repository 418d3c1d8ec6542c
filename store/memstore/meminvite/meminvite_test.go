package meminvite_test

import (
	"testing"

	"github.com/ssokit/ssokit/sso/invite/invitetest"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
)

func TestConformance(t *testing.T) {
	invitetest.Run(t, func(t *testing.T) invitetest.Stores {
		ms := memstore.New()
		return invitetest.Stores{Store: meminvite.New(ms), Users: ms, Events: ms}
	})
}
