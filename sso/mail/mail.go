package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Message is one email. It is an alias of an unnamed struct type, so other
// packages can declare the same type (see the package documentation).
type Message = struct {
	// To is the recipient's address ("jane@acme.example").
	To string
	// Subject is the subject line, plain UTF-8.
	Subject string
	// Text is the plain-text body.
	Text string
	// HTML, when not empty, is an alternative HTML body.
	HTML string
}

// Mailer sends email. Implementations must be safe for concurrent use and
// honour ctx for cancellation.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage reports a message that cannot be sent as given: no
// recipient, or a line break in a header value.
var ErrInvalidMessage = errors.New("mail: invalid message")

// check refuses messages whose header values could inject headers.
func check(m Message) error {
	switch {
	case strings.TrimSpace(m.To) == "":
		return fmt.Errorf("%w: no recipient", ErrInvalidMessage)
	case strings.ContainsAny(m.To, "\r\n,;<>"):
		return fmt.Errorf("%w: recipient must be one bare address", ErrInvalidMessage)
	case strings.ContainsAny(m.Subject, "\r\n"):
		return fmt.Errorf("%w: line break in subject", ErrInvalidMessage)
	}
	return nil
}
