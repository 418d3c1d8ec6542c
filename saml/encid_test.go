package saml_test

import (
	"testing"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
)

// encryptNameID replaces the assertion's NameID with an EncryptedID of
// content (a serialised NameID) for the fixture's encryption key.
func encryptNameID(t testing.TB, f *fixture, content string) func(a *etree.Element) {
	return func(a *etree.Element) {
		subj := a.SelectElement("Subject")
		subj.RemoveChild(subj.SelectElement("NameID"))
		d := etree.NewDocument()
		if err := d.ReadFromString(content); err != nil {
			t.Fatal(err)
		}
		g := *f
		g.encrypt = "aes256-gcm"
		ea := g.encryptAssertion(t, d.Root())
		ea.Tag = "EncryptedID"
		subj.InsertChildAt(0, ea)
	}
}

const encNameID = `<saml:NameID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">enc-subject-42</saml:NameID>`

// TestEncryptedNameID: an EncryptedID is decrypted with the SP key, in a
// plain or an encrypted assertion, and never read unless verified.
func TestEncryptedNameID(t *testing.T) {
	t.Parallel()
	accept := func(t *testing.T, content string, edit func(f *fixture)) {
		h := newHarness(t)
		l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) {
			if edit != nil {
				edit(f)
			}
			f.mutate = encryptNameID(t, f, content)
		}))
		if l.Profile.Subject != "enc-subject-42" || l.Profile.NameIDFormat != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" {
			t.Fatalf("profile %+v", l.Profile)
		}
	}
	t.Run("SignedAssertion", func(t *testing.T) { t.Parallel(); accept(t, encNameID, nil) })
	t.Run("InEncryptedAssertion", func(t *testing.T) {
		t.Parallel()
		accept(t, encNameID, func(f *fixture) { f.encrypt = "aes128-cbc" })
	})
	t.Run("SignedResponseOnly", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowResponseSignatureOnly = true })
		l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) {
			f.signAssertion, f.signResponse = false, true
			f.mutate = encryptNameID(t, f, encNameID)
		}))
		if l.Profile.Subject != "enc-subject-42" {
			t.Fatalf("subject %q", l.Profile.Subject)
		}
	})
	t.Run("SignedResponseOnlyEncryptedAssertion", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowResponseSignatureOnly = true })
		l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) {
			f.signAssertion, f.signResponse, f.encrypt = false, true, "aes256-gcm"
			f.mutate = encryptNameID(t, f, encNameID)
		}))
		if l.Profile.Subject != "enc-subject-42" {
			t.Fatalf("subject %q", l.Profile.Subject)
		}
	})
	t.Run("PrefixDeclaredOutside", func(t *testing.T) {
		t.Parallel()
		// Encrypted as written inside the assertion, the prefix declared
		// on an ancestor.
		accept(t, `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">enc-subject-42</saml:NameID>`, nil)
	})
}

// TestEncryptedNameIDRefused: an EncryptedID that cannot be decrypted, or
// whose content is not a plain NameID, is refused as a decryption failure,
// never as a missing subject; a changed one breaks the signature.
func TestEncryptedNameIDRefused(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		content string
		edit    func(t *testing.T, f *fixture)
		reason  string
	}{
		"WrongSPKey": {encNameID, func(t *testing.T, f *fixture) { f.encKey = otherKey(t) }, saml.ReasonDecryptionFailed},
		"CommentInside": {`<saml:NameID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">admin@a.example<!---->.evil.example</saml:NameID>`,
			nil, saml.ReasonDecryptionFailed},
		"ForeignElement": {`<x:NameID xmlns:x="urn:example:other">enc-subject-42</x:NameID>`, nil, saml.ReasonDecryptionFailed},
		"RSA15ByDefault": {encNameID, func(t *testing.T, f *fixture) { f.rsa15 = true }, saml.ReasonWeakAlgorithm},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.expectRejected(t, h.login(t, h.conn, func(f *fixture) {
				if c.edit != nil {
					c.edit(t, f)
				}
				f.mutate = encryptNameID(t, f, c.content)
			}), c.reason)
		})
	}
	t.Run("ChangedAfterSigning", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.mutate = encryptNameID(t, f, encNameID)
		d := parseDoc(t, f.build(t))
		// Swap in an EncryptedID of another subject, validly encrypted to
		// the SP key.
		scratch := etree.NewElement("saml:Assertion")
		scratch.CreateElement("saml:Subject").CreateElement("saml:NameID")
		encryptNameID(t, h.fixtureFor(h.conn, id), `<saml:NameID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">admin</saml:NameID>`)(scratch)
		subj := d.Root().SelectElement("Assertion").SelectElement("Subject")
		subj.RemoveChild(subj.SelectElement("EncryptedID"))
		subj.InsertChildAt(0, scratch.SelectElement("Subject").SelectElement("EncryptedID"))
		h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, d), ""), saml.ReasonSignatureInvalid)
	})
}
