package scim

import (
	"crypto/sha256"
	"sync"
	"time"
)

// goodTokenTTL is how long a bearer token that authenticated stays known
// to the client limiter without authenticating again.
const goodTokenTTL = time.Hour

// maxGoodTokens bounds the tokens goodTokens remembers per generation.
const maxGoodTokens = 10000

// goodTokens remembers, by hash, the bearer tokens that authenticated in
// this process within goodTokenTTL. A client address past its budget of
// failed authentications is refused before any token lookup, except for
// these: an IdP's provisioning service calls from a few shared addresses
// for all of its customers, so one organization's revoked token (or an
// attacker guessing tokens from the same cloud) must not stop the others'
// provisioning. A token listed here is still looked up and checked in
// full; the list only decides whether it is worth a lookup, so a guessed
// token never gets one. Memory is bounded by two generations of
// maxGoodTokens entries, as in clientlimit.Buckets.
type goodTokens struct {
	mu        sync.Mutex
	cur, prev map[[sha256.Size]byte]time.Time
}

func newGoodTokens() *goodTokens {
	return &goodTokens{cur: map[[sha256.Size]byte]time.Time{}}
}

// known reports whether bearer authenticated within goodTokenTTL of now.
func (g *goodTokens) known(bearer string, now time.Time) bool {
	k := sha256.Sum256([]byte(bearer))
	g.mu.Lock()
	defer g.mu.Unlock()
	at, ok := g.cur[k]
	if !ok {
		at, ok = g.prev[k]
	}
	return ok && now.Sub(at) < goodTokenTTL
}

// add records that bearer authenticated at now.
func (g *goodTokens) add(bearer string, now time.Time) {
	k := sha256.Sum256([]byte(bearer))
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.cur[k]; !ok && len(g.cur) >= maxGoodTokens {
		g.prev, g.cur = g.cur, make(map[[sha256.Size]byte]time.Time, maxGoodTokens)
	}
	g.cur[k] = now
}

// forget drops bearer, which failed to authenticate (it was revoked, or
// expired).
func (g *goodTokens) forget(bearer string) {
	k := sha256.Sum256([]byte(bearer))
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.cur, k)
	delete(g.prev, k)
}
