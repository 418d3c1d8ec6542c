package memstore

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ssokit/ssokit/session"
)

// Bus is an in-process session.RevocationBus: the session Managers of one
// process that share a Store (tests, a program running several Managers)
// hear each other's revocations. Its zero value is ready to use, and it is
// safe for concurrent use.
//
//	var bus memstore.Bus
//	m, _ := session.New(session.Config{Store: st, Revocations: st, RevocationBus: &bus, ...})
//	go m.Run(ctx)
type Bus struct {
	mu   sync.Mutex
	subs map[*busSub]struct{}
}

var _ session.RevocationBus = (*Bus)(nil)

// busQueue is how many subjects a subscriber may lag behind; past it the
// subscriber is told to drop everything (the empty subject) instead.
const busQueue = 1024

type busSub struct {
	ch   chan string
	lost atomic.Bool
}

// Publish implements session.RevocationBus. It never blocks: a subscriber
// too far behind loses the subject and hears the empty subject instead.
func (b *Bus) Publish(_ context.Context, subject string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.ch <- subject:
		default:
			s.lost.Store(true)
		}
	}
	return nil
}

// Subscribe implements session.RevocationBus. It fails only when ctx
// ends.
func (b *Bus) Subscribe(ctx context.Context, fn func(subject string)) error {
	s := &busSub{ch: make(chan string, busQueue)}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*busSub]struct{}{}
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	}()
	fn("")
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case subject := <-s.ch:
			if s.lost.Swap(false) {
				subject = ""
			}
			fn(subject)
		}
	}
}
