package oidc

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestDiscoveryRefreshBacksOffWhileIdPDown lets the cached discovery
// document expire while the IdP's discovery endpoint fails: logins keep
// the last good copy, and the RP retries the endpoint once per
// metadataRetryInterval, not on every login start, callback and logout
// request (a failing IdP is not hammered by every request). Once the
// endpoint answers again the next retry refreshes the cache.
func TestDiscoveryRefreshBacksOffWhileIdPDown(t *testing.T) {
	t.Parallel()
	h, op := setupOne(t, nil)
	h.wantOK(h.login(newBrowser(t), "conn_a"))

	op.set(func(op *mockOP) { op.discoveryStatus = http.StatusServiceUnavailable })
	h.clock.Advance(metadataTTL + time.Minute)
	before := op.discoveryFetches.Load()
	for range 5 {
		h.wantOK(h.login(newBrowser(t), "conn_a"))
	}
	if got := op.discoveryFetches.Load() - before; got != 1 {
		t.Fatalf("5 logins while discovery is down fetched it %d times, want 1 (then the last good copy until the retry interval)", got)
	}

	h.clock.Advance(metadataRetryInterval)
	h.wantOK(h.login(newBrowser(t), "conn_a"))
	if got := op.discoveryFetches.Load() - before; got != 2 {
		t.Fatalf("after the retry interval: %d fetches, want 2", got)
	}

	op.set(func(op *mockOP) { op.discoveryStatus = 0 })
	h.clock.Advance(metadataRetryInterval)
	for range 3 {
		h.wantOK(h.login(newBrowser(t), "conn_a"))
	}
	if got := op.discoveryFetches.Load() - before; got != 3 {
		t.Fatalf("after the IdP recovered: %d fetches, want 3 (one refresh, then the fresh cache)", got)
	}
	if _, fails := h.comp.counts(); fails != 0 {
		t.Fatalf("%d logins failed, want none while a last good discovery document exists", fails)
	}
}

// TestDiscoveryRefreshDoesNotHoldConcurrentRequests lets the cached
// discovery document expire while the IdP's discovery endpoint hangs: one
// request refreshes it, and every request arriving meanwhile is served the
// last good copy at once instead of waiting for (and repeating) the hung
// fetch.
func TestDiscoveryRefreshDoesNotHoldConcurrentRequests(t *testing.T) {
	t.Parallel()
	h, op := setupOne(t, nil)
	h.wantOK(h.login(newBrowser(t), "conn_a"))
	conn := mustConn(h, "conn_a")

	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	op.set(func(op *mockOP) {
		op.discoveryHandler = func(w http.ResponseWriter, r *http.Request) {
			once.Do(func() { close(entered) })
			<-release
			w.WriteHeader(http.StatusGatewayTimeout)
		}
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	h.clock.Advance(metadataTTL + time.Minute)
	before := op.discoveryFetches.Load()

	refreshed := make(chan error, 1)
	go func() {
		_, err := h.rp.metadataFor(context.Background(), conn)
		refreshed <- err
	}()
	<-entered

	const others = 8
	var wg sync.WaitGroup
	errs := make(chan error, others)
	for range others {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := h.rp.metadataFor(context.Background(), conn)
			if err == nil && m.TokenURL == "" {
				t.Error("last good document without a token endpoint")
			}
			errs <- err
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("requests waited for the hung discovery refresh instead of using the last good copy")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("request during the refresh: %v, want the last good copy", err)
		}
	}
	if got := op.discoveryFetches.Load() - before; got != 1 {
		t.Fatalf("%d discovery fetches while one was in flight, want 1", got)
	}
	close(release)
	if err := <-refreshed; err != nil {
		t.Fatalf("refreshing request: %v, want the last good copy", err)
	}
}
