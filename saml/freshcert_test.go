package saml_test

import (
	"testing"
	"time"

	"github.com/ssokit/ssokit/saml"
)

// TestTS12_FreshlyRotatedCertificate: an IdP that rotated to a certificate
// minted seconds ago must still verify; the clock skew tolerance must not
// move signature validation to before the certificate existed. A
// certificate that is not valid yet at all is still refused.
func TestTS12_FreshlyRotatedCertificate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	fresh := certFor(t, idpKey(t).key, "fresh", baseTime.Add(-10*time.Second), baseTime.Add(365*24*time.Hour))
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.Certificates = []string{certPEM(fresh.cert)} })
	h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.key = fresh }))

	future := certFor(t, idpKey(t).key, "future", baseTime.Add(time.Hour), baseTime.Add(365*24*time.Hour))
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.Certificates = []string{certPEM(future.cert)} })
	resp := h.login(t, h.conn, func(f *fixture) { f.key = future })
	if resp.StatusCode < 400 {
		t.Fatalf("certificate not yet valid: status %d, want a rejection", resp.StatusCode)
	}
	if n, _ := h.rec.counts(); n != 1 {
		t.Fatalf("%d logins reached completion, want 1", n)
	}
}
