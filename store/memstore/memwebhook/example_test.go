package memwebhook_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memwebhook"
)

// Every webhook store built on one memstore.Store shares its records: a
// batch fanned out through one moves the cursor, so a second fan-out of the
// same batch through another writes nothing, and a claimed delivery is
// not claimed again while its lease runs.
func ExampleNew() {
	ctx := context.Background()
	ms := memstore.New()
	a, b := memwebhook.New(ms), memwebhook.New(ms)
	now := time.Now()

	_ = a.CreateEndpoint(ctx, &webhook.Endpoint{ID: "whe_1", OrgID: "org_1", Kind: webhook.KindWebhook, Enabled: true})
	d := &webhook.Delivery{ID: "whd_1", EndpointID: "whe_1", EventID: "evt_1", Seq: 1, Status: webhook.StatusPending, NextAttemptAt: now}
	fmt.Println(a.FanOut(ctx, "whe_1", 0, 1, []*webhook.Delivery{d}))
	err := b.FanOut(ctx, "whe_1", 0, 1, []*webhook.Delivery{d})
	fmt.Println("fanned out twice:", errors.Is(err, sso.ErrConflict))

	first, _ := a.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	second, _ := b.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	fmt.Println(len(first), len(second))
	// Output:
	// <nil>
	// fanned out twice: true
	// 1 0
}
