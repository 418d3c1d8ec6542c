package oidc_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
)

type noSessions struct{}

func (noSessions) EndIdPSessions(context.Context, *sso.IdPLogout) (int, error) { return 0, nil }

// The admin copies the logout URIs into the IdP only when the relying
// party ends sessions on IdP-initiated logout.
func TestSPDetailsLogoutURIs(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://app.example.com/sso/oidc/")
	store := memstore.New()
	kr, _ := keyring.New("k", map[string][]byte{"k": make([]byte, 32)})
	cfg := oidc.Config{BaseURL: base, Completer: completer{}, Store: memoidc.New(store), Connections: store, Sealer: kr}
	rp, err := oidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sp := rp.SPDetails(&sso.Connection{ID: "conn_1"}); sp.BackChannelLogoutURI != "" || sp.FrontChannelLogoutURI != "" {
		t.Fatalf("without logout configured: %+v; want no logout URIs", sp)
	}
	cfg.Sessions = noSessions{}
	if rp, err = oidc.New(cfg); err != nil {
		t.Fatal(err)
	}
	sp := rp.SPDetails(&sso.Connection{ID: "conn_1"})
	if sp.BackChannelLogoutURI != "https://app.example.com/sso/oidc/backchannel-logout/conn_1" ||
		sp.FrontChannelLogoutURI != "https://app.example.com/sso/oidc/frontchannel-logout/conn_1" {
		t.Fatalf("logout URIs %q %q", sp.BackChannelLogoutURI, sp.FrontChannelLogoutURI)
	}
}
