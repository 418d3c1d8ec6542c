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

// SSORequiredError is the cause of a local sign-in refused because the
// organization enforces SSO (reason sso_required): the person must sign
// in through the organization's IdP, which URL starts. It wraps
// ErrSSORequired. The sign-in packages' JSON errors carry URL as
// "sso_login_url", so a page can send the person on.
type SSORequiredError struct {
	// OrgID is the organization that enforces SSO.
	OrgID string
	// URL is the relative URL that starts the organization's SSO.
	URL string
}

// Error says what happened.
func (e *SSORequiredError) Error() string {
	return "sso: the organization requires single sign-on with its identity provider"
}

// Unwrap returns ErrSSORequired.
func (e *SSORequiredError) Unwrap() error { return ErrSSORequired }
