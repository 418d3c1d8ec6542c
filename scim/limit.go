package scim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ssokit/ssokit/internal/clientlimit"
	"golang.org/x/time/rate"
)

// Limiter decides whether an organization may make one more SCIM request.
type Limiter interface {
	// Allow reports whether the request may proceed and, when not, how long
	// the client should wait.
	Allow(ctx context.Context, orgID string) (ok bool, retryAfter time.Duration, err error)
}

// MemoryLimiter is an in-process token bucket per organization
// (golang.org/x/time/rate): perMinute requests per minute with a burst of
// perMinute. Each replica has its own budget; use NewStoreLimiter to share
// one.
type MemoryLimiter struct {
	mu        sync.Mutex
	perMinute int
	buckets   map[string]*rate.Limiter
	now       func() time.Time
}

// NewMemoryLimiter returns a MemoryLimiter allowing perMinute requests per
// minute per organization.
func NewMemoryLimiter(perMinute int) *MemoryLimiter {
	return &MemoryLimiter{perMinute: perMinute, buckets: map[string]*rate.Limiter{}, now: time.Now}
}

// maxBuckets bounds the limiter's memory; past it idle full buckets are
// dropped.
const maxBuckets = 100000

// Allow implements Limiter.
func (l *MemoryLimiter) Allow(_ context.Context, orgID string) (bool, time.Duration, error) {
	l.mu.Lock()
	b := l.buckets[orgID]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			for k, v := range l.buckets {
				if v.TokensAt(l.now()) >= float64(l.perMinute) {
					delete(l.buckets, k)
				}
			}
		}
		b = rate.NewLimiter(rate.Every(time.Minute/time.Duration(l.perMinute)), l.perMinute)
		l.buckets[orgID] = b
	}
	l.mu.Unlock()
	now := l.now()
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute, nil
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, nil
	}
	return true, 0, nil
}

// StoreLimiter counts requests per organization in fixed one-minute
// windows kept in a RateStore, so that every replica shares one budget.
type StoreLimiter struct {
	store     RateStore
	perMinute int
	now       func() time.Time
}

// NewStoreLimiter returns a StoreLimiter allowing perMinute requests per
// organization and minute. now may be nil (time.Now).
func NewStoreLimiter(st RateStore, perMinute int, now func() time.Time) (*StoreLimiter, error) {
	if st == nil || perMinute <= 0 {
		return nil, fmt.Errorf("scim: store limiter needs a store and a positive limit")
	}
	if now == nil {
		now = time.Now
	}
	return &StoreLimiter{store: st, perMinute: perMinute, now: now}, nil
}

// Allow implements Limiter.
func (l *StoreLimiter) Allow(ctx context.Context, orgID string) (bool, time.Duration, error) {
	now := l.now()
	win := now.Truncate(time.Minute)
	n, err := l.store.IncrementSCIMRate(ctx, "scim:"+orgID, win)
	if err != nil {
		return false, 0, err
	}
	if n > int64(l.perMinute) {
		return false, win.Add(time.Minute).Sub(now), nil
	}
	return true, 0, nil
}

// DefaultClientRateLimit is the default of Config.ClientRateLimit.
const DefaultClientRateLimit = 60

// maxClients bounds the client addresses clientLimiter remembers per
// generation.
const maxClients = 10000

// clientLimiter is an in-process token bucket per client address that is
// charged for every failed authentication, with bounded memory (see
// clientlimit.Buckets).
type clientLimiter struct {
	buckets *clientlimit.Buckets
	good    *goodTokens
	now     func() time.Time
}

func newClientLimiter(perMinute int, now func() time.Time) *clientLimiter {
	return &clientLimiter{buckets: clientlimit.New(rate.Every(time.Minute/time.Duration(perMinute)), perMinute, maxClients),
		good: newGoodTokens(), now: now}
}

// blocked reports whether the client has used up its failures and, when
// it has, how long until it may try again. A bearer token that
// authenticated recently is never blocked (see goodTokens).
func (l *clientLimiter) blocked(client, bearer string) (bool, time.Duration) {
	b := l.buckets.Bucket(client, false)
	if b == nil {
		return false, 0
	}
	if bearer != "" && l.good.known(bearer, l.now()) {
		return false, 0
	}
	tokens := b.TokensAt(l.now())
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / float64(l.buckets.Limit()) * float64(time.Second))
}

// failed charges one failed authentication, with bearer, to the client.
func (l *clientLimiter) failed(client, bearer string) {
	if bearer != "" {
		l.good.forget(bearer)
	}
	l.buckets.Bucket(client, true).AllowN(l.now(), 1)
}

// succeeded records that bearer authenticated.
func (l *clientLimiter) succeeded(bearer string) { l.good.add(bearer, l.now()) }
