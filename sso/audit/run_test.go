package audit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/store/memstore"
)

// sealingStore is an event store that seals in batches: it counts the
// passes and fails the first one.
type sealingStore struct {
	sso.EventStore
	passes atomic.Int32
}

func (s *sealingStore) SealEvents(context.Context) (int, error) {
	if s.passes.Add(1) == 1 {
		return 0, errors.New("database unavailable")
	}
	return 1, nil
}

// syncBuffer is a bytes.Buffer safe for the logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func TestRunSealsPeriodically(t *testing.T) {
	t.Parallel()
	st := &sealingStore{EventStore: memstore.New()}
	var logs syncBuffer
	a, err := audit.New(audit.Config{Store: st, SealInterval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for st.passes.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if n := st.passes.Load(); n < 3 {
		t.Fatalf("%d sealing passes, want the failed first one retried", n)
	}
	if !strings.Contains(logs.String(), "database unavailable") {
		t.Errorf("the failed pass was not logged: %q", logs.String())
	}
}

func TestRunWithoutSealerWaits(t *testing.T) {
	t.Parallel()
	a, err := audit.New(audit.Config{Store: memstore.New()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := a.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run returned %v, want the context's error", err)
	}
}

func TestNewRefusesNegativeSealInterval(t *testing.T) {
	t.Parallel()
	if _, err := audit.New(audit.Config{Store: memstore.New(), SealInterval: -time.Second}); !errors.Is(err, sso.ErrInvalidConfig) {
		t.Fatalf("got %v, want ErrInvalidConfig", err)
	}
}
