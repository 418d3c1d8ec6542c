package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
)

// Defaults of BusOptions.
const (
	DefaultBusChannel      = "ssokit:revocations"
	DefaultBusPingInterval = 10 * time.Second
)

// BusOptions configure a Bus.
type BusOptions struct {
	// Channel is the pub/sub channel; every replica of one deployment uses
	// the same. Zero means "ssokit:revocations".
	Channel string
	// PingInterval is how long a subscription may stay silent before it is
	// pinged, so that a connection that died silently is noticed within
	// about twice that. Zero means 10 seconds.
	PingInterval time.Duration
}

// Bus is a session.RevocationBus on Redis pub/sub: the session Managers of
// every replica hear each other's revocations (logout, deactivation,
// demotion) within a round trip. Pub/sub delivers at most once, so a
// replica whose subscription was down misses messages; the Manager drops
// its revocation cache each time it listens again and caches only briefly
// while it does not (session.Config.RevocationFallbackTTL).
//
// A Bus works with any RevocationStore (this package's Store, or a SQL
// one): it only announces subjects. Each Subscribe holds one connection of
// the client until it returns. Bus is safe for concurrent use.
//
//	bus, _ := redisstore.NewBus(rdb, redisstore.BusOptions{})
//	m, _ := session.New(session.Config{..., Revocations: rs, RevocationBus: bus})
//	go m.Run(ctx)
type Bus struct {
	rdb     redis.UniversalClient
	channel string
	ping    time.Duration
}

var _ session.RevocationBus = (*Bus)(nil)

// NewBus returns a Bus on rdb. It does not connect.
func NewBus(rdb redis.UniversalClient, opts BusOptions) (*Bus, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: redisstore: nil client", sso.ErrInvalidConfig)
	}
	if opts.PingInterval < 0 {
		return nil, fmt.Errorf("%w: redisstore: negative PingInterval", sso.ErrInvalidConfig)
	}
	b := &Bus{rdb: rdb, channel: opts.Channel, ping: opts.PingInterval}
	if b.channel == "" {
		b.channel = DefaultBusChannel
	}
	if b.ping == 0 {
		b.ping = DefaultBusPingInterval
	}
	return b, nil
}

// Channel returns the pub/sub channel.
func (b *Bus) Channel() string { return b.channel }

// Publish implements session.RevocationBus with one PUBLISH.
func (b *Bus) Publish(ctx context.Context, subject string) error {
	if err := b.rdb.Publish(ctx, b.channel, subject).Err(); err != nil {
		return fmt.Errorf("%w: redisstore: publish: %w", sso.ErrUnavailable, err)
	}
	return nil
}

// Subscribe implements session.RevocationBus. It returns on the first
// failure of the connection instead of letting go-redis resubscribe
// silently, so the Manager knows when it may have missed messages. Its
// failures wrap sso.ErrUnavailable.
func (b *Bus) Subscribe(ctx context.Context, fn func(subject string)) error {
	ps := b.rdb.Subscribe(ctx, b.channel)
	// Closing the subscription interrupts a pending receive when ctx ends.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer func() {
		stop()
		ps.Close()
	}()
	pinged, listening := false, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.ping)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if listening && !pinged && errors.As(err, &ne) && ne.Timeout() {
				if err := ps.Ping(ctx); err != nil {
					return b.fail(ctx, "ping", err)
				}
				pinged = true
				continue
			}
			return b.fail(ctx, "receive", err)
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" && m.Channel == b.channel {
				listening = true
				fn("")
			}
		case *redis.Message:
			if listening && m.Channel == b.channel {
				fn(m.Payload)
			}
		}
	}
}

func (b *Bus) fail(ctx context.Context, step string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: redisstore: subscribe: %s: %w", sso.ErrUnavailable, step, err)
}
