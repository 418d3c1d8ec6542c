package mail

import (
	"context"
	"html/template"
	"net/http"
	"sync"
	"time"
)

// Sent is a message a DevMailer kept, with when it was sent.
type Sent struct {
	Message
	At time.Time
}

// DevMailer keeps sent messages in memory, newest last, for development
// and tests. It implements Mailer and http.Handler (a page listing the
// messages, newest first). Never use it in production: its page shows
// every reset and verification link. The zero value is ready to use.
type DevMailer struct {
	// Max bounds the kept messages; older ones are dropped. Zero means 100.
	Max int
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	msgs []Sent
}

var _ Mailer = (*DevMailer)(nil)

// Send implements Mailer: it keeps m.
func (d *DevMailer) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := check(m); err != nil {
		return err
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	max := d.Max
	if max <= 0 {
		max = 100
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgs = append(d.msgs, Sent{Message: m, At: now()})
	if len(d.msgs) > max {
		d.msgs = append([]Sent(nil), d.msgs[len(d.msgs)-max:]...)
	}
	return nil
}

// Messages returns a copy of the kept messages, oldest first.
func (d *DevMailer) Messages() []Sent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Sent(nil), d.msgs...)
}

// Last returns the newest message sent to to, and false when there is none.
func (d *DevMailer) Last(to string) (Sent, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.msgs) - 1; i >= 0; i-- {
		if d.msgs[i].To == to {
			return d.msgs[i], true
		}
	}
	return Sent{}, false
}

// Reset forgets every kept message.
func (d *DevMailer) Reset() {
	d.mu.Lock()
	d.msgs = nil
	d.mu.Unlock()
}

var devPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Development mailbox</title></head><body>
<h1>Development mailbox</h1>
{{if not .}}<p>No messages yet.</p>{{end}}
{{range .}}<article><h2>{{.Subject}}</h2><p>To {{.To}} at {{.At.Format "2006-01-02 15:04:05 MST"}}</p><pre>{{.Text}}</pre></article><hr>
{{end}}</body></html>
`))

// ServeHTTP shows the kept messages, newest first, as an HTML page. Mount
// it only in development, behind the host's own access control.
func (d *DevMailer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	msgs := d.Messages()
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	_ = devPage.Execute(w, msgs)
}
