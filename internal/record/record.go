// Package record writes audit events for components whose result must not
// depend on the audit trail's health.
package record

import (
	"context"

	"github.com/ssokit/ssokit/sso"
)

// Quietly writes e through r (when non-nil) and reports nothing: an audit
// failure must not hide the result of the operation it describes, so the
// failure is logged through logf instead.
func Quietly(ctx context.Context, r sso.EventRecorder, e *sso.Event, logf func(ctx context.Context, msg string, args ...any)) {
	if r == nil {
		return
	}
	if err := r.Record(ctx, e); err != nil && logf != nil {
		logf(ctx, "sso: audit event not recorded", "type", e.Type, "err", err)
	}
}
