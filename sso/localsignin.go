package sso

import "context"

// MailMessage is one email. It is an alias of an unnamed struct type, the
// same type as sso/mail's Message, so every sso/mail Mailer is a Mailer
// and the sign-in packages need not import sso/mail.
type MailMessage = struct {
	// To is the recipient's address ("jane@acme.example").
	To string
	// Subject is the subject line, plain UTF-8.
	Subject string
	// Text is the plain-text body.
	Text string
	// HTML, when not empty, is an alternative HTML body.
	HTML string
}

// Mailer sends the emails of the local sign-in methods (codes, links,
// verification, resets, invitations). sso/mail's SMTP and DevMailer
// implement it. Implementations must be safe for concurrent use and
// honour ctx for cancellation.
type Mailer interface {
	Send(ctx context.Context, m MailMessage) error
}

// LocalLoginPolicy decides whether a user may sign in to an organization
// without its IdP (a password, an email code or link, a passkey, a social
// account). sso/policy's Enforcer implements it: it returns an error
// wrapping ErrSSORequired when the organization enforces SSO and the user
// is not an active break-glass member.
type LocalLoginPolicy interface {
	LocalLoginAllowed(ctx context.Context, orgID, userID string) error
}
