package webhook

import (
	"encoding/json"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// EventData is the JSON form of an event in payloads: the "data" of a
// webhook message and one line of a SIEM stream. It has the fields of the
// audit trail's export, hash chain included, so a SIEM can verify it.
type EventData struct {
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

// Message is the body of a webhook request, in the Standard Webhooks
// payload shape.
type Message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// dataOf returns the JSON form of e.
func dataOf(e *sso.Event) EventData {
	return EventData{
		ID: e.ID, OrgID: e.OrgID, Seq: e.Seq, Time: e.Time.UTC(), Type: e.Type,
		ActorType: e.Actor.Type, ActorID: e.Actor.ID, Target: e.Target.Type, TargetID: e.Target.ID,
		Outcome: e.Outcome, Reason: e.Reason, IP: e.IP, UserAgent: e.UserAgent, Details: e.Details,
		PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

// messageOf returns the webhook body of e.
func messageOf(e *sso.Event) ([]byte, error) {
	return json.Marshal(Message{Type: e.Type, Timestamp: e.Time.UTC(), Data: dataOf(e)})
}
