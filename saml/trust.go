package saml

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Pinned IdP certificates are trust anchors (SAML V2.0 Metadata
// Interoperability Profile, section 2.6.1): the key is what is trusted, and
// the certificate's validity dates are not enforced. Many IdPs keep signing
// with an expired self-signed certificate; such a login is accepted, with a
// warning in the connection's view, in its health report and in the log and
// audit trail when a login is verified with it. A connection that sets
// EnforceCertificateDates refuses it with ReasonCertificateExpired (or
// ReasonCertificateNotYetValid) instead.

// outOfDate reports whether cert is outside its validity period at the
// clock goxmldsig validates at.
func (c *responseCheck) outOfDate(cert *x509.Certificate) bool {
	return c.libClock.Before(cert.NotBefore) || c.libClock.After(cert.NotAfter)
}

// anyOutOfDate reports whether a trusted certificate is out of date: each
// is then verified on its own, at a clock inside its validity period.
func (c *responseCheck) anyOutOfDate() bool {
	for _, cert := range c.certs {
		if c.outOfDate(cert) {
			return true
		}
	}
	return false
}

// clockFor is the clock goxmldsig checks cert's dates at: libClock, or the
// nearest instant of cert's validity period when libClock is outside it.
// gosaml2 uses the same clock only for the SubjectConfirmationData
// NotOnOrAfter, which checkTimes checks again at the real time.
func (c *responseCheck) clockFor(cert *x509.Certificate) time.Time {
	switch {
	case c.libClock.After(cert.NotAfter):
		return cert.NotAfter
	case c.libClock.Before(cert.NotBefore):
		return cert.NotBefore
	}
	return c.libClock
}

// checkSignerDates applies the connection's date policy to the certificate
// that verified the response: refused under EnforceCertificateDates,
// otherwise remembered for the warning.
func (c *responseCheck) checkSignerDates() error {
	cert := c.signer
	if cert == nil || !c.outOfDate(cert) {
		return nil
	}
	if !c.cfg.EnforceCertificateDates {
		c.expiredSigner = cert
		return nil
	}
	cause := fmt.Errorf("saml: the IdP signed with the certificate %q (SHA-256 %s), valid from %s until %s; "+
		"upload the IdP's current signing certificate, or clear EnforceCertificateDates to trust the pinned key regardless of its dates",
		cert.Subject.String(), fingerprint(cert), cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	if c.libClock.After(cert.NotAfter) {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonCertificateExpired,
			Want: "a certificate valid at " + c.now.UTC().Format(time.RFC3339),
			Got:  "expired " + cert.NotAfter.UTC().Format(time.RFC3339), Err: cause}
	}
	return notYetValid(cert, c.now)
}

// notYetValid refuses a response signed with a certificate whose validity
// starts after now. Unlike an expired pinned key, it is refused whatever
// the policy: the response's own lifetime ends before the certificate's
// begins, which means the IdP's clock or certificate is wrong.
func notYetValid(cert *x509.Certificate, now time.Time) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: ReasonCertificateNotYetValid,
		Want: "a certificate valid at " + now.UTC().Format(time.RFC3339),
		Got:  "valid from " + cert.NotBefore.UTC().Format(time.RFC3339),
		Err: fmt.Errorf("saml: the IdP signed with the certificate %q (SHA-256 %s), not valid before %s: check the IdP's clock and signing certificate",
			cert.Subject.String(), fingerprint(cert), cert.NotBefore.UTC().Format(time.RFC3339))}
}

// errUntrustedKey is goxmldsig's message for a KeyInfo certificate that is
// none of the trusted ones.
const errUntrustedKey = "Could not verify certificate against trusted certs"

// errRank orders verification failures by how much they tell: a
// certificate that verified the signature but failed a later check beats a
// bad signature, which beats a certificate that is not trusted at all.
func errRank(err error) int {
	switch {
	case strings.Contains(err.Error(), errUntrustedKey):
		return 0
	case classify(err).Reason == ReasonSignatureInvalid:
		return 1
	}
	return 2
}

// diagnose turns a verification failure into its *sso.ValidationError: a
// response signed by a key that is not pinned names the pinned
// fingerprints and the one in the response's KeyInfo.
func (c *responseCheck) diagnose(err error) error {
	if !strings.Contains(err.Error(), errUntrustedKey) {
		ve := classify(err)
		if ve.Reason == ReasonSignatureInvalid && ve.Want == "" && !c.scan.sigWithoutCert {
			return ve
		}
		if ve.Reason == ReasonSignatureInvalid && ve.Want == "" {
			// No certificate in the response: name the keys tried.
			return &sso.ValidationError{Protocol: Protocol, Reason: ReasonSignatureInvalid,
				Want: "signed by " + c.pinnedFingerprints(), Got: "a signature none of them verifies", Err: err}
		}
		return ve
	}
	got := c.keyInfoFingerprint()
	cause := fmt.Errorf("saml: the response is signed with a certificate (SHA-256 %s) that is not among the connection's "+
		"certificates (SHA-256 %s): the IdP's signing certificate changed or another IdP answered; upload the IdP's current "+
		"signing certificate (or its metadata): %w", got, c.pinnedFingerprints(), err)
	return &sso.ValidationError{Protocol: Protocol, Reason: ReasonCertificateUntrusted,
		Want: c.pinnedFingerprints(), Got: got, Err: cause}
}

// pinnedFingerprints lists the trusted certificates' SHA-256 fingerprints.
func (c *responseCheck) pinnedFingerprints() string {
	fps := make([]string, 0, len(c.certs))
	for _, cert := range c.certs {
		fps = append(fps, fingerprint(cert))
	}
	return strings.Join(fps, " ")
}

// keyInfoFingerprint is the SHA-256 fingerprint of the first certificate
// in the response's signatures that is not trusted ("unknown" when none
// parses).
func (c *responseCheck) keyInfoFingerprint() string {
	pems := append([]string(nil), c.scan.keyInfoCerts...)
	if c.iscan != nil {
		pems = append(pems, c.iscan.keyInfoCerts...)
	}
	for _, p := range pems {
		der, err := decodeBase64Loose(p)
		if err != nil {
			continue
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		trusted := false
		for _, t := range c.certs {
			trusted = trusted || t.Equal(cert)
		}
		if !trusted {
			return fingerprint(cert)
		}
	}
	return "unknown"
}

// certWarnings are the admin-facing warnings about a connection's pinned
// certificates: each one outside its validity period, by subject,
// fingerprint and dates, and what it means under the connection's policy.
func certWarnings(cfg *ConnectionConfig, now time.Time) []string {
	certs, err := parseCertificates(cfg.Certificates)
	if err != nil {
		return nil
	}
	var out []string
	for _, cert := range certs {
		var state string
		switch {
		case now.After(cert.NotAfter):
			state = "expired on " + cert.NotAfter.UTC().Format(time.RFC3339)
		case now.Before(cert.NotBefore):
			state = "is not valid before " + cert.NotBefore.UTC().Format(time.RFC3339)
		default:
			continue
		}
		effect := "its key stays trusted (pinned keys are trust anchors whose dates are not enforced); ask the IdP to rotate to a current certificate"
		if cfg.EnforceCertificateDates {
			effect = "EnforceCertificateDates is set, so logins signed with it are refused"
		}
		out = append(out, fmt.Sprintf("IdP signing certificate %q (SHA-256 %s) %s: %s",
			cert.Subject.String(), fingerprint(cert), state, effect))
	}
	return out
}

// EventExpiredCertificateUsed is the audit event of a login verified with
// a pinned IdP certificate outside its validity period, at most once per
// connection and certificate a day (per SP instance).
const EventExpiredCertificateUsed = "connection.expired_certificate_used"

// expiredWarnEvery is the interval of the expired-certificate warning.
const expiredWarnEvery = 24 * time.Hour

// warnExpiredSigner logs, and records as an audit event when Config.Events
// is set, that conn's login was verified with the out-of-date cert, at
// most once per connection and certificate per expiredWarnEvery.
func (s *SP) warnExpiredSigner(ctx context.Context, conn *sso.Connection, cert *x509.Certificate) {
	now := s.now()
	key := conn.ID + "\x00" + fingerprint(cert)
	s.expiredMu.Lock()
	last, seen := s.expiredSeen[key]
	if seen && now.Sub(last) < expiredWarnEvery {
		s.expiredMu.Unlock()
		return
	}
	if len(s.expiredSeen) > 4096 {
		clear(s.expiredSeen)
	}
	s.expiredSeen[key] = now
	s.expiredMu.Unlock()
	details := map[string]string{
		"fingerprint": fingerprint(cert), "subject": cert.Subject.String(),
		"not_before": cert.NotBefore.UTC().Format(time.RFC3339), "not_after": cert.NotAfter.UTC().Format(time.RFC3339),
	}
	s.log.WarnContext(ctx, "saml: login verified with an IdP signing certificate outside its validity period; the pinned key is trusted, ask the IdP to rotate",
		slog.String("connection", conn.ID), slog.String("org", conn.OrgID), slog.String("subject", details["subject"]),
		slog.String("fingerprint", details["fingerprint"]), slog.String("not_after", details["not_after"]))
	if s.cfg.Events == nil {
		return
	}
	ev := &sso.Event{
		ID: opaque.NewID("evt_"), OrgID: conn.OrgID, Time: now, Type: EventExpiredCertificateUsed,
		Actor: sso.Actor{Type: sso.ActorSystem}, Target: sso.Target{Type: "connection", ID: conn.ID},
		Outcome: sso.OutcomeSuccess, Details: details,
	}
	if err := s.cfg.Events.AppendEvent(ctx, ev); err != nil {
		s.log.WarnContext(ctx, "saml: recording the expired-certificate event failed", slog.String("connection", conn.ID), slog.Any("error", err))
	}
}
