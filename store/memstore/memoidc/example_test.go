package memoidc_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
)

// The OIDC store of a memstore.Store keeps login flows and the replay cache
// of back-channel logout tokens: a key is used once.
func ExampleNew() {
	ctx := context.Background()
	ms := memstore.New() // also the oidc.Config.Connections of the RP
	st := memoidc.New(ms)

	exp := time.Now().Add(time.Hour)
	fmt.Println(st.UseOnce(ctx, "jti-1", exp))
	fmt.Println("replayed:", errors.Is(st.UseOnce(ctx, "jti-1", exp), sso.ErrConflict))
	// Output:
	// <nil>
	// replayed: true
}
