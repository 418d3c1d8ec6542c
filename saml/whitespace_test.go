package saml_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
)

// wrapBase64 writes a base64 value as Google Workspace and .NET IdPs do:
// on lines of 64 characters, each indented, with tabs and spaces. XML
// Schema's base64Binary allows it.
func wrapBase64(v string) string {
	v = strings.Join(strings.Fields(v), "")
	var b strings.Builder
	for len(v) > 0 {
		n := min(64, len(v))
		b.WriteString("\n\t    " + v[:n])
		v = v[n:]
	}
	return b.String() + "\n  "
}

var base64ElementRe = regexp.MustCompile(`(<(?:\w+:)?(SignatureValue|CipherValue|X509Certificate)(?:\s[^>]*)?>)([^<]+)(</)`)

// wrapAll wraps every SignatureValue, CipherValue and X509Certificate of
// doc (which must then be signed by nothing that covers them) and reports
// how many it wrapped.
func wrapAll(doc []byte) ([]byte, int) {
	n := 0
	out := base64ElementRe.ReplaceAllFunc(doc, func(m []byte) []byte {
		n++
		sm := base64ElementRe.FindSubmatch(m)
		return []byte(string(sm[1]) + wrapBase64(string(sm[3])) + string(sm[4]))
	})
	return out, n
}

// wrapSignatureValue wraps the SignatureValue of el's own Signature in
// place.
func wrapSignatureValue(el *etree.Element) {
	sv := el.SelectElement("Signature").SelectElement("SignatureValue")
	sv.SetText(wrapBase64(sv.Text()))
}

// TestBase64Whitespace: base64Binary values written with spaces, tabs and
// line breaks verify, wherever they are; the root signature still covers
// everything it covered.
func TestBase64Whitespace(t *testing.T) {
	t.Parallel()
	t.Run("AssertionSignatureValue", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		doc, n := wrapAll(h.fixtureFor(h.conn, id).build(t))
		if n != 2 {
			t.Fatalf("wrapped %d values, want 2", n)
		}
		h.expectAccepted(t, h.post(t, h.conn.ID, b64(doc), ""))
	})
	t.Run("ResponseAndAssertionSigned", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.signResponse = true
		// The Assertion's SignatureValue is wrapped before the Response is
		// signed: the Response signature covers the wrapped text.
		f.mutateResp = func(r *etree.Element) { wrapSignatureValue(r.SelectElement("Assertion")) }
		doc := f.build(t)
		d := parseDoc(t, doc)
		wrapSignatureValue(d.Root())
		h.expectAccepted(t, h.post(t, h.conn.ID, encodeDoc(t, d), ""))
	})
	t.Run("EncryptedAssertion", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.RequireEncryptedAssertions = true })
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.encrypt = "aes256-gcm"
		doc, n := wrapAll(f.build(t))
		if n != 2 {
			t.Fatalf("wrapped %d values, want 2", n)
		}
		l := h.expectAccepted(t, h.post(t, h.conn.ID, b64(doc), ""))
		if l.Profile.Subject != "alice@example.com" {
			t.Fatalf("subject %q", l.Profile.Subject)
		}
	})
	t.Run("SignedResponseWrappedCipherValue", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.encrypt, f.signResponse = "aes256-gcm", true
		f.mutateResp = func(r *etree.Element) {
			for _, cv := range r.FindElements(".//CipherValue") {
				cv.SetText(wrapBase64(cv.Text()))
			}
		}
		h.expectAccepted(t, h.post(t, h.conn.ID, f.encoded(t), ""))
	})
}

// TestBase64WhitespaceKeepsSignatures: cleaning a value covered by the
// Response signature does not weaken it: the Response is verified as
// received, and a change anywhere is still refused.
func TestBase64WhitespaceKeepsSignatures(t *testing.T) {
	t.Parallel()
	build := func(t *testing.T, h *harness) *etree.Document {
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.signResponse = true
		f.mutateResp = func(r *etree.Element) { wrapSignatureValue(r.SelectElement("Assertion")) }
		return parseDoc(t, f.build(t))
	}
	t.Run("ResponseDestinationChanged", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		d := build(t, h)
		d.Root().SelectElement("Status").SelectElement("StatusCode").CreateAttr("Foo", "bar")
		h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, d), ""), saml.ReasonSignatureInvalid)
	})
	t.Run("AssertionSignatureValueRewrapped", func(t *testing.T) {
		t.Parallel()
		// Whitespace inside a covered value is content of the Response
		// signature: changing it after signing is refused.
		h := newHarness(t)
		d := build(t, h)
		sv := d.Root().SelectElement("Assertion").SelectElement("Signature").SelectElement("SignatureValue")
		sv.SetText(strings.ReplaceAll(sv.Text(), "\t", "  "))
		h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, d), ""), saml.ReasonSignatureInvalid)
	})
	t.Run("AssertionSignatureValueForged", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.signResponse = true
		f.mutateResp = func(r *etree.Element) {
			sv := r.SelectElement("Assertion").SelectElement("Signature").SelectElement("SignatureValue")
			v := strings.Join(strings.Fields(sv.Text()), "")
			// Flip one character of the Assertion's signature, then wrap.
			c := "A"
			if v[10] == 'A' {
				c = "B"
			}
			sv.SetText(wrapBase64(v[:10] + c + v[11:]))
		}
		h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonSignatureInvalid)
	})
	t.Run("NameIDChanged", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		d := build(t, h)
		setNameID(d.Root().SelectElement("Assertion"), "mallory@example.com")
		h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, d), ""), saml.ReasonSignatureInvalid)
		if n, _ := h.rec.counts(); n != 0 {
			t.Fatal("a changed assertion logged in")
		}
	})
}

// TestCertificateWhitespace: certificates indented or wrapped with spaces
// are accepted in metadata and in the certificate list.
func TestCertificateWhitespace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := &sso.Connection{ID: "c_ws", OrgID: "org_a"}
	if _, err := h.sp.Configure(context.Background(), c, &saml.ConnectionInput{
		MetadataXML: idpMetadata("https://idp.example.com/sso", wrapBase64(certB64(idpKey(t))))}); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	indented := "    " + strings.ReplaceAll(strings.TrimSpace(certPEM(idpKey(t).cert)), "\n", "\n    ") + "\n"
	for name, cert := range map[string]string{"IndentedPEM": indented, "WrappedBase64": wrapBase64(certB64(idpKey(t)))} {
		c := &sso.Connection{ID: "c_ws", OrgID: "org_a"}
		if _, err := h.sp.Configure(context.Background(), c, &saml.ConnectionInput{IdPEntityID: testIdP,
			SSOURL: "https://idp.example.com/sso", Certificates: []string{cert}}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := len(saml.ConfigOf(c).Certificates); got != 1 {
			t.Fatalf("%s: %d certificates", name, got)
		}
	}
}

// TestBase64WhitespaceResponseOnlyLimit documents the one case left: a
// value with whitespace under the Response signature of an assertion that
// is not signed itself cannot be cleaned without breaking that signature,
// and is refused (never accepted unverified).
func TestBase64WhitespaceResponseOnlyLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowResponseSignatureOnly = true })
	id := h.startLogin(t, h.conn.ID)
	f := h.fixtureFor(h.conn, id)
	f.encrypt, f.signAssertion, f.signResponse = "aes256-gcm", false, true
	f.mutateResp = func(r *etree.Element) {
		for _, cv := range r.FindElements(".//CipherValue") {
			cv.SetText(wrapBase64(cv.Text()))
		}
	}
	h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonSignatureMissing)
}
