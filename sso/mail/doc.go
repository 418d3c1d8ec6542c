// Package mail sends the email that the lower sign-in tiers need (email
// verification, password reset). It defines the [Mailer] a host implements,
// and ships two: [SMTP], which delivers through an SMTP submission server
// with STARTTLS (net/smtp), and [DevMailer], which keeps messages in memory
// so a development page can show them.
//
//	m := &mail.SMTP{Addr: "smtp.example.com:587", From: "Acme <no-reply@acme.example>",
//		Username: "apikey", Password: os.Getenv("SMTP_PASSWORD")}
//	pw, err := password.New(password.Config{Mailer: m, ...})
//
// # Message
//
// [Message] is an alias of an unnamed struct type, so a package that sends
// mail (sso/password) declares the very same type without importing this
// one, and every Mailer here satisfies its interface.
//
// # Security
//
// SMTP refuses to send over a connection that did not upgrade to TLS, and
// refuses header values carrying line breaks (header injection). DevMailer
// must never be used in production: it shows secrets (reset links) to
// whoever can read its page.
package mail
