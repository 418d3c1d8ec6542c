package stack_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/sso/webhook"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memwebhook"
)

// TestWebhooksDeliveredByRun: with Config.Webhooks set, Stack.Run
// delivers an audit event a host may act on to the organization's
// endpoint, signed with the endpoint's secret.
func TestWebhooksDeliveredByRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := memStores()
	ms := cfg.Store.(*memstore.Store)
	cfg.Webhooks = memwebhook.New(ms)
	cfg.BaseURL, _ = url.Parse("https://app.example.com/")
	cfg.SealKeyID, cfg.SealKeys = "k1", map[string][]byte{"k1": make([]byte, 32)}
	cfg.LocalLoginURL, cfg.Logger = "/password-login", slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Dev = stack.Dev{AllowInsecureURLs: true, AllowPrivateAddresses: true}
	s, err := stack.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Value
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Clone())
	}))
	defer recv.Close()
	org := &sso.Organization{ID: "org_w", Slug: "w", Name: "W"}
	if err := ms.CreateOrg(ctx, org); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Webhooks.CreateEndpoint(ctx, webhook.EndpointInput{OrgID: org.ID, URL: recv.URL}); err != nil {
		t.Fatal(err)
	}
	if err := s.Auditor.Record(ctx, &sso.Event{OrgID: org.ID, Type: "user.jit_provisioned",
		Actor: sso.Actor{Type: sso.ActorIdP, ID: "conn_1"}, Target: sso.Target{Type: "user", ID: "usr_1"}}); err != nil {
		t.Fatal(err)
	}
	go s.Run(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for got.Load() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	h, _ := got.Load().(http.Header)
	if h == nil || h.Get("webhook-id") == "" || h.Get("webhook-signature") == "" {
		t.Fatalf("no signed delivery within 20 s: %v", h)
	}
}
