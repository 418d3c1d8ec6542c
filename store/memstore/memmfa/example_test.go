package memmfa_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memmfa"
)

// The MFA store of a memstore.Store keeps recovery codes as the hashes the
// mfa.Manager gives it; each is used once.
func ExampleNew() {
	ctx := context.Background()
	ms := memstore.New() // also the mfa.Config.Users, Orgs, Members and Events
	st := memmfa.New(ms)

	now := time.Now()
	_ = st.ReplaceRecoveryCodes(ctx, "usr_1", []string{"hash-a", "hash-b"}, now)
	fmt.Println(st.UseRecoveryCode(ctx, "usr_1", "hash-a", now))
	fmt.Println("used twice:", errors.Is(st.UseRecoveryCode(ctx, "usr_1", "hash-a", now), sso.ErrNotFound))
	n, _ := st.CountRecoveryCodes(ctx, "usr_1")
	fmt.Println(n, "left")
	// Output:
	// <nil>
	// used twice: true
	// 1 left
}
