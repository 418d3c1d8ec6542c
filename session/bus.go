package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// RevocationBus carries revocations between the replicas that share a
// RevocationStore, so that the access tokens of a revoked user or session
// stop on every replica at once rather than when a cached revocation time
// expires. store/memstore (the Managers of one process),
// store/sqlstore/sqlnotify (PostgreSQL LISTEN/NOTIFY) and store/redisstore
// (Redis pub/sub) implement it.
//
// A message is only a subject ("user:<id>" or "session:<id>"): a replica
// that hears one forgets what it cached about the subject and reads the
// RevocationStore again, so a message carries no authority and a lost one
// costs only time. The empty subject stands for every subject.
//
// Implementations are safe for concurrent use.
type RevocationBus interface {
	// Publish sends subject to every subscriber of every replica, this one
	// included, and returns once it is sent. Delivery is at most once: a
	// subscriber that is not listening misses it.
	Publish(ctx context.Context, subject string) error
	// Subscribe listens until ctx ends or the channel fails, and then
	// returns ctx.Err() or the failure, never nil. Once it listens it calls
	// fn with the empty subject, so that the subscriber drops whatever it
	// cached while it was not listening; every subject published after that
	// call reaches fn. It calls fn from one goroutine at a time, in the
	// order received, and never after it returned. A bus that reconnects by
	// itself calls fn with the empty subject again each time it listens
	// again.
	Subscribe(ctx context.Context, fn func(subject string)) error
}

// DefaultRevocationFallbackTTL is RevocationCacheTTL while a configured
// RevocationBus is not listening.
const DefaultRevocationFallbackTTL = 5 * time.Second

// Backoff bounds of Run's resubscription after a failed channel.
const (
	busRetryMin = 100 * time.Millisecond
	busRetryMax = 5 * time.Second
)

// Run listens on Config.RevocationBus until ctx ends, then returns ctx's
// error. While it listens, a revocation that any replica records (logout,
// RevokeUser, SyncMembership, an ended session) reaches this Manager's
// access-token checks as soon as the message arrives. When the channel
// fails, Run subscribes again with backoff; until it listens again, and
// before Run first listens, cached revocation times live only
// Config.RevocationFallbackTTL. Each time it starts listening it drops the
// whole revocation cache, since messages may have been missed. Without a
// bus Run returns nil at once. A second Run of one Manager while the first
// runs returns an error.
func (m *Manager) Run(ctx context.Context) error {
	bus := m.cfg.RevocationBus
	if bus == nil {
		return nil
	}
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("session: Run is already running")
	}
	defer m.running.Store(false)
	wait, failures := busRetryMin, 0
	for {
		var listened atomic.Bool
		failed := failures
		err := bus.Subscribe(ctx, func(subject string) {
			if subject == "" {
				m.revCache.flush()
				m.revCache.live.Store(true)
				if !listened.Swap(true) && failed > 0 {
					m.log.InfoContext(ctx, "session: revocation channel listening again", "failed_attempts", failed)
				}
				return
			}
			m.heard(subject)
		})
		m.revCache.live.Store(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened.Load() {
			wait, failures = busRetryMin, 0
		}
		failures++
		if failures == 1 {
			m.log.WarnContext(ctx, "session: revocation channel down; cached revocations now expire within the fallback TTL",
				"fallback_ttl", m.revCache.fallback, "err", err)
		} else {
			m.log.DebugContext(ctx, "session: revocation channel still down", "attempt", failures, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, busRetryMax)
	}
}

// heard evicts the subject a replica published. A subject this version does
// not know drops the whole cache: forgetting too much only costs reads.
func (m *Manager) heard(subject string) {
	kind, id, ok := strings.Cut(subject, ":")
	if ok && id != "" {
		switch kind {
		case "user":
			m.revCache.forget(revKey{kind: revUser, id: id})
			return
		case "session":
			m.revCache.forget(revKey{kind: revSession, id: id})
			return
		}
	}
	m.revCache.flush()
}

// revoke records the revocation of subject at now, evicts it from this
// Manager's cache and tells the other replicas. A failed publication is
// logged and not returned: the revocation is stored, and the other replicas
// see it within their cache TTL.
func (m *Manager) revoke(ctx context.Context, k revKey, now time.Time) error {
	subject := k.String()
	err := m.cfg.Revocations.SetRevocation(ctx, subject, now, now.Add(MaxAccessTokenTTL))
	m.revCache.forget(k)
	if err != nil {
		return err
	}
	if bus := m.cfg.RevocationBus; bus != nil {
		// The revocation is stored whatever happens to the request now, so
		// its announcement must not die with a cancelled request either.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		err := bus.Publish(pctx, subject)
		cancel()
		if err != nil {
			m.log.WarnContext(ctx, "session: revocation not announced to other replicas; they see it within their cache TTL",
				"subject_kind", kindName(k.kind), "err", fmt.Errorf("session: publish revocation: %w", err))
		}
	}
	return nil
}

// publishTimeout bounds one announcement of a revocation.
const publishTimeout = 5 * time.Second

func kindName(kind uint8) string {
	if kind == revUser {
		return "user"
	}
	return "session"
}
