package meminvite

import (
	"context"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/invite"
)

// WithEvents implements invite.EventBinder: the writes of the returned
// view append evs to the memstore's events under the same lock as their
// change, and neither when either fails.
func (s *Store) WithEvents(evs ...*sso.Event) invite.Store {
	v := *s
	v.events = evs
	return &v
}

// writeLock takes the lock for a write and checks the view's events,
// releasing the lock when they would be refused.
func (s *Store) writeLock(ctx context.Context) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	if len(s.events) > 0 {
		if err := s.st.Core.CheckEvents(s.events); err != nil {
			s.unlock()
			return err
		}
	}
	return nil
}

// appendEvents appends the view's events once its write succeeded;
// writeLock checked them.
func (s *Store) appendEvents() {
	if len(s.events) > 0 {
		s.st.Core.AppendEvents(s.events)
	}
}
