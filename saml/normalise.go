package saml

import (
	"errors"
	"sort"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Whitespace in base64Binary values.
//
// XML Schema's base64Binary allows whitespace anywhere in the value, and
// IdPs use it: Google Workspace indents and wraps SignatureValue, .NET
// stacks wrap certificates and cipher values. Go's decoder, which
// goxmldsig and gosaml2 use, skips line breaks but refuses spaces and tabs.
// The pre-scan records every such value (SignatureValue, CipherValue, an
// X509Certificate outside a Signature) and the document handed to gosaml2
// carries them without whitespace. A value outside the root's Signature is
// covered by the root signature when the Response is signed, so the edit
// would break that signature: the root signature is then verified first on
// the document as received, and gosaml2 gets the edited document without
// it, verifying the Assertion's own signature as usual. So a covered value
// with whitespace needs a signed Assertion (an unsigned one under
// AllowResponseSignatureOnly is refused as unsigned then). DigestValue is
// inside SignedInfo, which is signed as written: it is never edited; nor
// is the content of an EncryptedAssertion, which gosaml2 decrypts itself.

// byteEdit replaces the bytes [start, end) with text.
type byteEdit struct {
	start, end int64
	text       string
}

// applyEdits returns b with the edits applied. An edit that starts inside
// an earlier one is part of what that one replaces, and is dropped.
func applyEdits(b []byte, edits []byteEdit) []byte {
	if len(edits) == 0 {
		return b
	}
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	out := make([]byte, 0, len(b))
	var last int64
	for _, e := range edits {
		if e.start < last || e.end < e.start || e.end > int64(len(b)) {
			continue
		}
		out = append(out, b[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, b[last:]...)
}

// verifyDocs are the documents verify hands gosaml2: doc, and, when the
// root signature must be checked apart (see above), rootDoc, the document
// as received with only the root Signature's own values cleaned.
type verifyDocs struct {
	doc     []byte
	rootDoc []byte
}

// buildDocs applies the KeyInfo cuts and the base64 fixes of the scan.
func buildDocs(raw []byte, scan *scanResult, cuts []keyInfoCut) verifyDocs {
	var base, covered []byteEdit
	for _, c := range cuts {
		base = append(base, byteEdit{start: c.start, end: c.end})
	}
	for _, f := range scan.base64Fixes {
		e := byteEdit{start: f.start, end: f.end, text: f.text}
		if f.inRootSig || !scan.rootSigned {
			base = append(base, e)
		} else {
			covered = append(covered, e)
		}
	}
	if len(covered) == 0 {
		return verifyDocs{doc: applyEdits(raw, base)}
	}
	rootDoc := applyEdits(raw, append([]byteEdit(nil), base...))
	// The root Signature is cut whole, with the edits inside it.
	all := []byteEdit{{start: scan.rootSigStart, end: scan.rootSigEnd}}
	all = append(all, base...)
	all = append(all, covered...)
	return verifyDocs{doc: applyEdits(raw, all), rootDoc: rootDoc}
}

// cleanBase64 returns raw with every base64 value of the scan cleaned: the
// document the SP decrypts for the pre-scan of an EncryptedAssertion.
func cleanBase64(raw []byte, scan *scanResult) []byte {
	edits := make([]byteEdit, 0, len(scan.base64Fixes))
	for _, f := range scan.base64Fixes {
		edits = append(edits, byteEdit{start: f.start, end: f.end, text: f.text})
	}
	return applyEdits(raw, edits)
}

// verifyRootSignature verifies the root signature of doc with goxmldsig,
// as gosaml2 would, at the given clock.
func verifyRootSignature(doc []byte, store dsig.X509CertificateStore, clock *dsig.Clock) error {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return err
	}
	if d.Root() == nil {
		return errors.New("saml: no root element")
	}
	ctx := dsig.NewDefaultValidationContext(store)
	ctx.Clock = clock
	_, err := ctx.Validate(d.Root())
	return err
}
