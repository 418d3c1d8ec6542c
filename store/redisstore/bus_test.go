package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/redisstore"
)

func TestNewBus(t *testing.T) {
	t.Parallel()
	if _, err := redisstore.NewBus(nil, redisstore.BusOptions{}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("NewBus(nil) = %v, want ErrInvalidConfig", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	if _, err := redisstore.NewBus(rdb, redisstore.BusOptions{PingInterval: -1}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("NewBus(negative PingInterval) = %v, want ErrInvalidConfig", err)
	}
	b, err := redisstore.NewBus(rdb, redisstore.BusOptions{})
	if err != nil || b.Channel() != redisstore.DefaultBusChannel {
		t.Fatalf("NewBus = %v, %v; want channel %q", b, err, redisstore.DefaultBusChannel)
	}
}

func TestBusPublishSubscribe(t *testing.T) {
	t.Parallel()
	rdb := client(t)
	b, err := redisstore.NewBus(rdb, redisstore.BusOptions{Channel: "ssokit-test:" + opaque.NewID("") + ":rev", PingInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 16)
	done := make(chan error, 1)
	go func() { done <- b.Subscribe(ctx, func(s string) { got <- s }) }()
	next := func() string {
		t.Helper()
		select {
		case s := <-got:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("nothing delivered within 5 s")
			return ""
		}
	}
	if s := next(); s != "" {
		t.Fatalf("first delivery %q, want the empty subject (listening)", s)
	}
	// Idle past several ping intervals: the subscription stays up.
	time.Sleep(200 * time.Millisecond)
	for _, subject := range []string{"user:u1", "session:s1"} {
		if err := b.Publish(context.Background(), subject); err != nil {
			t.Fatal(err)
		}
		if s := next(); s != subject {
			t.Fatalf("delivered %q, want %q", s, subject)
		}
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Subscribe = %v, want context.Canceled", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Subscribe did not return within a second of its context ending")
	}
}

func TestBusUnreachable(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	b, _ := redisstore.NewBus(rdb, redisstore.BusOptions{})
	called := false
	if err := b.Subscribe(context.Background(), func(string) { called = true }); !errors.Is(err, sso.ErrUnavailable) || called {
		t.Fatalf("Subscribe on a dead server = %v (fn called: %v), want ErrUnavailable without a call", err, called)
	}
	if err := b.Publish(context.Background(), "user:u1"); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("Publish on a dead server = %v, want ErrUnavailable", err)
	}
}
