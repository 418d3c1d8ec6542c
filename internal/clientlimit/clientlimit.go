// Package clientlimit keeps a token bucket per client address with bounded
// memory, for the limits that components apply to requests before they know
// who is calling.
package clientlimit

import (
	"sync"

	"golang.org/x/time/rate"
)

// Buckets holds one rate.Limiter per client in two generations of at most
// max entries each: when the current generation fills, the older one is
// dropped (and its clients start afresh), so memory stays bounded whatever
// the number of addresses. A recently seen client keeps its bucket across a
// generation switch.
type Buckets struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	max       int
	cur, prev map[string]*rate.Limiter
}

// New returns Buckets of limit events per second with burst, remembering at
// most max clients per generation.
func New(limit rate.Limit, burst, max int) *Buckets {
	return &Buckets{limit: limit, burst: burst, max: max, cur: map[string]*rate.Limiter{}}
}

// Limit is the buckets' sustained rate.
func (b *Buckets) Limit() rate.Limit { return b.limit }

// Bucket returns client's bucket. With create false it returns nil for a
// client that has none.
func (b *Buckets) Bucket(client string, create bool) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.cur[client]; ok {
		return l
	}
	l, ok := b.prev[client]
	if !ok {
		if !create {
			return nil
		}
		l = rate.NewLimiter(b.limit, b.burst)
	}
	if len(b.cur) >= b.max {
		b.prev, b.cur = b.cur, make(map[string]*rate.Limiter, b.max)
	}
	b.cur[client] = l
	return l
}

// Allow takes one token from client's bucket, creating it on first use.
func (b *Buckets) Allow(client string) bool { return b.Bucket(client, true).Allow() }

// Size reports how many clients the buckets remember.
func (b *Buckets) Size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.cur) + len(b.prev)
}
