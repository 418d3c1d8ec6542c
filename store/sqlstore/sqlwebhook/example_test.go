package sqlwebhook_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the host picks the driver

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlwebhook"
)

// The webhook store lives in the database of a sqlstore.Store, whose
// Migrate creates its tables. Of two replicas fanning out the same batch,
// one writes it; of two claiming due deliveries, one gets each.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "ssokit")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(filepath.Join(dir, "ssokit.db")))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	st, err := sqlstore.New(db, sqlstore.SQLite) // also the webhook.Config.Events
	if err != nil {
		log.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		log.Fatal(err)
	}

	replica1, replica2 := sqlwebhook.New(st), sqlwebhook.New(st)
	now := time.Now()
	_ = replica1.CreateEndpoint(ctx, &webhook.Endpoint{ID: "whe_1", OrgID: "org_1", Kind: webhook.KindWebhook, Enabled: true,
		CreatedAt: now, UpdatedAt: now})
	d := &webhook.Delivery{ID: "whd_1", EndpointID: "whe_1", OrgID: "org_1", EventID: "evt_1", Seq: 1,
		Payload: []byte(`{}`), Status: webhook.StatusPending, NextAttemptAt: now, CreatedAt: now}
	fmt.Println(replica1.FanOut(ctx, "whe_1", 0, 1, []*webhook.Delivery{d}))
	err = replica2.FanOut(ctx, "whe_1", 0, 1, []*webhook.Delivery{d})
	fmt.Println("fanned out twice:", errors.Is(err, sso.ErrConflict))

	first, _ := replica1.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	second, _ := replica2.ClaimDeliveries(ctx, now, now.Add(time.Minute), 10)
	fmt.Println(len(first), len(second))
	// Output:
	// <nil>
	// fanned out twice: true
	// 1 0
}
