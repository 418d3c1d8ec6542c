package redisstore_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/testdb"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/redisstore"
	"github.com/ssokit/ssokit/store/storetest"
)

// client connects to SSOKIT_TEST_REDIS, skipping when it is unset.
func client(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv(testdb.RedisEnv)
	if url == "" {
		t.Skipf("%s is not set; skipping Redis test (e.g. %s=redis://127.0.0.1:6379/0)", testdb.RedisEnv, testdb.RedisEnv)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse %s: %v", testdb.RedisEnv, err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// newStore returns a Store under a fresh key prefix and deletes its keys
// when the test ends.
func newStore(t *testing.T) *redisstore.Store {
	rdb := client(t)
	prefix := "ssokit-test:" + opaque.NewID("") + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	s, err := redisstore.New(rdb, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newStores provides the session capabilities, the only ones redisstore
// implements.
func newStores(t *testing.T) storetest.Stores {
	s := newStore(t)
	return storetest.Stores{Sessions: s, Tokens: s, Revocations: s}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStores)
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	storetest.RunConcurrency(t, newStores)
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := redisstore.New(nil, redisstore.Options{}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("New(nil) = %v, want ErrInvalidConfig", err)
	}
}

// TestUnavailable checks that a Redis that cannot be reached is reported as
// sso.ErrUnavailable, which the session middleware answers with 503.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer rdb.Close()
	s, _ := redisstore.New(rdb, redisstore.Options{})
	if _, err := s.FindSession(context.Background(), opaque.Hash("x")); !errors.Is(err, sso.ErrUnavailable) {
		t.Fatalf("FindSession on a dead server = %v, want ErrUnavailable", err)
	}
}
