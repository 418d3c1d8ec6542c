package saml_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
)

// Attack variants beyond the T-S catalogue: namespace and prefix games,
// ID attribute variants, odd-but-legal element content, condition and
// subject-confirmation edge cases, and time formats. Every rejection asserts
// the stable reason and that no profile reached the completion flow.

// reprefix renames the namespace prefix from to to on el and its
// descendants, including the xmlns declaration.
func reprefix(el *etree.Element, from, to string) {
	if el.Space == from {
		el.Space = to
	}
	for i := range el.Attr {
		a := &el.Attr[i]
		if a.Space == "xmlns" && a.Key == from {
			a.Key = to
		}
	}
	for _, c := range el.ChildElements() {
		reprefix(c, from, to)
	}
}

// toDefaultNS moves el's subtree from prefix to the default namespace ns.
func toDefaultNS(el *etree.Element, prefix, ns string) {
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		if e.Space == prefix {
			e.Space = ""
		}
		e.RemoveAttr("xmlns:" + prefix)
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(el)
	el.CreateAttr("xmlns", ns)
}

// attrSpec is one SAML Attribute for vendor-shaped fixtures.
type attrSpec struct {
	name, friendly string
	values         []string
}

// setAttributes replaces the AttributeStatement of an assertion (nil or
// empty specs remove it).
func setAttributes(a *etree.Element, specs []attrSpec) {
	if st := a.SelectElement("AttributeStatement"); st != nil {
		a.RemoveChild(st)
	}
	if len(specs) == 0 {
		return
	}
	st := a.CreateElement("saml:AttributeStatement")
	for _, sp := range specs {
		at := st.CreateElement("saml:Attribute")
		at.CreateAttr("Name", sp.name)
		if sp.friendly != "" {
			at.CreateAttr("FriendlyName", sp.friendly)
		}
		at.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
		for _, v := range sp.values {
			av := at.CreateElement("saml:AttributeValue")
			av.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
			av.CreateAttr("xsi:type", "xs:string")
			av.SetText(v)
		}
	}
}

// rejectCase runs one rejected login on a fresh harness.
func rejectCase(t *testing.T, reason string, conf func(c *saml.ConnectionConfig), edit func(f *fixture)) {
	t.Helper()
	h := newHarness(t)
	if conf != nil {
		h.updateConn(t, h.conn, conf)
	}
	h.expectRejected(t, h.login(t, h.conn, edit), reason)
}

// acceptCase runs one accepted login on a fresh harness.
func acceptCase(t *testing.T, conf func(c *saml.ConnectionConfig), edit func(f *fixture)) *sso.Login {
	t.Helper()
	h := newHarness(t)
	if conf != nil {
		h.updateConn(t, h.conn, conf)
	}
	return h.expectAccepted(t, h.login(t, h.conn, edit))
}

func TestXSWNamespaceVariants(t *testing.T) {
	t.Parallel()
	evilCopy := func(doc *etree.Document) *etree.Element {
		evil := assertionOf(doc).Copy()
		stripSignature(evil)
		evil.SelectAttr("ID").Value = "_evil"
		setNameID(evil, "victim@tenantb.example")
		return evil
	}
	cases := []struct {
		name, reason string
		mutate       func(doc *etree.Document)
	}{
		{"Saml2PrefixBefore", saml.ReasonAssertionCount, func(doc *etree.Document) {
			evil := evilCopy(doc)
			reprefix(evil, "saml", "saml2")
			evil.CreateAttr("xmlns:saml2", nsAssertion)
			doc.Root().InsertChildAt(assertionOf(doc).Index(), evil)
		}},
		{"DefaultNamespaceAfter", saml.ReasonAssertionCount, func(doc *etree.Document) {
			evil := evilCopy(doc)
			toDefaultNS(evil, "saml", nsAssertion)
			doc.Root().AddChild(evil)
		}},
		{"SAML11NamespaceBefore", saml.ReasonForeignNamespace, func(doc *etree.Document) {
			evil := evilCopy(doc)
			evil.RemoveAttr("xmlns:saml")
			reprefix(evil, "saml", "s1")
			evil.CreateAttr("xmlns:s1", "urn:oasis:names:tc:SAML:1.0:assertion")
			doc.Root().InsertChildAt(assertionOf(doc).Index(), evil)
		}},
		{"ForeignNamespaceEncryptedAssertion", saml.ReasonForeignNamespace, func(doc *etree.Document) {
			ea := doc.Root().CreateElement("x:EncryptedAssertion")
			ea.CreateAttr("xmlns:x", "urn:evil")
		}},
		{"InsideSubjectConfirmationData", saml.ReasonWrapping, func(doc *etree.Document) {
			findEl(assertionOf(doc), "SubjectConfirmationData").AddChild(evilCopy(doc))
		}},
		{"InsideStatusDetail", saml.ReasonWrapping, func(doc *etree.Document) {
			sd := doc.Root().SelectElement("Status").CreateElement("samlp:StatusDetail")
			sd.AddChild(evilCopy(doc))
		}},
		{"InsideExtensionsSaml2Prefix", saml.ReasonWrapping, func(doc *etree.Document) {
			evil := evilCopy(doc)
			reprefix(evil, "saml", "saml2")
			evil.CreateAttr("xmlns:saml2", nsAssertion)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(evil)
			doc.Root().InsertChildAt(assertionOf(doc).Index(), ext)
		}},
		{"OriginalReprefixedAfterSigning", saml.ReasonSignatureInvalid, func(doc *etree.Document) {
			// Exclusive c14n keeps prefixes: renaming them breaks the digest.
			a := assertionOf(doc)
			reprefix(a, "saml", "saml2")
			a.CreateAttr("xmlns:saml2", nsAssertion)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runXSW(t, false, c.reason, c.mutate) })
	}
}

func TestResponseOnlySignatureWrapped(t *testing.T) {
	t.Parallel()
	optIn := func(c *saml.ConnectionConfig) { c.AllowResponseSignatureOnly = true }
	cases := []struct {
		name, reason string
		conf         func(c *saml.ConnectionConfig)
		mutate       func(doc *etree.Document)
	}{
		{"NoOptIn", saml.ReasonSignatureMissing, nil, func(*etree.Document) {}},
		{"SecondUnsignedAssertion", saml.ReasonAssertionCount, optIn, func(doc *etree.Document) {
			evil := assertionOf(doc).Copy()
			evil.SelectAttr("ID").Value = "_evil"
			setNameID(evil, "victim@tenantb.example")
			doc.Root().AddChild(evil)
		}},
		{"NameIDEditedAfterSigning", saml.ReasonSignatureInvalid, optIn, func(doc *etree.Document) {
			setNameID(assertionOf(doc), "victim@tenantb.example")
		}},
		{"ResponseSignatureMovedIntoAssertion", saml.ReasonSignatureMissing, optIn, func(doc *etree.Document) {
			sig := doc.Root().SelectElement("Signature")
			doc.Root().RemoveChild(sig)
			assertionOf(doc).AddChild(sig)
			// The moved signature references the Response ID, not the
			// Assertion's: the scan sees it as misplaced.
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			if c.conf != nil {
				h.updateConn(t, h.conn, c.conf)
			}
			doc := h.signedDoc(t, true, false)
			c.mutate(doc)
			reason := c.reason
			if c.name == "ResponseSignatureMovedIntoAssertion" {
				reason = saml.ReasonWrapping
			}
			h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, doc), ""), reason)
		})
	}
}

func TestIDAttributeVariants(t *testing.T) {
	t.Parallel()
	rename := func(to string) func(doc *etree.Document) {
		return func(doc *etree.Document) {
			a := assertionOf(doc)
			v := a.SelectAttrValue("ID", "")
			a.RemoveAttr("ID")
			a.CreateAttr(to, v)
		}
	}
	cases := []struct {
		name, reason string
		mutate       func(doc *etree.Document)
	}{
		{"IdMixedCase", saml.ReasonWrapping, rename("Id")},
		{"IdLowerCase", saml.ReasonWrapping, rename("id")},
		{"PrefixedID", saml.ReasonWrapping, func(doc *etree.Document) {
			a := assertionOf(doc)
			a.CreateAttr("xmlns:x", "urn:x")
			a.CreateAttr("x:ID", "_evil")
		}},
		{"ExtraIdNextToID", saml.ReasonSignatureInvalid, func(doc *etree.Document) {
			assertionOf(doc).CreateAttr("Id", "_evil")
		}},
		{"SameIDOnResponse", saml.ReasonDuplicateID, func(doc *etree.Document) {
			doc.Root().SelectAttr("ID").Value = assertionOf(doc).SelectAttrValue("ID", "")
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runXSW(t, false, c.reason, c.mutate) })
	}
}

func TestNamespaceRedefinition(t *testing.T) {
	t.Parallel()
	t.Run("Saml2PrefixSigned", func(t *testing.T) {
		t.Parallel()
		l := acceptCase(t, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { reprefix(a, "saml", "saml2") }
		})
		if l.Profile.Subject != "alice@example.com" {
			t.Fatalf("subject %q", l.Profile.Subject)
		}
	})
	t.Run("DefaultNamespaceSigned", func(t *testing.T) {
		t.Parallel()
		// ADFS and Entra ID write the Assertion in the default namespace.
		l := acceptCase(t, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { toDefaultNS(a, "saml", nsAssertion) }
		})
		if l.Profile.Email != "alice@example.com" || len(l.Profile.Groups) != 2 {
			t.Fatalf("profile %+v", l.Profile)
		}
	})
	t.Run("NameIDPrefixRedefinedAfterSigning", func(t *testing.T) {
		runXSW(t, false, saml.ReasonForeignNamespace, func(doc *etree.Document) {
			findEl(assertionOf(doc), "NameID").CreateAttr("xmlns:saml", "urn:evil")
		})
	})
	t.Run("NameIDPrefixRedefinedBeforeSigning", func(t *testing.T) {
		t.Parallel()
		// Even an IdP-signed foreign NameID is refused (namespace-blind
		// readers would take it for the subject).
		rejectCase(t, saml.ReasonForeignNamespace, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { findEl(a, "NameID").CreateAttr("xmlns:saml", "urn:evil") }
		})
	})
	t.Run("ResponsePrefixRedefined", func(t *testing.T) {
		// The Response's own saml prefix is pointed elsewhere: its Issuer
		// leaves the SAML namespace; the assertion (own declaration) is
		// unaffected. gosaml2 refuses the foreign Issuer.
		h := newHarness(t)
		doc := h.signedDoc(t, false, true)
		doc.Root().SelectAttr("xmlns:saml").Value = "urn:evil"
		h.expectRejected(t, h.post(t, h.conn.ID, encodeDoc(t, doc), ""), saml.ReasonSignatureInvalid)
	})
	t.Run("XMLBaseAfterSigning", func(t *testing.T) {
		runXSW(t, false, saml.ReasonSignatureInvalid, func(doc *etree.Document) {
			assertionOf(doc).CreateAttr("xml:base", "https://evil.example/")
		})
	})
}

func TestNameIDContent(t *testing.T) {
	t.Parallel()
	t.Run("NestedElement", func(t *testing.T) {
		t.Parallel()
		// encoding/xml would read "admin@evil.example" (direct text only),
		// another reader "admin": refused outright.
		rejectCase(t, saml.ReasonMalformed, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				n := findEl(a, "NameID")
				n.SetText("admin")
				n.CreateElement("saml:x").SetText("ignored")
				n.CreateText("@evil.example")
			}
		})
	})
	t.Run("NestedElementInIssuer", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonMalformed, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { a.SelectElement("Issuer").CreateElement("saml:x") }
		})
	})
	t.Run("NestedElementInAudience", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonMalformed, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { findEl(a, "Audience").CreateElement("saml:x") }
		})
	})
	t.Run("CDATAAfterSigning", func(t *testing.T) {
		t.Parallel()
		// Canonical XML replaces CDATA sections by their text, so an IdP
		// that writes the NameID as CDATA still verifies, with the same value.
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.attrs = map[string][]string{}
		b := f.build(t)
		b = bytes.Replace(b, []byte(">alice@example.com<"), []byte("><![CDATA[alice@example.com]]><"), 1)
		if !bytes.Contains(b, []byte("CDATA")) {
			t.Fatal("fixture not rewritten")
		}
		l := h.expectAccepted(t, h.post(t, h.conn.ID, b64(b), ""))
		if l.Profile.Subject != "alice@example.com" || l.Profile.Email != "alice@example.com" {
			t.Fatalf("profile %+v", l.Profile)
		}
	})
	t.Run("CDATAChangesText", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		b := h.fixtureFor(h.conn, id).build(t)
		b = bytes.Replace(b, []byte(">alice@example.com<"), []byte("><![CDATA[admin@example.com]]><"), 1)
		h.expectRejected(t, h.post(t, h.conn.ID, b64(b), ""), saml.ReasonSignatureInvalid)
	})
	t.Run("CharacterReferencesAfterSigning", func(t *testing.T) {
		t.Parallel()
		// Character references are resolved before canonicalization: the
		// signature still verifies and the consumed value is the signed
		// one, not a different string.
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		f.attrs = map[string][]string{"groups": {"eng,ops"}}
		b := f.build(t)
		b = bytes.Replace(b, []byte(">alice@example.com<"), []byte(">alice&#x40;example&#46;com<"), 1)
		b = bytes.Replace(b, []byte(">eng,ops<"), []byte(">eng&#x2C;ops<"), 1)
		if !bytes.Contains(b, []byte("&#x40;")) || !bytes.Contains(b, []byte("&#x2C;")) {
			t.Fatal("fixture not rewritten")
		}
		l := h.expectAccepted(t, h.post(t, h.conn.ID, b64(b), ""))
		if l.Profile.Subject != "alice@example.com" || len(l.Profile.Groups) != 1 || l.Profile.Groups[0] != "eng,ops" {
			t.Fatalf("profile %+v", l.Profile)
		}
	})
	t.Run("CharacterReferenceChangesText", func(t *testing.T) {
		t.Parallel()
		// A reference that decodes to a different character changes the
		// canonical text: the digest no longer matches.
		h := newHarness(t)
		id := h.startLogin(t, h.conn.ID)
		b := h.fixtureFor(h.conn, id).build(t)
		b = bytes.Replace(b, []byte(">alice@example.com<"), []byte(">alice&#x40;example&#x2E;org<"), 1)
		h.expectRejected(t, h.post(t, h.conn.ID, b64(b), ""), saml.ReasonSignatureInvalid)
	})
}

func TestDuplicateAttributes(t *testing.T) {
	t.Parallel()
	// Two Attribute elements with one Name: values are merged in document
	// order; single-valued fields take the first.
	l := acceptCase(t, nil, func(f *fixture) {
		f.mutate = func(a *etree.Element) {
			setAttributes(a, []attrSpec{
				{name: "email", values: []string{"first@example.com"}},
				{name: "groups", values: []string{"a"}},
				{name: "email", values: []string{"second@example.com"}},
				{name: "groups", values: []string{"b"}},
			})
		}
	})
	p := l.Profile
	if p.Email != "first@example.com" || strings.Join(p.Groups, ",") != "a,b" || len(p.Raw["email"]) != 2 {
		t.Fatalf("profile %+v", p)
	}
}

func TestIssuerVariants(t *testing.T) {
	t.Parallel()
	t.Run("EntityFormat", func(t *testing.T) {
		t.Parallel()
		acceptCase(t, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				a.SelectElement("Issuer").CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
			}
			f.mutateResp = func(r *etree.Element) {
				r.SelectElement("Issuer").CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
			}
		})
	})
	t.Run("WhitespacePadded", func(t *testing.T) {
		t.Parallel()
		// Issuers are compared exactly (a NameID, not a URI).
		rejectCase(t, saml.ReasonIssuerMismatch, nil, func(f *fixture) { f.issuer = " " + testIdP + "\n" })
	})
	t.Run("PrefixOfConfigured", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonIssuerMismatch, nil, func(f *fixture) { f.issuer = testIdP + "/evil" })
	})
	t.Run("MissingAssertionIssuer", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonMissingElement, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { a.RemoveChild(a.SelectElement("Issuer")) }
		})
	})
}

func TestAudienceRestrictions(t *testing.T) {
	t.Parallel()
	addAR := func(aud ...string) func(a *etree.Element) {
		return func(a *etree.Element) {
			ar := a.SelectElement("Conditions").CreateElement("saml:AudienceRestriction")
			for _, v := range aud {
				ar.CreateElement("saml:Audience").SetText(v)
			}
		}
	}
	t.Run("TwoRestrictionsBothNameUs", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		me := h.sp.EntityID(h.conn.ID)
		h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) { f.mutate = addAR("https://other.example", me) }))
	})
	t.Run("SecondRestrictionOmitsUs", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonAudienceMismatch, nil, func(f *fixture) { f.mutate = addAR("https://other.example") })
	})
	t.Run("EmptyRestriction", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonAudienceMismatch, nil, func(f *fixture) { f.mutate = addAR() })
	})
	t.Run("WhitespaceAroundAudience", func(t *testing.T) {
		t.Parallel()
		// anyURI collapses whitespace; pretty-printing IdPs are accepted.
		acceptCase(t, nil, func(f *fixture) { f.audience = "\n  " + f.audience + "\n" })
	})
	t.Run("AudiencePrefixOfOurs", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonAudienceMismatch, nil, func(f *fixture) { f.audience = strings.TrimSuffix(f.audience, "conn_a") })
	})
	t.Run("OnlyProxyRestrictionAudience", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonAudienceMissing, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				c := a.SelectElement("Conditions")
				ar := c.SelectElement("AudienceRestriction")
				c.RemoveChild(ar)
				pr := c.CreateElement("saml:ProxyRestriction")
				pr.CreateElement("saml:Audience").SetText(f.audience)
			}
		})
	})
}

func TestConditionsVariants(t *testing.T) {
	t.Parallel()
	t.Run("OneTimeUseAndProxyRestriction", func(t *testing.T) {
		t.Parallel()
		// Accepted; OneTimeUse is what the replay cache enforces anyway.
		h := newHarness(t)
		h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) { c.AllowIdPInitiated = true })
		f := h.fixtureFor(h.conn, "")
		f.mutate = func(a *etree.Element) {
			c := a.SelectElement("Conditions")
			c.CreateElement("saml:OneTimeUse")
			c.CreateElement("saml:ProxyRestriction").CreateAttr("Count", "0")
		}
		enc := f.encoded(t)
		h.expectAccepted(t, h.post(t, h.conn.ID, enc, ""))
		resp := h.post(t, h.conn.ID, enc, "")
		if n, _ := h.rec.counts(); n != 1 || resp.StatusCode < 400 || sso.ReasonOf(h.rec.lastFailure().Err) != saml.ReasonReplayed {
			t.Fatalf("second use: status %d, logins %d", resp.StatusCode, n)
		}
	})
	t.Run("NoConditionsTimeBounds", func(t *testing.T) {
		t.Parallel()
		// NotBefore/NotOnOrAfter on Conditions are optional in SAML; the
		// bearer SubjectConfirmationData NotOnOrAfter still bounds the life.
		acceptCase(t, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				c := a.SelectElement("Conditions")
				c.RemoveAttr("NotBefore")
				c.RemoveAttr("NotOnOrAfter")
			}
		})
	})
	t.Run("MissingConditions", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonMissingElement, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { a.RemoveChild(a.SelectElement("Conditions")) }
		})
	})
	t.Run("DuplicateConditions", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonDuplicateElement, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				c := a.SelectElement("Conditions").Copy()
				c.SelectElement("AudienceRestriction").SelectElement("Audience").SetText("https://other.example")
				a.InsertChildAt(a.SelectElement("Conditions").Index(), c)
			}
		})
	})
}

func TestSubjectConfirmations(t *testing.T) {
	t.Parallel()
	t.Run("BearerPlusHolderOfKey", func(t *testing.T) {
		t.Parallel()
		// gosaml2 models one SubjectConfirmation; a second one is refused
		// rather than half-read.
		rejectCase(t, saml.ReasonDuplicateElement, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				sc := a.SelectElement("Subject").SelectElement("SubjectConfirmation").Copy()
				sc.SelectAttr("Method").Value = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"
				a.SelectElement("Subject").AddChild(sc)
			}
		})
	})
	t.Run("InvalidBearerFirst", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonDuplicateElement, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				subj := a.SelectElement("Subject")
				sc := subj.SelectElement("SubjectConfirmation").Copy()
				sc.SelectElement("SubjectConfirmationData").SelectAttr("Recipient").Value = "https://evil.example/acs"
				subj.InsertChildAt(subj.SelectElement("SubjectConfirmation").Index(), sc)
			}
		})
	})
	t.Run("AddressAccepted", func(t *testing.T) {
		t.Parallel()
		acceptCase(t, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { findEl(a, "SubjectConfirmationData").CreateAttr("Address", "203.0.113.7") }
		})
	})
	t.Run("NotBeforeInFuture", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonNotYetValid, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				findEl(a, "SubjectConfirmationData").CreateAttr("NotBefore", ts3339(baseTime.Add(3*time.Minute)))
			}
		})
	})
	t.Run("NotBeforeInPast", func(t *testing.T) {
		t.Parallel()
		acceptCase(t, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				findEl(a, "SubjectConfirmationData").CreateAttr("NotBefore", ts3339(baseTime.Add(-time.Minute)))
			}
		})
	})
	t.Run("NotBeforeInFutureEncrypted", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonNotYetValid, nil, func(f *fixture) {
			f.encrypt = "aes256-gcm"
			f.mutate = func(a *etree.Element) {
				findEl(a, "SubjectConfirmationData").CreateAttr("NotBefore", ts3339(baseTime.Add(3*time.Minute)))
			}
		})
	})
}

func TestSubjectIdentifiers(t *testing.T) {
	t.Parallel()
	encID := func() *etree.Element {
		e := etree.NewElement("saml:EncryptedID")
		ed := e.CreateElement("xenc:EncryptedData")
		ed.CreateAttr("xmlns:xenc", nsXMLEnc)
		ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText("AAAA")
		return e
	}
	t.Run("EncryptedIDOnly", func(t *testing.T) {
		t.Parallel()
		// An EncryptedID is decrypted with the SP key (encid_test.go);
		// this one holds no key: refused as what it is.
		rejectCase(t, saml.ReasonDecryptionFailed, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) {
				subj := a.SelectElement("Subject")
				subj.RemoveChild(subj.SelectElement("NameID"))
				subj.InsertChildAt(0, encID())
			}
		})
	})
	t.Run("NameIDPlusEncryptedID", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonDuplicateElement, nil, func(f *fixture) {
			f.mutate = func(a *etree.Element) { a.SelectElement("Subject").InsertChildAt(0, encID()) }
		})
	})
	t.Run("EmptyNameID", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonSubjectMissing, nil, func(f *fixture) { f.nameID = "   " })
	})
}

func TestEncryptedPlusPlainAssertion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	f := h.fixtureFor(h.conn, id)
	f.encrypt = "aes256-gcm"
	plain := h.fixtureFor(h.conn, id)
	plain.nameID = "victim@tenantb.example"
	plain.defaults(t)
	pa := plain.buildAssertion(t)
	f.mutateResp = func(r *etree.Element) { r.AddChild(pa) }
	h.expectRejected(t, h.post(t, h.conn.ID, f.encoded(t), ""), saml.ReasonAssertionCount)
}

func TestDestinationAndInResponseTo(t *testing.T) {
	t.Parallel()
	t.Run("SignedResponseWithoutDestination", func(t *testing.T) {
		t.Parallel()
		// Documented acceptance: SAML Bindings asks for Destination on
		// signed messages, but the signed Recipient binds the response to
		// this ACS (and is checked), so the missing attribute is tolerated.
		acceptCase(t, nil, func(f *fixture) {
			f.signResponse = true
			f.mutateResp = func(r *etree.Element) { r.RemoveAttr("Destination") }
		})
	})
	t.Run("ResponseVsSubjectConfirmationMismatch", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		other := h.startLogin(t, h.conn.ID)
		resp := h.login(t, h.conn, func(f *fixture) {
			f.mutateResp = func(r *etree.Element) { r.SelectAttr("InResponseTo").Value = other }
		})
		h.expectRejected(t, resp, saml.ReasonInResponseTo)
	})
	t.Run("SignedResponseVsSubjectConfirmationMismatch", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		other := h.startLogin(t, h.conn.ID)
		resp := h.login(t, h.conn, func(f *fixture) {
			f.signResponse = true
			f.mutateResp = func(r *etree.Element) { r.SelectAttr("InResponseTo").Value = other }
		})
		h.expectRejected(t, resp, saml.ReasonInResponseTo)
	})
	t.Run("UnsignedResponseOnlyInResponseTo", func(t *testing.T) {
		t.Parallel()
		// The SubjectConfirmationData has none and the Response is not
		// signed: the unsigned value cannot bind the response.
		h := newHarness(t)
		resp := h.login(t, h.conn, func(f *fixture) {
			f.mutate = func(a *etree.Element) { findEl(a, "SubjectConfirmationData").RemoveAttr("InResponseTo") }
		})
		h.expectRejected(t, resp, saml.ReasonInResponseTo)
	})
	t.Run("SignedResponseOnlyInResponseTo", func(t *testing.T) {
		t.Parallel()
		acceptCase(t, nil, func(f *fixture) {
			f.signResponse = true
			f.mutate = func(a *etree.Element) { findEl(a, "SubjectConfirmationData").RemoveAttr("InResponseTo") }
		})
	})
	t.Run("SubjectConfirmationOnlyInResponseTo", func(t *testing.T) {
		t.Parallel()
		acceptCase(t, nil, func(f *fixture) {
			f.mutateResp = func(r *etree.Element) { r.RemoveAttr("InResponseTo") }
		})
	})
}

func TestCertificateValidity(t *testing.T) {
	t.Parallel()
	t.Run("NotYetValid", func(t *testing.T) {
		t.Parallel()
		k := certFor(t, idpKey(t).key, "future", baseTime.Add(24*time.Hour), baseTime.Add(48*time.Hour))
		rejectCase(t, saml.ReasonCertificateNotYetValid,
			func(c *saml.ConnectionConfig) { c.Certificates = []string{certPEM(k.cert)} },
			func(f *fixture) { f.key = k })
	})
	t.Run("ExpiredButSameKeyAsTrusted", func(t *testing.T) {
		t.Parallel()
		// The trusted (valid) cert and an expired cert share the key; the
		// response embeds the expired one: refused (the KeyInfo
		// certificate must be a pinned one), not silently matched by key.
		expired := certFor(t, idpKey(t).key, "expired", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
		rejectCase(t, saml.ReasonCertificateUntrusted, nil, func(f *fixture) { f.key = expired })
	})
}

func TestStatusVariants(t *testing.T) {
	t.Parallel()
	t.Run("SuccessWithSecondLevel", func(t *testing.T) {
		t.Parallel()
		// Documented acceptance: the top-level code decides.
		acceptCase(t, nil, func(f *fixture) {
			f.mutateResp = func(r *etree.Element) {
				r.SelectElement("Status").SelectElement("StatusCode").CreateElement("samlp:StatusCode").
					CreateAttr("Value", "urn:oasis:names:tc:SAML:2.0:status:RequestDenied")
			}
		})
	})
	t.Run("MissingStatus", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonMissingElement, nil, func(f *fixture) {
			f.mutateResp = func(r *etree.Element) { r.RemoveChild(r.SelectElement("Status")) }
		})
	})
	t.Run("DuplicateStatus", func(t *testing.T) {
		t.Parallel()
		rejectCase(t, saml.ReasonDuplicateElement, nil, func(f *fixture) {
			f.mutateResp = func(r *etree.Element) {
				st := r.SelectElement("Status").Copy()
				st.SelectElement("StatusCode").SelectAttr("Value").Value = "urn:oasis:names:tc:SAML:2.0:status:Responder"
				r.InsertChildAt(r.SelectElement("Status").Index(), st)
			}
		})
	})
}

func TestTimeFormats(t *testing.T) {
	t.Parallel()
	setTimes := func(nb, noa string) func(a *etree.Element) {
		return func(a *etree.Element) {
			c := a.SelectElement("Conditions")
			c.SelectAttr("NotBefore").Value = nb
			c.SelectAttr("NotOnOrAfter").Value = noa
			findEl(a, "SubjectConfirmationData").SelectAttr("NotOnOrAfter").Value = noa
		}
	}
	// baseTime is 2026-06-01T12:00:00Z.
	accepted := map[string][2]string{
		"NanosecondFraction":  {"2026-06-01T11:59:00.123456789Z", "2026-06-01T12:04:59.999999999Z"},
		"MillisecondFraction": {"2026-06-01T11:59:00.123Z", "2026-06-01T12:05:00.000Z"},
		"ZeroOffset":          {"2026-06-01T11:59:00+00:00", "2026-06-01T12:05:00+00:00"},
		"PositiveOffset":      {"2026-06-01T13:59:00+02:00", "2026-06-01T14:05:00+02:00"},
		"NegativeOffset":      {"2026-06-01T06:59:00-05:00", "2026-06-01T07:05:00-05:00"},
	}
	for name, v := range accepted {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			acceptCase(t, nil, func(f *fixture) { f.mutate = setTimes(v[0], v[1]) })
		})
	}
	rejected := map[string]struct {
		nb, noa, reason string
	}{
		// 12:05+02:00 is 10:05Z: long expired, whatever the digits say.
		"OffsetMakesItExpired": {"2026-06-01T11:59:00+02:00", "2026-06-01T12:05:00+02:00", saml.ReasonExpired},
		"NoTimezone":           {"2026-06-01T11:59:00", "2026-06-01T12:05:00", saml.ReasonMalformed},
		"DateOnly":             {"2026-06-01", "2026-06-02", saml.ReasonMalformed},
		"UnixSeconds":          {"1780315140", "1780315500", saml.ReasonMalformed},
	}
	for name, c := range rejected {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rejectCase(t, c.reason, nil, func(f *fixture) { f.mutate = setTimes(c.nb, c.noa) })
		})
	}
}

func TestNewRejectsUnsafeTimeouts(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("https://sp.example.com/sso/saml")
	st := memstore.New()
	for name, edit := range map[string]func(c *saml.Config){
		"SkewFourMinutes":  func(c *saml.Config) { c.MaxClockSkew = 4 * time.Minute },
		"SkewOneHour":      func(c *saml.Config) { c.MaxClockSkew = time.Hour },
		"SkewNegative":     func(c *saml.Config) { c.MaxClockSkew = -time.Second },
		"IdPInitiatedHour": func(c *saml.Config) { c.MaxIdPInitiatedAge = time.Hour },
		"LogoutAgeHour":    func(c *saml.Config) { c.MaxLogoutAge = time.Hour },
		"LogoutAgeNeg":     func(c *saml.Config) { c.MaxLogoutAge = -time.Second },
	} {
		cfg := saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: &recorder{}}
		edit(&cfg)
		if _, err := saml.New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Errorf("%s: err %v, want ErrInvalidConfig", name, err)
		}
	}
	cfg := saml.Config{BaseURL: base, Connections: st, Store: memsaml.New(st), Completer: &recorder{}, MaxClockSkew: 3 * time.Minute}
	if _, err := saml.New(cfg); err != nil {
		t.Fatalf("3m skew: %v", err)
	}
}

// vendorShape is a response shaped like a vendor's default configuration:
// signing placement, namespace style, NameID format and attribute names.
type vendorShape struct {
	name, issuer, nameID, nameIDFormat string
	signResponse, signAssertion        bool
	responseOnlyOptIn                  bool
	defaultNS, noDestination           bool
	attrs                              []attrSpec
	want                               sso.Profile
}

const (
	claims   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
	msClaims = "http://schemas.microsoft.com/identity/claims/"
)

var vendorShapes = []vendorShape{
	{name: "Okta", issuer: "http://www.okta.com/exk1a2b3c4d5e6f7g8h9", nameID: "alice@corp.example", nameIDFormat: saml.NameIDEmail,
		signAssertion: true,
		attrs: []attrSpec{{name: "email", values: []string{"alice@corp.example"}}, {name: "firstName", values: []string{"Alice"}},
			{name: "lastName", values: []string{"Liddell"}}, {name: "groups", values: []string{"Everyone", "Engineering"}}},
		want: sso.Profile{Email: "alice@corp.example", GivenName: "Alice", FamilyName: "Liddell", DisplayName: "Alice Liddell", Groups: []string{"Everyone", "Engineering"}}},
	{name: "EntraID", issuer: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/", nameID: "Bob.Builder@contoso.com", nameIDFormat: saml.NameIDEmail,
		signAssertion: true, defaultNS: true,
		attrs: []attrSpec{
			{name: msClaims + "tenantid", values: []string{"72f988bf-86f1-41af-91ab-2d7cd011db47"}},
			{name: msClaims + "objectidentifier", values: []string{"0b1c2d3e-aaaa-bbbb-cccc-1234567890ab"}},
			{name: claims + "emailaddress", values: []string{"Bob.Builder@contoso.com"}},
			{name: claims + "givenname", values: []string{"Bob"}}, {name: claims + "surname", values: []string{"Builder"}},
			{name: claims + "name", values: []string{"bob.builder@contoso.com"}},
			{name: msClaims + "displayname", values: []string{"Bob the Builder"}},
			{name: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", values: []string{"5e6f7a8b-1111-2222-3333-444455556666"}},
			{name: "http://schemas.microsoft.com/claims/authnmethodsreferences", values: []string{"http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"}},
		},
		want: sso.Profile{Email: "bob.builder@contoso.com", GivenName: "Bob", FamilyName: "Builder", DisplayName: "Bob the Builder", Groups: []string{"5e6f7a8b-1111-2222-3333-444455556666"}}},
	{name: "EntraIDGuest", issuer: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/", nameID: "AAAAAAAAAAAAAAAAAAAAAGj1bx9Lc3nU", nameIDFormat: saml.NameIDPersistent,
		signAssertion: true, defaultNS: true,
		attrs: []attrSpec{{name: claims + "name", values: []string{"carol_fabrikam.com#EXT#@contoso.onmicrosoft.com"}},
			{name: msClaims + "displayname", values: []string{"Carol (Fabrikam)"}}},
		want: sso.Profile{Email: "carol@fabrikam.com", DisplayName: "Carol (Fabrikam)"}},
	{name: "GoogleWorkspace", issuer: "https://accounts.google.com/o/saml2?idpid=C01abcdef", nameID: "dana@school.example", nameIDFormat: saml.NameIDEmail,
		signResponse: true, signAssertion: true,
		want: sso.Profile{Email: "dana@school.example"}},
	{name: "OneLogin", issuer: "https://app.onelogin.com/saml/metadata/5b2c1e4d-0000-4000-8000-123456789abc", nameID: "dave", nameIDFormat: saml.NameIDUnspecified,
		signResponse: true, signAssertion: true,
		attrs: []attrSpec{{name: "User.email", values: []string{"Dave@Example.org"}}, {name: "User.FirstName", values: []string{"Dave"}},
			{name: "User.LastName", values: []string{"Doe"}}, {name: "memberOf", values: []string{"Sales;Support"}}},
		want: sso.Profile{Email: "dave@example.org", GivenName: "Dave", FamilyName: "Doe", DisplayName: "Dave Doe", Groups: []string{"Sales;Support"}}},
	{name: "ADFS", issuer: "http://adfs.corp.example/adfs/services/trust", nameID: `CORP\erin`, nameIDFormat: saml.NameIDUnspecified,
		signAssertion: true, defaultNS: true,
		attrs: []attrSpec{{name: claims + "upn", values: []string{"erin@corp.example"}},
			{name: "http://schemas.xmlsoap.org/claims/Group", values: []string{"Domain Users", "VPN"}}},
		want: sso.Profile{Email: "erin@corp.example", Groups: []string{"Domain Users", "VPN"}}},
	{name: "JumpCloud", issuer: "JumpCloud", nameID: "frank", nameIDFormat: saml.NameIDUnspecified,
		signResponse: true, signAssertion: true,
		attrs: []attrSpec{{name: "email", values: []string{"frank@jc.example"}}, {name: "firstname", values: []string{"Frank"}},
			{name: "lastname", values: []string{"Castle"}}, {name: "memberOf", values: []string{"admins"}}},
		want: sso.Profile{Email: "frank@jc.example", GivenName: "Frank", FamilyName: "Castle", DisplayName: "Frank Castle", Groups: []string{"admins"}}},
	{name: "KeycloakX500", issuer: "https://kc.example/realms/acme", nameID: "grace", nameIDFormat: saml.NameIDUnspecified,
		signResponse: true, responseOnlyOptIn: true,
		attrs: []attrSpec{{name: "urn:oid:1.2.840.113549.1.9.1", friendly: "email", values: []string{"grace@kc.example"}},
			{name: "urn:oid:2.5.4.42", friendly: "givenName", values: []string{"Grace"}},
			{name: "urn:oid:2.5.4.4", friendly: "surname", values: []string{"Hopper"}},
			{name: "Role", values: []string{"default-roles-acme", "admin"}}},
		want: sso.Profile{Email: "grace@kc.example", GivenName: "Grace", FamilyName: "Hopper", DisplayName: "Grace Hopper", Groups: []string{"default-roles-acme", "admin"}}},
	{name: "KeycloakFriendlyOnly", issuer: "https://kc.example/realms/acme", nameID: "g-uuid-1", nameIDFormat: saml.NameIDPersistent,
		signAssertion: true,
		attrs: []attrSpec{{name: "urn:x-kc:mail", friendly: "email", values: []string{"grace@kc.example"}},
			{name: "urn:x-kc:groups", friendly: "groups", values: []string{"/staff"}}},
		want: sso.Profile{Email: "grace@kc.example", Groups: []string{"/staff"}}},
	{name: "PingFederate", issuer: "https://sso.ping.example", nameID: "henry", nameIDFormat: saml.NameIDUnspecified,
		signAssertion: true, noDestination: true,
		attrs: []attrSpec{{name: "mail", values: []string{"henry@ping.example"}}, {name: "givenName", values: []string{"Henry"}},
			{name: "sn", values: []string{"Ford"}}, {name: "memberOf", values: []string{"CN=Eng,OU=Groups,DC=ping,DC=example"}}},
		want: sso.Profile{Email: "henry@ping.example", GivenName: "Henry", FamilyName: "Ford", DisplayName: "Henry Ford", Groups: []string{"CN=Eng,OU=Groups,DC=ping,DC=example"}}},
	{name: "ShibbolethTransient", issuer: "https://idp.uni.example/idp/shibboleth", nameID: "AAdzZWNyZXQxqo3Tz+0X", nameIDFormat: saml.NameIDTransient,
		signAssertion: true,
		attrs: []attrSpec{{name: "urn:oid:0.9.2342.19200300.100.1.3", friendly: "mail", values: []string{"ivy@uni.example"}},
			{name: "urn:oid:2.5.4.42", friendly: "givenName", values: []string{"Ivy"}},
			{name: "urn:oid:2.5.4.4", friendly: "sn", values: []string{"League"}},
			{name: "urn:oid:2.16.840.1.113730.3.1.241", friendly: "displayName", values: []string{"Dr. Ivy League"}},
			{name: "urn:oid:1.3.6.1.4.1.5923.1.5.1.1", friendly: "isMemberOf", values: []string{"uni:staff"}}},
		want: sso.Profile{Email: "ivy@uni.example", GivenName: "Ivy", FamilyName: "League", DisplayName: "Dr. Ivy League", Groups: []string{"uni:staff"}}},
	{name: "Auth0", issuer: "urn:acme.eu.auth0.com", nameID: "auth0|65f0c0ffee", nameIDFormat: saml.NameIDUnspecified,
		signAssertion: true,
		attrs: []attrSpec{{name: claims + "nameidentifier", values: []string{"auth0|65f0c0ffee"}},
			{name: claims + "emailaddress", values: []string{"jo@acme.example"}},
			{name: claims + "name", values: []string{"Jo Example"}},
			{name: claims + "givenname", values: []string{"Jo"}}, {name: claims + "surname", values: []string{"Example"}},
			{name: claims + "upn", values: []string{"jo@acme.example"}}},
		want: sso.Profile{Email: "jo@acme.example", GivenName: "Jo", FamilyName: "Example", DisplayName: "Jo Example"}},
}

// TestVendorShapes signs responses shaped like each vendor's default
// output (SHA-256, its signing placement, namespace style, NameID format
// and attribute names) and checks the mapped profile.
func TestVendorShapes(t *testing.T) {
	t.Parallel()
	for _, v := range vendorShapes {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.updateConn(t, h.conn, func(c *saml.ConnectionConfig) {
				c.IdPEntityID = v.issuer
				c.AllowResponseSignatureOnly = v.responseOnlyOptIn
			})
			l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) {
				f.issuer, f.nameID = v.issuer, v.nameID
				f.signResponse, f.signAssertion = v.signResponse, v.signAssertion
				f.mutate = func(a *etree.Element) {
					findEl(a, "NameID").SelectAttr("Format").Value = v.nameIDFormat
					setAttributes(a, v.attrs)
					if v.defaultNS {
						toDefaultNS(a, "saml", nsAssertion)
					}
				}
				if v.noDestination {
					f.mutateResp = func(r *etree.Element) { r.RemoveAttr("Destination") }
				}
			}))
			p := l.Profile
			got := sso.Profile{Email: p.Email, GivenName: p.GivenName, FamilyName: p.FamilyName, DisplayName: p.DisplayName, Groups: p.Groups}
			if !profileEqual(got, v.want) {
				t.Fatalf("profile\n got %+v\nwant %+v", got, v.want)
			}
			if p.Subject != v.nameID || p.NameIDFormat != v.nameIDFormat || p.Issuer != v.issuer || p.OrgID != "org_a" {
				t.Fatalf("subject %q format %q issuer %q org %q", p.Subject, p.NameIDFormat, p.Issuer, p.OrgID)
			}
			if p.MFA {
				t.Fatal("password-only login marked as MFA")
			}
			for _, a := range v.attrs {
				if len(p.Raw[a.name]) != len(a.values) {
					t.Fatalf("raw %q = %v", a.name, p.Raw[a.name])
				}
			}
		})
	}
	t.Run("KeycloakDefaultWithoutOptIn", func(t *testing.T) {
		t.Parallel()
		// Keycloak signs only the document by default: refused unless the
		// connection opts in to Response-only signatures.
		rejectCase(t, saml.ReasonSignatureMissing, nil, func(f *fixture) { f.signResponse, f.signAssertion = true, false })
	})
}

func profileEqual(a, b sso.Profile) bool {
	return a.Email == b.Email && a.GivenName == b.GivenName && a.FamilyName == b.FamilyName &&
		a.DisplayName == b.DisplayName && strings.Join(a.Groups, "\x00") == strings.Join(b.Groups, "\x00")
}

// editSignatures applies edit to every ds:Signature in doc.
func editSignatures(doc *etree.Document, edit func(sig *etree.Element)) {
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if c.Tag == "Signature" {
				edit(c)
			} else {
				walk(c)
			}
		}
	}
	walk(doc.Root())
}

func dropKeyInfo(sig *etree.Element) {
	if ki := sig.SelectElement("KeyInfo"); ki != nil {
		sig.RemoveChild(ki)
	}
}

func TestKeyInfoVariants(t *testing.T) {
	t.Parallel()
	twoCerts := func(c *saml.ConnectionConfig) {
		c.Certificates = []string{certPEM(idpKey(t).cert), certPEM(idpKey2(t).cert)}
	}
	run := func(t *testing.T, conf func(c *saml.ConnectionConfig), edit func(f *fixture), sigEdit func(sig *etree.Element)) (*harness, *etree.Document) {
		h := newHarness(t)
		if conf != nil {
			h.updateConn(t, h.conn, conf)
		}
		id := h.startLogin(t, h.conn.ID)
		f := h.fixtureFor(h.conn, id)
		if edit != nil {
			edit(f)
		}
		doc := parseDoc(t, f.build(t))
		editSignatures(doc, sigEdit)
		return h, doc
	}
	post := func(t *testing.T, h *harness, doc *etree.Document) *http.Response {
		return h.post(t, h.conn.ID, encodeDoc(t, doc), "")
	}
	t.Run("NoKeyInfoSingleCert", func(t *testing.T) {
		t.Parallel()
		h, doc := run(t, nil, nil, dropKeyInfo)
		h.expectAccepted(t, post(t, h, doc))
	})
	t.Run("NoKeyInfoRolloverSecondCert", func(t *testing.T) {
		t.Parallel()
		// PingFederate omits KeyInfo; during a rollover two certificates
		// are trusted and the signer is the new one.
		h, doc := run(t, twoCerts, func(f *fixture) { f.key = idpKey2(t) }, dropKeyInfo)
		h.expectAccepted(t, post(t, h, doc))
	})
	t.Run("NoKeyInfoBothSignedRollover", func(t *testing.T) {
		t.Parallel()
		// Only the Response signature lacks KeyInfo (the assertion's is
		// covered by it and cannot be edited).
		h, doc := run(t, twoCerts, func(f *fixture) { f.key, f.signResponse = idpKey2(t), true }, func(*etree.Element) {})
		dropKeyInfo(doc.Root().SelectElement("Signature"))
		h.expectAccepted(t, post(t, h, doc))
	})
	t.Run("KeyNameOnly", func(t *testing.T) {
		t.Parallel()
		h, doc := run(t, twoCerts, nil, func(sig *etree.Element) {
			ki := sig.SelectElement("KeyInfo")
			ki.Child = nil
			ki.CreateElement("ds:KeyName").SetText("idp-signing-2026")
		})
		h.expectAccepted(t, post(t, h, doc))
	})
	t.Run("NoKeyInfoUntrustedSigner", func(t *testing.T) {
		t.Parallel()
		h, doc := run(t, twoCerts, func(f *fixture) { f.key = otherKey(t) }, dropKeyInfo)
		h.expectRejected(t, post(t, h, doc), saml.ReasonSignatureInvalid)
	})
	t.Run("NoKeyInfoRolloverReasonKept", func(t *testing.T) {
		t.Parallel()
		// The second certificate verifies; the failure reported is the
		// real one (audience), not the first certificate's mismatch.
		h, doc := run(t, twoCerts, func(f *fixture) { f.key, f.audience = idpKey2(t), "https://other-sp.example" }, dropKeyInfo)
		h.expectRejected(t, post(t, h, doc), saml.ReasonAudienceMismatch)
	})
	t.Run("KeyNameInsideSignedResponse", func(t *testing.T) {
		t.Parallel()
		// The assertion's KeyInfo is covered by the Response signature: it
		// is not cut, and goxmldsig refuses a certificate-less KeyInfo.
		h, doc := run(t, nil, func(f *fixture) { f.signResponse = true }, func(*etree.Element) {})
		ki := assertionOf(doc).SelectElement("Signature").SelectElement("KeyInfo")
		ki.Child = nil
		ki.CreateElement("ds:KeyName").SetText("k")
		h.expectRejected(t, post(t, h, doc), saml.ReasonSignatureInvalid)
	})
	t.Run("KeyInfoCutDoesNotHelpTampering", func(t *testing.T) {
		t.Parallel()
		h, doc := run(t, twoCerts, nil, dropKeyInfo)
		setNameID(assertionOf(doc), "victim@tenantb.example")
		h.expectRejected(t, post(t, h, doc), saml.ReasonSignatureInvalid)
	})
}

func TestAttributeResolution(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		attrs   []attrSpec
		mapping sso.AttributeMapping
		want    sso.Profile
	}{
		{name: "ExactNameBeatsCaseFold", attrs: []attrSpec{{name: "EMAIL", values: []string{"fold@example.com"}},
			{name: "mail", values: []string{"exact@example.com"}}},
			want: sso.Profile{Email: "exact@example.com"}},
		{name: "CaseFoldDeterministic", attrs: []attrSpec{{name: "FIRSTNAME", values: []string{"Upper"}},
			{name: "FirstNAME", values: []string{"Mixed"}}},
			// Of two case variants the one sorting first wins.
			want: sso.Profile{GivenName: "Upper", DisplayName: "Upper"}},
		{name: "NameBeatsFriendlyName", attrs: []attrSpec{{name: "urn:x:other", friendly: "email", values: []string{"friendly@example.com"}},
			{name: "mail", values: []string{"name@example.com"}}},
			want: sso.Profile{Email: "name@example.com"}},
		{name: "OverrideByFriendlyName", attrs: []attrSpec{{name: "urn:oid:1.3.6.1.4.1.99999.1", friendly: "corpMail", values: []string{"corp@example.com"}},
			{name: "email", values: []string{"default@example.com"}}},
			mapping: sso.AttributeMapping{Email: "corpMail"},
			want:    sso.Profile{Email: "corp@example.com"}},
		{name: "OverrideIsExact", attrs: []attrSpec{{name: "CorpMail", values: []string{"corp@example.com"}}},
			mapping: sso.AttributeMapping{Email: "corpmail"},
			// The override matches exactly; with nothing found the
			// email-shaped NameID is still used.
			want: sso.Profile{Email: "alice@example.com"}},
		{name: "UPNNotUsedWhenEmailPresent", attrs: []attrSpec{{name: claims + "upn", values: []string{"upn@corp.example"}},
			{name: claims + "emailaddress", values: []string{"mail@corp.example"}}},
			want: sso.Profile{Email: "mail@corp.example"}},
		{name: "NonEmailValueDropped", attrs: []attrSpec{{name: "email", values: []string{"not an email"}}},
			want: sso.Profile{}},
		{name: "RolesAfterGroups", attrs: []attrSpec{{name: "Role", values: []string{"r1"}}, {name: "groups", values: []string{"g1"}}},
			want: sso.Profile{Groups: []string{"g1"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.conn.Mapping = c.mapping
			h.updateConn(t, h.conn, func(*saml.ConnectionConfig) {})
			nameID := "user-123"
			if c.name == "OverrideIsExact" {
				nameID = "alice@example.com"
			}
			l := h.expectAccepted(t, h.login(t, h.conn, func(f *fixture) {
				f.nameID = nameID
				f.mutate = func(a *etree.Element) {
					findEl(a, "NameID").SelectAttr("Format").Value = saml.NameIDUnspecified
					setAttributes(a, c.attrs)
				}
			}))
			p := l.Profile
			got := sso.Profile{Email: p.Email, GivenName: p.GivenName, FamilyName: p.FamilyName, DisplayName: p.DisplayName, Groups: p.Groups}
			if !profileEqual(got, c.want) {
				t.Fatalf("profile\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestByteOrderMark(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.startLogin(t, h.conn.ID)
	b := h.fixtureFor(h.conn, id).build(t)
	b = append([]byte("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>"), b...)
	h.expectAccepted(t, h.post(t, h.conn.ID, b64(b), ""))
	// Anything else before the root is still refused.
	h2 := newHarness(t)
	id = h2.startLogin(t, h2.conn.ID)
	b = append([]byte("\xEF\xBB\xBFjunk"), h2.fixtureFor(h2.conn, id).build(t)...)
	h2.expectRejected(t, h2.post(t, h2.conn.ID, b64(b), ""), saml.ReasonMalformed)
}

func TestDuplicateXMLAttributes(t *testing.T) {
	t.Parallel()
	// etree keeps one duplicate, encoding/xml another: any repeated
	// attribute is refused before signature verification.
	cases := map[string]func(b []byte) []byte{
		"Recipient": func(b []byte) []byte {
			return bytes.Replace(b, []byte("<saml:SubjectConfirmationData "), []byte(`<saml:SubjectConfirmationData Recipient="https://evil.example/acs" `), 1)
		},
		"NotOnOrAfter": func(b []byte) []byte {
			return bytes.Replace(b, []byte("<saml:Conditions "), []byte(`<saml:Conditions NotOnOrAfter="2099-01-01T00:00:00Z" `), 1)
		},
		"AssertionID": func(b []byte) []byte {
			return bytes.Replace(b, []byte("<saml:Assertion "), []byte(`<saml:Assertion ID="_evil" `), 1)
		},
		"SamePrefixViaTwoPrefixes": func(b []byte) []byte {
			return bytes.Replace(b, []byte("<saml:Assertion "), []byte(`<saml:Assertion xmlns:a="urn:x" xmlns:b="urn:x" a:k="1" b:k="2" `), 1)
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.startLogin(t, h.conn.ID)
			b := h.fixtureFor(h.conn, id).build(t)
			e := edit(b)
			if bytes.Equal(e, b) {
				t.Fatal("edit changed nothing")
			}
			h.expectRejected(t, h.post(t, h.conn.ID, b64(e), ""), saml.ReasonMalformed)
		})
	}
}

func TestSignatureTransforms(t *testing.T) {
	t.Parallel()
	transform := func(alg string) func(doc *etree.Document) {
		return func(doc *etree.Document) {
			tr := findEl(assertionOf(doc).SelectElement("Signature"), "Transforms")
			tr.CreateElement("ds:Transform").CreateAttr("Algorithm", alg)
		}
	}
	cases := map[string]func(doc *etree.Document){
		"XPathFilter": transform("http://www.w3.org/TR/1999/REC-xpath-19991116"),
		"XSLT":        transform("http://www.w3.org/TR/1999/REC-xslt-19991116"),
		"Base64":      transform("http://www.w3.org/2000/09/xmldsig#base64"),
		"SecondSignedInfo": func(doc *etree.Document) {
			sig := assertionOf(doc).SelectElement("Signature")
			sig.InsertChildAt(0, sig.SelectElement("SignedInfo").Copy())
		},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			doc := h.signedDoc(t, false, true)
			m(doc)
			resp := h.post(t, h.conn.ID, encodeDoc(t, doc), "")
			if resp.StatusCode < 400 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if n, _ := h.rec.counts(); n != 0 {
				t.Fatal("login completed")
			}
			if r := sso.ReasonOf(h.rec.lastFailure().Err); r != saml.ReasonSignatureInvalid && r != saml.ReasonWrapping {
				t.Fatalf("reason %q", r)
			}
		})
	}
}
