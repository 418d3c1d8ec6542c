package mail_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/sso/mail"
)

func TestDevMailerKeepsAndShows(t *testing.T) {
	t.Parallel()
	d := &mail.DevMailer{Max: 3}
	for i := range 5 {
		if err := d.Send(context.Background(), mail.Message{To: fmt.Sprintf("u%d@example.com", i%2), Subject: fmt.Sprintf("n%d", i), Text: "<b>x</b>"}); err != nil {
			t.Fatal(err)
		}
	}
	msgs := d.Messages()
	if len(msgs) != 3 || msgs[0].Subject != "n2" || msgs[2].Subject != "n4" {
		t.Fatalf("kept %v, want the newest 3 in order", msgs)
	}
	if last, ok := d.Last("u1@example.com"); !ok || last.Subject != "n3" {
		t.Errorf("Last(u1) = %v, %v; want n3", last, ok)
	}
	w := httptest.NewRecorder()
	d.ServeHTTP(w, httptest.NewRequest("GET", "/dev/mail", nil))
	body := w.Body.String()
	if strings.Contains(body, "<b>x</b>") || !strings.Contains(body, "&lt;b&gt;x&lt;/b&gt;") {
		t.Errorf("the page does not escape message text: %s", body)
	}
	if strings.Index(body, "n4") > strings.Index(body, "n2") {
		t.Error("the page does not list the newest first")
	}
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Security-Policy") == "" {
		t.Errorf("headers: %v", w.Header())
	}
	d.Reset()
	if len(d.Messages()) != 0 {
		t.Error("Reset kept messages")
	}
}
