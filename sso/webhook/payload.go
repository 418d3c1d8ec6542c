package webhook

import (
	"encoding/json"
	"time"

	"github.com/ssokit/ssokit/internal/eventjson"
	"github.com/ssokit/ssokit/sso"
)

// EventData is the JSON form of an event in payloads: the "data" of a
// webhook message and one line of a SIEM stream. It is the audit trail's
// export form (sso/audit.Entry), hash chain included, so a SIEM can verify
// it.
type EventData = eventjson.Entry

// Message is the body of a webhook request, in the Standard Webhooks
// payload shape.
type Message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// dataOf returns the JSON form of e.
func dataOf(e *sso.Event) EventData { return eventjson.Of(e) }

// messageOf returns the webhook body of e.
func messageOf(e *sso.Event) ([]byte, error) {
	return json.Marshal(Message{Type: e.Type, Timestamp: e.Time.UTC(), Data: dataOf(e)})
}
