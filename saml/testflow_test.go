package saml_test

import (
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// TestTestLoginDiagnosis: a test login whose response fails before its
// InResponseTo is verified (wrong certificate, SHA-1) is reported as the
// test it is, with the fix; nothing else changes: the request stays
// outstanding, and only the browser that started the test gets it
// attributed.
func TestTestLoginDiagnosis(t *testing.T) {
	t.Parallel()
	t.Run("WrongCertificate", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		req := startWith(t, h, h.conn, sso.StartOptions{Test: true})
		id := req.SelectAttrValue("ID", "")
		f := h.fixtureFor(h.conn, id)
		f.key = idpKey2(t)
		h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonCertificateUntrusted)
		fail := h.rec.lastFailure()
		if !fail.Test || fail.Connection == nil || fail.Connection.ID != h.conn.ID || fail.Protocol != saml.Protocol {
			t.Fatalf("failure %+v, want a test failure of %s", fail, h.conn.ID)
		}
		var ve *sso.ValidationError
		if !errorsAs(fail.Err, &ve) || ve.Want != fingerprintOf(idpKey(t).cert) || ve.Got != fingerprintOf(idpKey2(t).cert) ||
			!strings.Contains(ve.Detail(), "upload the IdP's current signing certificate") {
			t.Fatalf("diagnosis %s", ve.Detail())
		}
		// The request was not consumed: the IdP's real answer completes
		// the test.
		l := h.expectAccepted(t, h.post(t, h.conn.ID, h.fixtureFor(h.conn, id).encoded(t), ""))
		if !l.Test {
			t.Fatal("the completed login is not a test")
		}
	})
	t.Run("AdminSentBackNotToErrorPage", func(t *testing.T) {
		t.Parallel()
		// With a return address (the portal's), the admin lands on the
		// result, not on the end-user error page.
		h := newHarness(t)
		const back = "/admin/portal/sso/tested"
		id := startWith(t, h, h.conn, sso.StartOptions{Test: true, ReturnTo: back}).SelectAttrValue("ID", "")
		f := h.fixtureFor(h.conn, id)
		f.key = idpKey2(t)
		resp := h.post(t, h.conn.ID, f.encoded(t), "")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != back {
			t.Fatalf("got %d to %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), back)
		}
		if fail := h.rec.lastFailure(); fail == nil || !fail.Test || sso.ReasonOf(fail.Err) != saml.ReasonCertificateUntrusted {
			t.Fatalf("failure %+v, want the test's certificate_untrusted", fail)
		}
	})
	t.Run("SHA1WithAdvice", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := startWith(t, h, h.conn, sso.StartOptions{Test: true}).SelectAttrValue("ID", "")
		f := h.fixtureFor(h.conn, id)
		f.sha1 = true
		h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonWeakAlgorithm)
		fail := h.rec.lastFailure()
		var ve *sso.ValidationError
		if !fail.Test || !errorsAs(fail.Err, &ve) || !strings.Contains(ve.Detail(), "AllowSHA1") {
			t.Fatalf("failure %+v: %s", fail, ve.Detail())
		}
	})
	t.Run("NotATest", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.expectRejected(t, h.login(t, h.conn, func(f *fixture) { f.key = idpKey2(t) }), saml.ReasonCertificateUntrusted)
		if h.rec.lastFailure().Test {
			t.Fatal("an ordinary login was reported as a test")
		}
	})
	t.Run("OtherBrowser", func(t *testing.T) {
		t.Parallel()
		// Another browser (without the request cookie) posting a forged
		// response for the admin's test request cannot write its
		// diagnosis.
		h := newHarness(t)
		id := startWith(t, h, h.conn, sso.StartOptions{Test: true}).SelectAttrValue("ID", "")
		f := h.fixtureFor(h.conn, id)
		f.key = otherKey(t)
		jar, _ := cookiejar.New(nil)
		other := &http.Client{Transport: h.client.Transport, Jar: jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		postWith(t, other, h.srv.URL+"/sso/saml/acs/"+h.conn.ID, f.encoded(t), "")
		if fail := h.rec.lastFailure(); fail == nil || fail.Test {
			t.Fatalf("failure %+v, want a non-test failure", fail)
		}
	})
	t.Run("OtherConnection", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		b := h.addConn(t, "conn_b", "org_b", func(c *saml.ConnectionConfig) {})
		id := startWith(t, h, h.conn, sso.StartOptions{Test: true}).SelectAttrValue("ID", "")
		f := h.fixtureFor(b, id)
		f.key = otherKey(t)
		h.post(t, b.ID, f.encoded(t), "")
		if fail := h.rec.lastFailure(); fail == nil || fail.Test || fail.Connection.ID != b.ID {
			t.Fatalf("failure %+v, want a non-test failure of conn_b", fail)
		}
	})
}
