package memsaml_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// Every SAML store built on one memstore.Store shares its records, so an
// outstanding request saved through one is taken, once, through another.
func ExampleNew() {
	ctx := context.Background()
	ms := memstore.New() // also the saml.Config.Connections of the SP
	a, b := memsaml.New(ms), memsaml.New(ms)

	_ = a.SaveAuthnRequest(ctx, &saml.AuthnRequestState{ID: "_req1", ConnectionID: "conn_1",
		ExpiresAt: time.Now().Add(5 * time.Minute)})
	r, err := b.TakeAuthnRequest(ctx, "_req1")
	fmt.Println(r.ConnectionID, err)
	_, err = a.TakeAuthnRequest(ctx, "_req1")
	fmt.Println("taken twice:", errors.Is(err, sso.ErrNotFound))
	// Output:
	// conn_1 <nil>
	// taken twice: true
}
