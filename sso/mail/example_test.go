package mail_test

import (
	"context"
	"fmt"

	"github.com/ssokit/ssokit/sso/mail"
)

// A DevMailer keeps what it is given so a development page can show it.
func ExampleDevMailer() {
	var m mail.Mailer = &mail.DevMailer{}
	_ = m.Send(context.Background(), mail.Message{To: "jane@example.com", Subject: "Welcome", Text: "Hello Jane"})
	last, _ := m.(*mail.DevMailer).Last("jane@example.com")
	fmt.Println(last.Subject, "-", last.Text)
	// Output: Welcome - Hello Jane
}
