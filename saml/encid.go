package saml

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/beevik/etree"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Encrypted NameIDs (SAML Core 2.2.4, EncryptedID) are decrypted with the
// SP key that decrypts assertions. gosaml2 does not read them, so the
// verified Assertion element is obtained again from goxmldsig (with the
// certificate and clock that verified the response) and its Subject's
// EncryptedID is decrypted. Data is never taken from anything but that
// verified element.

// encryptedElement is the XML Encryption content of an EncryptedID or an
// EncryptedAssertion, in gosaml2's types.
type encryptedElement struct {
	EncryptionMethod types.EncryptionMethod `xml:"EncryptedData>EncryptionMethod"`
	EncryptedKey     types.EncryptedKey     `xml:"EncryptedData>KeyInfo>EncryptedKey"`
	DetEncryptedKey  types.EncryptedKey     `xml:"EncryptedKey"`
	CipherValue      string                 `xml:"EncryptedData>CipherData>CipherValue"`
}

// decryptElement decrypts el, an EncryptedID or EncryptedAssertion whose
// namespaces ctx declares, with the SP key.
func (c *responseCheck) decryptElement(ctx etreeutils.NSContext, el *etree.Element) ([]byte, error) {
	if c.ks == nil {
		return nil, errors.New("saml: no RSA SP key to decrypt with")
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(detached)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, err
	}
	var enc encryptedElement
	if err := xml.Unmarshal(b, &enc); err != nil {
		return nil, err
	}
	strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
	ea := types.EncryptedAssertion{EncryptionMethod: enc.EncryptionMethod, EncryptedKey: enc.EncryptedKey,
		DetEncryptedKey: enc.DetEncryptedKey, CipherValue: strip(enc.CipherValue)}
	for _, k := range []*types.EncryptedKey{&ea.EncryptedKey, &ea.DetEncryptedKey} {
		k.CipherValue, k.X509Data = strip(k.CipherValue), strip(k.X509Data)
	}
	// The assertion's key first, then (during a key rollover) the other.
	keys := append([]*KeyPair{c.kp}, c.keys...)
	var plain []byte
	for _, kp := range keys {
		cert := &tls.Certificate{Certificate: [][]byte{kp.Certificate.Raw}, PrivateKey: kp.Key}
		e := ea
		if plain, err = e.DecryptBytes(cert); err == nil {
			return plain, nil
		}
	}
	return nil, err
}

// encryptedNameID returns the decrypted NameID of the verified assertion's
// EncryptedID, or nil when its Subject has none.
func (c *responseCheck) encryptedNameID() (*types.NameID, error) {
	a, err := c.verifiedAssertion()
	if err != nil {
		return nil, classify(err)
	}
	var plain []byte
	found := false
	err = etreeutils.NSFindIterate(a, nsAssertion, "EncryptedID", func(ctx etreeutils.NSContext, el *etree.Element) error {
		p := el.Parent()
		if p == nil || p.Tag != "Subject" || p.Parent() != a {
			return nil
		}
		found = true
		var derr error
		plain, derr = c.decryptElement(ctx, el)
		if derr != nil {
			return invalid(ReasonDecryptionFailed, fmt.Errorf("saml: EncryptedID: %w", derr))
		}
		return etreeutils.ErrTraversalHalted
	})
	if err != nil && !errors.Is(err, etreeutils.ErrTraversalHalted) {
		return nil, classify(err)
	}
	if !found {
		return nil, nil
	}
	return parseDecryptedNameID(plain)
}

// verifiedAssertion verifies the response's Assertion again with goxmldsig
// and returns the verified element: the Assertion's own signature when it
// has one, else the Response signature that covers it (and, for an
// EncryptedAssertion, the ciphertext that decrypts to it).
func (c *responseCheck) verifiedAssertion() (*etree.Element, error) {
	roots, clock := c.certs, c.libClock
	if c.signer != nil {
		roots, clock = []*x509.Certificate{c.signer}, c.clockFor(c.signer)
	}
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: roots})
	vctx.Clock = dsig.NewFakeClockAt(clock)
	if c.assertionSigned {
		if c.inner != nil {
			root, err := parseRoot(c.inner)
			if err != nil {
				return nil, err
			}
			return vctx.Validate(root)
		}
		root, err := parseRoot(c.docs.doc)
		if err != nil {
			return nil, err
		}
		var out *etree.Element
		err = etreeutils.NSFindChildrenIterateCtx(etreeutils.NewDefaultNSContext(), root, nsAssertion, "Assertion",
			func(ctx etreeutils.NSContext, el *etree.Element) error {
				d, err := etreeutils.NSDetatch(ctx, el)
				if err != nil {
					return err
				}
				out, err = vctx.Validate(d)
				if err != nil {
					return err
				}
				return etreeutils.ErrTraversalHalted
			})
		if out == nil {
			return nil, fmt.Errorf("saml: no verified Assertion: %w", err)
		}
		return out, nil
	}
	src := c.docs.rootDoc
	if src == nil {
		src = c.docs.doc
	}
	root, err := parseRoot(src)
	if err != nil {
		return nil, err
	}
	resp, err := vctx.Validate(root)
	if err != nil {
		return nil, err
	}
	var out *etree.Element
	err = etreeutils.NSFindChildrenIterateCtx(etreeutils.NewDefaultNSContext(), resp, nsAssertion, "EncryptedAssertion",
		func(ctx etreeutils.NSContext, el *etree.Element) error {
			plain, err := c.decryptElement(ctx, el)
			if err != nil {
				return err
			}
			if out, err = parseRoot(plain); err != nil {
				return err
			}
			return etreeutils.ErrTraversalHalted
		})
	if out != nil {
		return out, nil
	}
	if err != nil && !errors.Is(err, etreeutils.ErrTraversalHalted) {
		return nil, err
	}
	if out = resp.SelectElement("Assertion"); out == nil || out.NamespaceURI() != nsAssertion {
		return nil, errors.New("saml: no Assertion in the verified Response")
	}
	return out, nil
}

// hasEncryptedID reports whether the pre-scan saw an EncryptedID in the
// assertion: only then is the assertion verified again to read it.
func (c *responseCheck) hasEncryptedID() bool {
	if c.iscan != nil {
		return c.iscan.encryptedID
	}
	return c.scan.encryptedID
}

// parseRoot parses doc and returns its root element.
func parseRoot(doc []byte) (*etree.Element, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, err
	}
	if d.Root() == nil {
		return nil, errors.New("saml: no root element")
	}
	return d.Root(), nil
}

// parseDecryptedNameID reads decrypted EncryptedID content: exactly one
// SAML NameID element holding text only, no comment, processing
// instruction or DTD (the same rules as a plain NameID). Content that
// leaves the assertion prefix undeclared (it was declared on an ancestor
// before encryption) is read with the usual prefixes declared.
func parseDecryptedNameID(plain []byte) (*types.NameID, error) {
	bad := func(format string, args ...any) error {
		return invalid(ReasonDecryptionFailed, fmt.Errorf("saml: decrypted EncryptedID: "+format, args...))
	}
	if err := checkRawDocument(plain); err != nil {
		return nil, classify(err)
	}
	plain = bytes.TrimSpace(bytes.TrimPrefix(plain, []byte("\xEF\xBB\xBF")))
	wrapped := append([]byte(`<w xmlns:saml="`+nsAssertion+`" xmlns:saml2="`+nsAssertion+`" xmlns="`+nsAssertion+`">`), plain...)
	wrapped = append(wrapped, "</w>"...)
	d := xml.NewDecoder(bytes.NewReader(wrapped))
	d.Strict = true
	var nid *types.NameID
	var text strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bad("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				continue
			}
			if depth != 2 || nid != nil || t.Name.Space != nsAssertion || t.Name.Local != "NameID" {
				return nil, bad("want exactly one NameID element, got %s", t.Name.Local)
			}
			nid = &types.NameID{}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "Format":
					nid.Format = a.Value
				case a.Name.Space == "" && a.Name.Local == "NameQualifier":
					nid.NameQualifier = a.Value
				case a.Name.Space == "" && a.Name.Local == "SPNameQualifier":
					nid.SPNameQualifier = a.Value
				}
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, bad("text outside NameID")
			}
		default:
			return nil, bad("only a NameID element is allowed")
		}
	}
	if nid == nil {
		return nil, bad("no NameID element")
	}
	nid.Value = text.String()
	return nid, nil
}
