package record

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Binder is the optional store capability that audit.EventBinder and
// webhook.EventBinder document, for a store whose view type is T:
// WithEvents returns a view of the store whose write appends evs in the
// same transaction. It is declared here too because the services that use
// it do not import each other.
type Binder[T any] interface {
	WithEvents(evs ...*sso.Event) T
}

// Change writes a change and the events describing it. When st is a
// Binder[T] (and r is non-nil, so events are recorded at all) fn runs on
// the bound view, so the change and its events are stored together or not
// at all. Otherwise fn runs on st and, once it succeeded, each event is
// recorded through r with Quietly: a crash between the two loses the
// events, which is the fallback of a host store without the capability.
//
// S is the store type the caller holds and T the view type the store's
// WithEvents returns (an S, or an interface that includes S). The events'
// defaults are filled from ctx and now before the bound write, as
// sso.EventRecorder implementations fill them.
func Change[S, T any](ctx context.Context, st S, r sso.EventRecorder, now time.Time, evs []*sso.Event,
	logf func(ctx context.Context, msg string, args ...any), fn func(S) error) error {
	if len(evs) > 0 && r != nil {
		if b, ok := any(st).(Binder[T]); ok {
			for _, e := range evs {
				e.FillDefaults(ctx, now)
				if err := e.Validate(); err != nil {
					return err
				}
			}
			if bound, ok := any(b.WithEvents(evs...)).(S); ok {
				return fn(bound)
			}
		}
	}
	if err := fn(st); err != nil {
		return err
	}
	for _, e := range evs {
		Quietly(ctx, r, e, logf)
	}
	return nil
}
