package oidc_test

import (
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
)

// completer stands in for the host's sso login completion.
type completer struct{}

func (completer) Complete(w http.ResponseWriter, r *http.Request, l *sso.Login) error {
	http.Redirect(w, r, returnto.Safe(l.ReturnTo, "/"), http.StatusSeeOther)
	return nil
}

func (completer) Fail(r *http.Request, f *sso.LoginFailure) {}

func ExampleNew() {
	store := memstore.New()
	keyring, err := keyring.New("2026-01", map[string][]byte{"2026-01": make([]byte, 32)}) // use a real secret key
	if err != nil {
		log.Fatal(err)
	}
	base, _ := url.Parse("https://app.example.com/sso/oidc/")
	rp, err := oidc.New(oidc.Config{
		BaseURL:     base,
		Completer:   completer{},
		Store:       memoidc.New(store),
		Connections: store,
		Sealer:      keyring,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/sso/oidc/", http.StripPrefix("/sso/oidc", rp))

	sp := rp.SPDetails(&sso.Connection{ID: "conn_123"})
	fmt.Println(sp.RedirectURI)
	fmt.Println(sp.LoginURL)
	// Output:
	// https://app.example.com/sso/oidc/callback/conn_123
	// https://app.example.com/sso/oidc/login/conn_123
}

func ExampleRP_BackChannelLogoutURI() {
	base, _ := url.Parse("https://app.example.com/sso/oidc/")
	store := memstore.New()
	keyring, _ := keyring.New("k", map[string][]byte{"k": make([]byte, 32)})
	rp, _ := oidc.New(oidc.Config{BaseURL: base, Completer: completer{}, Store: memoidc.New(store), Connections: store, Sealer: keyring})
	fmt.Println(rp.BackChannelLogoutURI("conn_123"))
	// Output: https://app.example.com/sso/oidc/backchannel-logout/conn_123
}
