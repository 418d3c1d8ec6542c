// Package eventjson is the one JSON form of an audit event, shared by the
// audit trail's exports and the admin API (sso/audit) and by webhook and
// SIEM payloads (sso/webhook), so that a consumer reads the same fields
// wherever an event comes from.
package eventjson

import (
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Entry is the JSON form of an sso.Event, hash chain included, so that a
// reader can verify it.
type Entry struct {
	ID        string            `json:"id"`
	OrgID     string            `json:"org_id"`
	Seq       int64             `json:"seq"`
	Time      time.Time         `json:"time"`
	Type      string            `json:"type"`
	ActorType sso.ActorType     `json:"actor_type"`
	ActorID   string            `json:"actor_id,omitempty"`
	Target    string            `json:"target_type,omitempty"`
	TargetID  string            `json:"target_id,omitempty"`
	Outcome   string            `json:"outcome"`
	Reason    string            `json:"reason,omitempty"`
	IP        string            `json:"ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
	PrevHash  string            `json:"prev_hash"`
	Hash      string            `json:"hash"`
}

// Of returns the JSON form of e.
func Of(e *sso.Event) Entry {
	return Entry{
		ID: e.ID, OrgID: e.OrgID, Seq: e.Seq, Time: e.Time.UTC(), Type: e.Type,
		ActorType: e.Actor.Type, ActorID: e.Actor.ID, Target: e.Target.Type, TargetID: e.Target.ID,
		Outcome: e.Outcome, Reason: e.Reason, IP: e.IP, UserAgent: e.UserAgent, Details: e.Details,
		PrevHash: e.PrevHash, Hash: e.Hash,
	}
}
