package memscim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memscim"
)

// Every SCIM store built on one memstore.Store shares its records: here two
// of them count requests against one rate-limit window.
func ExampleNew() {
	ctx := context.Background()
	ms := memstore.New() // also the scim.Config.Core of the handler
	a, b := memscim.New(ms), memscim.New(ms)

	window := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	n1, _ := a.IncrementSCIMRate(ctx, "org_1", window)
	n2, _ := b.IncrementSCIMRate(ctx, "org_1", window)
	fmt.Println(n1, n2)
	// Output:
	// 1 2
}
