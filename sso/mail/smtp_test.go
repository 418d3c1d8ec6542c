package mail_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssokit/ssokit/sso/mail"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a pool
// that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// smtpServer is a minimal SMTP submission server. With offerTLS it
// advertises STARTTLS and refuses AUTH and MAIL before the upgrade.
type smtpServer struct {
	addr     string
	mu       sync.Mutex
	commands []string // as received, with "(tls)" once upgraded
	data     string
}

func startSMTP(t *testing.T, cert tls.Certificate, offerTLS bool) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpServer{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c, cert, offerTLS)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn, cert tls.Certificate, offerTLS bool) {
	defer c.Close()
	secure := false
	rw := bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c))
	say := func(l string) { rw.WriteString(l + "\r\n"); rw.Flush() }
	say("220 smtp.test ready")
	for {
		line, err := rw.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		s.mu.Lock()
		rec := verb
		if secure {
			rec += "(tls)"
		}
		s.commands = append(s.commands, rec)
		s.mu.Unlock()
		switch {
		case verb == "EHLO":
			if offerTLS && !secure {
				say("250-smtp.test\r\n250 STARTTLS")
			} else {
				say("250-smtp.test\r\n250 AUTH PLAIN")
			}
		case verb == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			c, secure = tc, true
			rw = bufio.NewReadWriter(bufio.NewReader(tc), bufio.NewWriter(tc))
		case !secure && (verb == "AUTH" || verb == "MAIL"):
			say("530 must issue STARTTLS first")
		case verb == "AUTH":
			say("235 ok")
		case verb == "MAIL", verb == "RCPT":
			say("250 ok")
		case verb == "DATA":
			say("354 end with .")
			var b strings.Builder
			for {
				l, err := rw.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.data = b.String()
			s.mu.Unlock()
			say("250 queued")
		case verb == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func TestSMTPSendsOverSTARTTLS(t *testing.T) {
	t.Parallel()
	cert, pool := testCert(t)
	srv := startSMTP(t, cert, true)
	m := &mail.SMTP{Addr: srv.addr, From: "Acme <no-reply@acme.example>", Username: "apikey", Password: "s3cret",
		TLSConfig: &tls.Config{RootCAs: pool}}
	err := m.Send(context.Background(), mail.Message{To: "jane@example.com", Subject: "Réinitialisation du mot de passe",
		Text: "Open https://app.acme.example/reset?token=abc=def to continue.\n", HTML: "<p>Open the link</p>"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	got := strings.Join(srv.commands, " ")
	if got != "EHLO STARTTLS EHLO(tls) AUTH(tls) MAIL(tls) RCPT(tls) DATA(tls) QUIT(tls)" {
		t.Errorf("exchange %q: want authentication and mail only after STARTTLS", got)
	}
	for _, want := range []string{"From: \"Acme\" <no-reply@acme.example>", "To: <jane@example.com>",
		"Subject: =?utf-8?q?R=C3=A9initialisation_du_mot_de_passe?=", "multipart/alternative",
		"token=3Dabc=3Ddef", "text/html"} {
		if !strings.Contains(srv.data, want) {
			t.Errorf("message lacks %q:\n%s", want, srv.data)
		}
	}
}

func TestSMTPRefusesServerWithoutTLS(t *testing.T) {
	t.Parallel()
	cert, _ := testCert(t)
	srv := startSMTP(t, cert, false)
	m := &mail.SMTP{Addr: srv.addr, From: "no-reply@acme.example", Username: "apikey", Password: "s3cret"}
	err := m.Send(context.Background(), mail.Message{To: "jane@example.com", Subject: "Hi", Text: "x"})
	if !errors.Is(err, mail.ErrNoTLS) {
		t.Fatalf("Send to a server without STARTTLS: got %v, want ErrNoTLS", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, c := range srv.commands {
		if c == "AUTH" || c == "MAIL" {
			t.Errorf("sent %s in the clear", c)
		}
	}
}

func TestSMTPRefusesUntrustedCertificate(t *testing.T) {
	t.Parallel()
	cert, _ := testCert(t)
	srv := startSMTP(t, cert, true)
	m := &mail.SMTP{Addr: srv.addr, From: "no-reply@acme.example", Username: "apikey", Password: "s3cret"}
	if err := m.Send(context.Background(), mail.Message{To: "jane@example.com", Subject: "Hi", Text: "x"}); err == nil {
		t.Fatal("Send trusted a self-signed certificate")
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	t.Parallel()
	var dev mail.DevMailer
	for _, m := range []mail.Message{
		{To: "jane@example.com\r\nBcc: all@example.com", Subject: "x"},
		{To: "jane@example.com, other@example.com", Subject: "x"},
		{To: "jane@example.com", Subject: "hi\r\nBcc: all@example.com"},
		{To: "", Subject: "x"},
	} {
		if err := dev.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("Send(%q, %q): got %v, want ErrInvalidMessage", m.To, m.Subject, err)
		}
		if err := (&mail.SMTP{Addr: "127.0.0.1:1", From: "a@b.example"}).Send(context.Background(), m); !errors.Is(err, mail.ErrInvalidMessage) {
			t.Errorf("SMTP.Send(%q, %q): got %v, want ErrInvalidMessage", m.To, m.Subject, err)
		}
	}
	if n := len(dev.Messages()); n != 0 {
		t.Errorf("kept %d refused messages", n)
	}
}
