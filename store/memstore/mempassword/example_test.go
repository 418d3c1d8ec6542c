package mempassword_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/mempassword"
)

// A reset token is taken once: the second take finds nothing.
func ExampleNew() {
	ctx := context.Background()
	st := mempassword.New(memstore.New())
	now := time.Now()
	_ = st.CreateToken(ctx, &password.Token{Hash: "sha256-of-bearer", Kind: password.TokenReset, UserID: "usr_1",
		Email: "jane@example.com", Version: 1, CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute)})
	t, err := st.TakeToken(ctx, password.TokenReset, "sha256-of-bearer")
	fmt.Println(t.UserID, err)
	_, err = st.TakeToken(ctx, password.TokenReset, "sha256-of-bearer")
	fmt.Println("taken twice:", errors.Is(err, sso.ErrNotFound))
	// Output:
	// usr_1 <nil>
	// taken twice: true
}
