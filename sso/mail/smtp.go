package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"
)

// ErrNoTLS reports an SMTP server that does not offer STARTTLS: SMTP never
// sends credentials or messages in the clear.
var ErrNoTLS = errors.New("mail: smtp server does not offer STARTTLS")

// SMTP sends mail through an SMTP submission server (usually port 587),
// upgrading every connection with STARTTLS before it authenticates or
// sends. It opens one connection per message. Set the fields before the
// first Send and do not change them afterwards; it is then safe for
// concurrent use.
type SMTP struct {
	// Addr is the server's host:port. Required.
	Addr string
	// From is the sender, an address with an optional display name
	// ("Acme <no-reply@acme.example>"). Required.
	From string
	// Username and Password authenticate with AUTH PLAIN after STARTTLS.
	// Empty Username means no authentication.
	Username string
	Password string
	// TLSConfig configures STARTTLS. Nil means the system roots and the
	// host of Addr as the server name; a given config is cloned and its
	// empty ServerName set to that host.
	TLSConfig *tls.Config
	// LocalName is the name sent in EHLO. Empty means "localhost".
	LocalName string
	// Timeout bounds one delivery when ctx has no earlier deadline. Zero
	// means 30 seconds.
	Timeout time.Duration
}

var _ Mailer = (*SMTP)(nil)

// Send implements Mailer: it delivers m over a new STARTTLS connection.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := check(m); err != nil {
		return err
	}
	from, err := netmail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("mail: smtp: From: %w", err)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("%w: recipient: %v", ErrInvalidMessage, err)
	}
	body, err := compose(from, to, m, time.Now())
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("mail: smtp: Addr: %w", err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("mail: smtp: dial: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	// Closing the connection when ctx ends unblocks a stalled exchange.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := s.deliver(conn, host, from.Address, to.Address, body); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: smtp: %w", ctx.Err())
		}
		return err
	}
	return nil
}

// deliver runs the SMTP exchange on conn.
func (s *SMTP) deliver(conn net.Conn, host, from, to string, body []byte) error {
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("mail: smtp: %w", err)
	}
	defer c.Close()
	name := s.LocalName
	if name == "" {
		name = "localhost"
	}
	if err := c.Hello(name); err != nil {
		return fmt.Errorf("mail: smtp: EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return ErrNoTLS
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if err := c.StartTLS(cfg); err != nil {
		return fmt.Errorf("mail: smtp: STARTTLS: %w", err)
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return fmt.Errorf("mail: smtp: AUTH: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail: smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("mail: smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: smtp: DATA: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("mail: smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: smtp: DATA: %w", err)
	}
	return c.Quit()
}

// compose renders m as an RFC 5322 message with CRLF line ends: a
// quoted-printable text body, or multipart/alternative with the HTML body.
func compose(from, to *netmail.Address, m Message, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	var id [16]byte
	_, _ = rand.Read(id[:])
	h := textproto.MIMEHeader{}
	h.Set("From", from.String())
	h.Set("To", to.String())
	h.Set("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h.Set("Date", now.UTC().Format(time.RFC1123Z))
	h.Set("Message-Id", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	h.Set("Mime-Version", "1.0")
	if m.HTML == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		writeHeader(&buf, h)
		if err := writeQP(&buf, m.Text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	for _, p := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		if err := writeQP(pw, p.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	h.Set("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	writeHeader(&buf, h)
	buf.Write(parts.Bytes())
	return buf.Bytes(), nil
}

func writeHeader(buf *bytes.Buffer, h textproto.MIMEHeader) {
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type", "Content-Transfer-Encoding"} {
		if v := h.Get(k); v != "" {
			buf.WriteString(k + ": " + v + "\r\n")
		}
	}
	buf.WriteString("\r\n")
}

func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}
