package sso

import (
	"context"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
)

// AuditInfo is who is acting in a request, as the audit trail records it.
// Handlers put it in the context with WithAuditInfo; the components record it
// on every event they write.
type AuditInfo struct {
	Actor     Actor
	IP        string
	UserAgent string
}

type auditKey struct{}

// WithAuditInfo returns a copy of ctx carrying ai.
func WithAuditInfo(ctx context.Context, ai AuditInfo) context.Context {
	return context.WithValue(ctx, auditKey{}, ai)
}

// AuditInfoFrom returns the AuditInfo of ctx; the zero value when absent.
func AuditInfoFrom(ctx context.Context) AuditInfo {
	ai, _ := ctx.Value(auditKey{}).(AuditInfo)
	return ai
}

// EventRecorder appends events to the audit trail. Components take one so
// that every event they write gets the same defaults and chaining; the
// audit package's Trail implements it.
type EventRecorder interface {
	Record(ctx context.Context, e *Event) error
}

// FillDefaults sets the empty ID, Time, Outcome, Actor, IP and UserAgent
// of e: a new ID, now, OutcomeSuccess, and the AuditInfo of ctx (an event
// without an actor is the system's).
func (e *Event) FillDefaults(ctx context.Context, now time.Time) {
	ai := AuditInfoFrom(ctx)
	if e.ID == "" {
		e.ID = opaque.NewID("evt_")
	}
	if e.Time.IsZero() {
		e.Time = now.UTC()
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeSuccess
	}
	if e.Actor.Type == "" {
		e.Actor = ai.Actor
		if e.Actor.Type == "" {
			e.Actor.Type = ActorSystem
		}
	}
	if e.IP == "" {
		e.IP = ai.IP
	}
	if e.UserAgent == "" {
		e.UserAgent = ai.UserAgent
	}
}
