package scim

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Concurrent writes of one resource. A write is a read-modify-write whose
// store call is a compare-and-set on the resource version. A client that
// sent If-Match gets 412 when the version moved; one that did not is
// served by re-reading and re-applying its change, up to maxUpdateAttempts
// times with a short jittered backoff, and never gets 412. Within one
// Handler, writes of the same resource also queue on an in-process lock,
// so the compare-and-set only races writers on other replicas. Another
// replica draining a queue of writes to one user can win many rounds in a
// row on a loaded machine (8 attempts were seen to run out), so a writer
// tries 16 times, about half a second of backoff in all, before 503.
const (
	maxUpdateAttempts = 16
	minBackoff        = time.Millisecond
	maxBackoff        = 64 * time.Millisecond
)

// errBusy answers a write without If-Match that lost the compare-and-set
// maxUpdateAttempts times in a row: a transient condition, not a
// precondition failure, so the client retries.
var errBusy = &Error{Status: http.StatusServiceUnavailable, Detail: "the resource is being changed concurrently, retry", RetryAfter: time.Second}

// backoff waits before attempt (1-based) of a write retry: a random time
// below minBackoff doubled per attempt, capped at maxBackoff ("full
// jitter"), so that writers that collided spread out.
func backoff(ctx context.Context, attempt int) error {
	ceil := min(minBackoff<<min(attempt, 16), maxBackoff)
	t := time.NewTimer(rand.N(ceil) + time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// keyedLocks serialize work on one key (a user or group of one
// organization) within the process. The zero value is ready to use; a key
// takes memory only while it is held or awaited.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch      chan struct{} // holds a token while the key is locked
	waiters int           // holders and waiters; the entry goes at zero
}

// lock waits until key is free or ctx is done, and returns the function
// that frees it.
func (l *keyedLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*keyLock{}
	}
	k := l.m[key]
	if k == nil {
		k = &keyLock{ch: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.waiters++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		k.waiters--
		if k.waiters == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	select {
	case k.ch <- struct{}{}:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-k.ch
			release()
		})
	}, nil
}

func userKey(orgID, id string) string  { return "u\x00" + orgID + "\x00" + id }
func groupKey(orgID, id string) string { return "g\x00" + orgID + "\x00" + id }
