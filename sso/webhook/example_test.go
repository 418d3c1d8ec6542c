package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memwebhook"
)

// A receiver checks the webhook-signature header: HMAC-SHA256, keyed with
// the base64 part of the secret, over "id.timestamp.body".
func ExampleSign() {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	body := []byte(`{"type":"scim.user_created"}`)
	ts := time.Unix(1674087231, 0)
	header, err := webhook.Sign("evt_1", ts, body, secret)
	if err != nil {
		panic(err)
	}

	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte("evt_1.1674087231."))
	m.Write(body)
	fmt.Println(header == "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	// Output: true
}

// A host reacts in process to its organizations' events: the subscription
// reads the audit trail after its own durable cursor, so after a restart
// it resumes where it stopped.
func ExampleNewSubscription() {
	ctx := context.Background()
	ms := memstore.New()
	_ = ms.CreateOrg(ctx, &sso.Organization{ID: "org_1", Slug: "acme", Name: "Acme"})
	_ = ms.AppendEvent(ctx, &sso.Event{ID: "evt_1", OrgID: "org_1", Time: time.Now(), Type: "user.jit_provisioned",
		Actor: sso.Actor{Type: sso.ActorIdP}, Target: sso.Target{Type: "user", ID: "usr_1"}, Outcome: sso.OutcomeSuccess})

	s, err := webhook.NewSubscription(webhook.SubscriptionConfig{
		Name:  "provisioning",
		Types: []string{"user.jit_provisioned"},
		Handle: func(ctx context.Context, e *sso.Event) error {
			fmt.Println(e.Type, e.Target.ID) // idempotent on e.ID: delivery is at least once
			return nil
		},
		Events: ms, Orgs: ms, Cursors: memwebhook.New(ms),
	})
	if err != nil {
		panic(err)
	}
	if _, err := s.Poll(ctx); err != nil { // Run(ctx) polls until ctx ends
		panic(err)
	}
	// Output: user.jit_provisioned usr_1
}
