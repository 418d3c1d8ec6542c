package stack_test

import (
	"context"
	"log"
	"net/http"
	"net/url"

	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/social"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/meminvite"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
	"github.com/ssokit/ssokit/store/memstore/mempasskey"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
	"github.com/ssokit/ssokit/store/memstore/memscim"
	"github.com/ssokit/ssokit/store/memstore/memsocial"
)

// Social sign-in, passkeys and the account API beside invitations: a
// newcomer signing in with Google joins by a pending invitation or the
// auto-join policy of their verified domain; the redirect URI to register
// at Google is https://app.example.com/auth/social/google/callback.
func ExampleConfig_social() {
	ctx := context.Background()
	st := memstore.New()
	base, _ := url.Parse("https://app.example.com")
	mailer := &mail.DevMailer{}
	kit, err := stack.New(ctx, stack.Config{
		Store: st, SAMLStore: memsaml.New(st), OIDCStore: memoidc.New(st), SCIMStore: memscim.New(st),
		BaseURL: base, SealKeyID: "k1", SealKeys: map[string][]byte{"k1": make([]byte, 32)}, LocalLoginURL: "/login",
		Invites:  &stack.InviteConfig{Store: meminvite.New(st), Mailer: mailer},
		Social:   &stack.SocialConfig{Store: memsocial.New(st), Providers: []social.Provider{social.Google("client-id", "client-secret")}},
		Passkeys: &stack.PasskeyConfig{Store: mempasskey.New(st), RPDisplayName: "Example"},
		Account:  &stack.AccountConfig{},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	kit.Mount(mux) // /auth/social/, /auth/passkey/, /api/account/ among the others
	_ = http.ListenAndServe("127.0.0.1:8080", kit.Middleware(mux))
}
