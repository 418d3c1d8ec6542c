package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
)

// The steps of scanDocument. Each one is a check of its own; their order is
// the order of the original single pass and is part of the behaviour (the
// first failing check names the reason).

// scanner is the state one scanDocument pass shares between its steps. It
// lives on the driver's stack.
type scanner struct {
	pol   scanPolicy
	d     *xml.Decoder
	res   *scanResult
	stack []scanFrame
	// ids holds every ID attribute seen, for uniqueness.
	ids             map[string]bool
	tokens, nsDecls int
	rootDone        bool
	// assertionDepth is the depth of the Assertion being read, or -1.
	assertionDepth int
	sig            scanSig
}

// scanSig is the bookkeeping of the ds:Signature being read: where it is,
// its parent (whose ID its Reference must name) and counters of its
// SignedInfo children.
type scanSig struct {
	active  bool
	depth   int
	parent  scanFrame
	refs    int
	refOK   bool
	methods int
	// hasCert reports whether the Signature names a certificate;
	// keyInfoStart and keyInfoHasCert describe the KeyInfo being read.
	hasCert        bool
	keyInfoStart   int64
	keyInfoHasCert bool
	// certSeen reports that the first KeyInfo certificate was recorded.
	certSeen bool
	// start is the input offset of the Signature element.
	start int64
}

// scanElement is the start element being read: the frame that will be
// pushed for it, its parent's frame, its depth and input offset, and the
// Algorithm and URI attributes the signature and encryption steps use.
type scanElement struct {
	t        xml.StartElement
	fr       scanFrame
	parent   scanFrame
	depth    int
	off      int64
	alg, uri string
}

// checkRawDocument refuses, before any parsing, a document with a DTD or an
// entity declaration (entity expansion and external entities), and one whose
// namespace declarations or elements obviously exceed the limits. The counts
// are upper bounds of what the parser would see, so the cheap byte scan
// spares the parser hostile input.
func checkRawDocument(doc []byte) error {
	if bytes.Contains(doc, []byte("<!DOCTYPE")) || bytes.Contains(doc, []byte("<!ENTITY")) {
		return scanFail(ReasonDoctype, "document type declarations are not allowed")
	}
	if bytes.Count(doc, []byte("xmlns")) > maxNSDeclarations {
		return scanFail(ReasonTooComplex, "document declares more than %d namespaces", maxNSDeclarations)
	}
	if bytes.Count(doc, []byte("<")) > maxXMLTokens/2 {
		return scanFail(ReasonTooComplex, "document has too many elements")
	}
	return nil
}

// malformedXML turns a decoder error into a ReasonMalformed rejection,
// keeping only the message of a syntax error.
func malformedXML(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return scanFail(ReasonMalformed, "malformed XML: %v", se.Msg)
	}
	return scanFail(ReasonMalformed, "malformed XML: %v", err)
}

// countToken enforces the token budget, maxXMLTokens.
func (sc *scanner) countToken() error {
	sc.tokens++
	if sc.tokens > maxXMLTokens {
		return scanFail(ReasonTooComplex, "document has more than %d tokens", maxXMLTokens)
	}
	return nil
}

// otherToken checks a token that is not an element: no directive (a DTD),
// a processing instruction only as the XML declaration before the root, no
// comment inside an Assertion (a comment splits a NameID's text, which
// readers then join or truncate differently), and no text outside the root.
func (sc *scanner) otherToken(tok xml.Token, off int64) error {
	switch t := tok.(type) {
	case xml.Directive:
		return scanFail(ReasonDoctype, "XML directives are not allowed")
	case xml.ProcInst:
		if t.Target != "xml" || len(sc.stack) > 0 || sc.rootDone {
			return scanFail(ReasonMalformed, "processing instructions are not allowed")
		}
	case xml.Comment:
		if sc.assertionDepth >= 0 {
			return scanFail(ReasonCommentInAssertion, "comments inside an Assertion are not allowed")
		}
	case xml.CharData:
		if len(sc.stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
			return scanFail(ReasonMalformed, "text outside the root element")
		}
		if len(sc.stack) > 0 {
			sc.readBase64Text(t, off)
		}
	}
	return nil
}

// readBase64Text looks at the text of a base64Binary element: it keeps the
// first certificate of a Signature's KeyInfo for diagnoses, and records a
// value written with spaces or tabs for normalisation. A certificate
// inside a Signature is left alone: goxmldsig ignores its whitespace.
func (sc *scanner) readBase64Text(t xml.CharData, off int64) {
	top := sc.stack[len(sc.stack)-1].name
	inSig := sc.sig.active
	switch {
	case top.Space == nsDSig && top.Local == "X509Certificate" && inSig:
		if sc.sig.keyInfoHasCert && !sc.sig.certSeen {
			sc.sig.certSeen = true
			sc.res.keyInfoCerts = append(sc.res.keyInfoCerts, string(t))
		}
		return
	case top.Space == nsDSig && top.Local == "SignatureValue" && inSig:
	case top.Space == nsXMLEnc && top.Local == "CipherValue":
	case top.Space == nsDSig && top.Local == "X509Certificate":
	default:
		return
	}
	if !bytes.ContainsAny(t, " \t") {
		return
	}
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(t))
	sc.res.base64Fixes = append(sc.res.base64Fixes, base64Fix{start: off, end: sc.d.InputOffset(), text: clean,
		inRootSig: inSig && sc.sig.depth == 1 && !sc.pol.assertionRoot})
}

// startElement runs the element steps in order and returns the frame the
// driver pushes for the element when all pass.
func (sc *scanner) startElement(t xml.StartElement, off int64) (scanFrame, error) {
	el := scanElement{t: t, fr: scanFrame{name: t.Name}, depth: len(sc.stack), off: off}
	if el.depth > 0 {
		el.parent = sc.stack[el.depth-1]
	}
	if err := sc.checkElementShape(&el); err != nil {
		return scanFrame{}, err
	}
	if err := sc.readAttributes(&el); err != nil {
		return scanFrame{}, err
	}
	if err := checkNesting(&el); err != nil {
		return scanFrame{}, err
	}
	if err := sc.readAssertionContent(&el); err != nil {
		return scanFrame{}, err
	}
	if err := sc.placeElement(&el); err != nil {
		return scanFrame{}, err
	}
	return el.fr, nil
}

// checkElementShape refuses an element that breaks the document's shape: a
// second root, nesting deeper than maxXMLDepth, more than maxAttrsPerElement
// attributes, an empty or colon-bearing local name, and a repeated attribute
// (the Unique Att Spec well-formedness rule, which encoding/xml does not
// enforce: readers disagree on which duplicate wins).
func (sc *scanner) checkElementShape(el *scanElement) error {
	t := &el.t
	if sc.rootDone {
		return scanFail(ReasonMalformed, "more than one root element")
	}
	if el.depth >= maxXMLDepth {
		return scanFail(ReasonTooComplex, "document nests deeper than %d elements", maxXMLDepth)
	}
	if len(t.Attr) > maxAttrsPerElement {
		return scanFail(ReasonTooComplex, "element has more than %d attributes", maxAttrsPerElement)
	}
	if t.Name.Local == "" || strings.Contains(t.Name.Local, ":") {
		return scanFail(ReasonMalformed, "element with an empty or invalid name")
	}
	for i := range t.Attr {
		for j := i + 1; j < len(t.Attr); j++ {
			if t.Attr[i].Name == t.Attr[j].Name {
				return scanFail(ReasonMalformed, "duplicate attribute %s", t.Attr[i].Name.Local)
			}
		}
	}
	return nil
}

// readAttributes checks each attribute's name, counts namespace declarations
// against maxNSDeclarations, and records the element's ID, which must be
// unique in the document and never namespace-qualified (etree, and so
// goxmldsig, may take a prefixed ID for the element's ID; the scan would
// not). It keeps the Algorithm and URI values for the later steps.
func (sc *scanner) readAttributes(el *scanElement) error {
	for _, a := range el.t.Attr {
		if a.Name.Local == "" || strings.Contains(a.Name.Local, ":") {
			return scanFail(ReasonMalformed, "attribute with an empty or invalid name")
		}
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			sc.nsDecls++
			if sc.nsDecls > maxNSDeclarations {
				return scanFail(ReasonTooComplex, "document declares more than %d namespaces", maxNSDeclarations)
			}
			continue
		}
		if a.Name.Space != "" {
			if a.Name.Local == "ID" {
				return scanFail(ReasonWrapping, "namespace-qualified ID attribute")
			}
			continue
		}
		switch a.Name.Local {
		case "ID":
			if sc.ids[a.Value] {
				return scanFail(ReasonDuplicateID, "duplicate ID attribute %q", a.Value)
			}
			sc.ids[a.Value] = true
			el.fr.id = a.Value
		case "Algorithm":
			el.alg = a.Value
		case "URI":
			el.uri = a.Value
		}
	}
	return nil
}

// checkNesting enforces what may be nested where: a child listed in
// singletons appears at most once under its parent (encoding/xml keeps only
// one of repeated elements, so a second copy would be a parser
// differential), a Subject holds at most one identifier, and a text-only
// assertion element holds no element. It gives the root, an Assertion and a
// Subject the counters their own children are checked against.
func checkNesting(el *scanElement) error {
	n, parent := el.t.Name, &el.parent
	if el.depth > 0 && parent.counts != nil && singletons[parent.name.Local][n.Local] {
		parent.counts[n.Local]++
		if parent.counts[n.Local] > 1 {
			return scanFail(ReasonDuplicateElement, "more than one %s in %s", n.Local, parent.name.Local)
		}
		if parent.name.Local == "Subject" && (n.Local == "NameID" || n.Local == "EncryptedID" || n.Local == "BaseID") {
			parent.counts["#identifier"]++
			if parent.counts["#identifier"] > 1 {
				return scanFail(ReasonDuplicateElement, "more than one identifier in Subject")
			}
		}
	}
	if el.depth == 0 || (n.Space == nsAssertion && (n.Local == "Assertion" || n.Local == "Subject")) {
		el.fr.counts = map[string]int{}
	}
	if el.depth > 0 && parent.name.Space == nsAssertion && textOnlyElements[parent.name.Local] {
		return scanFail(ReasonMalformed, "element inside %s", parent.name.Local)
	}
	return nil
}

// readAssertionContent looks at an element inside an Assertion (outside its
// Signature): it records the SubjectConfirmationData NotBefore, which
// gosaml2 does not read, and refuses a SAML assertion element in another
// namespace (a foreign <x:NameID> is invisible to the namespace-aware
// reader, but not to every reader).
func (sc *scanner) readAssertionContent(el *scanElement) error {
	if sc.assertionDepth < 0 || sc.sig.active {
		return nil
	}
	n := el.t.Name
	if n.Space == nsAssertion && n.Local == "EncryptedID" && el.parent.name.Local == "Subject" {
		sc.res.encryptedID = true
	}
	if n.Space == nsAssertion && n.Local == "SubjectConfirmationData" {
		if v, ok := attrValue(&el.t, "NotBefore"); ok {
			sc.res.scdNotBefore = v
		}
	}
	if n.Space != nsAssertion && assertionElements[n.Local] {
		return scanFail(ReasonForeignNamespace, "element %s in namespace %q inside an Assertion", n.Local, n.Space)
	}
	return nil
}

// placeElement checks an element by kind: where it may appear and which
// algorithm it may name. The kinds overlap, so the first matching case
// decides, in this order.
func (sc *scanner) placeElement(el *scanElement) error {
	n, depth := el.t.Name, el.depth
	switch {
	case depth == 0 && sc.pol.assertionRoot:
		return sc.readAssertionRoot(el)
	case depth == 0:
		return sc.readProtocolRoot(el)
	case (n.Local == "Assertion" || n.Local == "EncryptedAssertion") && n.Space != nsAssertion:
		// A SAML 1.x or foreign-namespace Assertion is invisible to
		// the namespace-aware lookups but not to every reader.
		return scanFail(ReasonForeignNamespace, "%s element in namespace %q", n.Local, n.Space)
	case n.Space == nsProtocol && (n.Local == "Response" || n.Local == "LogoutRequest" || n.Local == "LogoutResponse"):
		return scanFail(ReasonWrapping, "nested %s element", n.Local)
	case n.Space == nsAssertion && n.Local == "Assertion":
		return sc.readAssertion(el)
	case n.Space == nsAssertion && n.Local == "EncryptedAssertion":
		if depth != 1 || sc.res.rootLocal != "Response" {
			return scanFail(ReasonWrapping, "EncryptedAssertion outside the top level of the Response")
		}
		sc.res.encrypted++
	case n.Space == nsDSig && n.Local == "Signature":
		return sc.openSignature(el)
	case sc.sig.active && n.Space == nsDSig && n.Local == "KeyInfo" && depth == sc.sig.depth+1:
		sc.sig.keyInfoStart, sc.sig.keyInfoHasCert = el.off, false
	case sc.sig.active && n.Space == nsDSig && n.Local == "X509Certificate":
		sc.sig.hasCert, sc.sig.keyInfoHasCert = true, true
	case sc.sig.active && n.Space == nsDSig && n.Local == "Reference":
		return sc.readReference(el)
	case sc.sig.active && n.Space == nsDSig && n.Local == "SignatureMethod":
		sc.sig.methods++
		return checkSignatureMethod(el.alg, sc.pol)
	case sc.sig.active && n.Space == nsDSig && n.Local == "DigestMethod":
		return checkDigestMethod(el.alg, sc.pol)
	case n.Space == nsXMLEnc && n.Local == "EncryptionMethod":
		return checkEncryptionMethod(el.parent.name, el.alg, sc.pol)
	case n.Space == nsProtocol && n.Local == "StatusCode":
		sc.readStatusCode(el)
	}
	return nil
}

// readAssertionRoot accepts only a SAML 2.0 Assertion as the root of
// decrypted content, counts it as the document's assertion and starts the
// Assertion zone the comment and namespace checks apply to.
func (sc *scanner) readAssertionRoot(el *scanElement) error {
	n := el.t.Name
	if n.Space != nsAssertion || n.Local != "Assertion" {
		return scanFail(ReasonMalformed, "decrypted content is not an Assertion")
	}
	sc.res.rootLocal = n.Local
	sc.res.assertions++
	sc.res.assertionID = el.fr.id
	sc.assertionDepth = 0
	return nil
}

// readProtocolRoot records a protocol message's root name, ID and
// Destination (whose presence is kept apart from its value: gosaml2 cannot
// tell an empty one from none), and refuses a root outside the SAML
// protocol namespace.
func (sc *scanner) readProtocolRoot(el *scanElement) error {
	n := el.t.Name
	sc.res.rootLocal = n.Local
	sc.res.rootID = el.fr.id
	sc.res.rootInResponseTo, _ = attrValue(&el.t, "InResponseTo")
	if v, ok := attrValue(&el.t, "Destination"); ok {
		sc.res.rootHasDestination, sc.res.rootDestination = true, v
	}
	if n.Space != nsProtocol {
		return scanFail(ReasonMalformed, "root element is not in the SAML protocol namespace")
	}
	return nil
}

// readAssertion accepts an Assertion only as a direct child of a Response
// (anywhere else it is a wrapping attempt), counts it and starts the
// Assertion zone the comment and namespace checks apply to.
func (sc *scanner) readAssertion(el *scanElement) error {
	if el.depth != 1 || sc.res.rootLocal != "Response" {
		return scanFail(ReasonWrapping, "Assertion outside the top level of the Response")
	}
	sc.res.assertions++
	sc.res.assertionID = el.fr.id
	sc.assertionDepth = el.depth
	return nil
}

// openSignature accepts a Signature only as a direct child of the root or
// of an Assertion, at most one per element and never nested (a signature
// elsewhere is the signature-wrapping pattern), and starts its bookkeeping.
func (sc *scanner) openSignature(el *scanElement) error {
	if sc.sig.active {
		return scanFail(ReasonWrapping, "nested Signature element")
	}
	depth, parent := el.depth, &el.parent
	top := depth == 1 && !sc.pol.assertionRoot
	inAssertion := (depth == 2 || sc.pol.assertionRoot && depth == 1) && parent.name.Space == nsAssertion && parent.name.Local == "Assertion"
	if !top && !inAssertion {
		return scanFail(ReasonWrapping, "Signature element in an unexpected place")
	}
	if parent.counts == nil {
		return scanFail(ReasonWrapping, "Signature element in an unexpected place")
	}
	parent.counts["#Signature"]++
	if parent.counts["#Signature"] > 1 {
		return scanFail(ReasonWrapping, "more than one Signature on one element")
	}
	// keyInfoStart and keyInfoHasCert are set when a KeyInfo opens.
	s := &sc.sig
	s.active, s.depth, s.parent, s.refs, s.refOK, s.methods = true, depth, el.parent, 0, false, 0
	s.hasCert, s.certSeen, s.start = false, false, el.off
	el.fr.isSig = true
	return nil
}

// readReference accepts a Reference only directly inside SignedInfo and
// records whether it names the signature's parent. URI="" names the whole
// document: accepted only for the signature of the root (where the two
// coincide), never for an Assertion's.
func (sc *scanner) readReference(el *scanElement) error {
	if el.depth != sc.sig.depth+2 {
		return scanFail(ReasonWrapping, "Reference outside SignedInfo")
	}
	sc.sig.refs++
	sc.sig.refOK = sc.sig.parent.id != "" && el.uri == "#"+sc.sig.parent.id || el.uri == "" && sc.sig.depth == 1 && !sc.pol.assertionRoot
	return nil
}

// checkSignatureMethod accepts only the strong signature algorithms, and
// the SHA-1 ones when the policy allows them; a refused SHA-1 or DSA
// algorithm is weak, anything else unsupported.
func checkSignatureMethod(alg string, pol scanPolicy) error {
	if !strongSignatureMethods[alg] && !(pol.allowSHA1 && sha1SignatureMethods[alg]) {
		if sha1SignatureMethods[alg] || alg == algDSASHA1 {
			return scanFail(ReasonWeakAlgorithm, "signature algorithm %q is not allowed", alg)
		}
		return scanFail(ReasonUnsupportedAlgorithm, "signature algorithm %q is not supported", alg)
	}
	return nil
}

// checkDigestMethod accepts only the strong digests, and SHA-1 when the
// policy allows it; a refused SHA-1 is weak, anything else unsupported.
func checkDigestMethod(alg string, pol scanPolicy) error {
	if !strongDigests[alg] && !(pol.allowSHA1 && alg == algDigestSHA1) {
		if alg == algDigestSHA1 {
			return scanFail(ReasonWeakAlgorithm, "digest algorithm %q is not allowed", alg)
		}
		return scanFail(ReasonUnsupportedAlgorithm, "digest algorithm %q is not supported", alg)
	}
	return nil
}

// checkEncryptionMethod applies the encryption policy by the method's
// parent: RSA-OAEP key transport for an EncryptedKey (RSA 1.5 is weak: it
// invites padding-oracle attacks, and is accepted only when the policy
// allows it), AES-CBC or AES-GCM content encryption for EncryptedData.
func checkEncryptionMethod(parent xml.Name, alg string, pol scanPolicy) error {
	if parent.Space == nsXMLEnc && parent.Local == "EncryptedKey" {
		if alg == algRSA15 && pol.allowRSA15 {
			return nil
		}
		if alg == algRSA15 {
			return scanFail(ReasonWeakAlgorithm, "key transport %q (RSA PKCS#1 v1.5) is not allowed: configure the IdP "+
				"to encrypt with RSA-OAEP, or set the connection's AllowRSA15KeyTransport (allow_rsa15_key_transport) if it cannot", alg)
		}
		if !keyTransportAllowed[alg] {
			return scanFail(ReasonUnsupportedAlgorithm, "key transport %q is not supported", alg)
		}
	} else if parent.Space == nsXMLEnc && parent.Local == "EncryptedData" {
		if !contentEncAllowed[alg] {
			return scanFail(ReasonUnsupportedAlgorithm, "content encryption %q is not supported", alg)
		}
	}
	return nil
}

// readStatusCode records the Value of the top-level StatusCode and of its
// first sub-code, which the caller turns into a status rejection.
func (sc *scanner) readStatusCode(el *scanElement) {
	switch {
	case el.depth == 2 && el.parent.name.Local == "Status":
		if v, ok := attrValue(&el.t, "Value"); ok {
			sc.res.statusCode = v
		}
	case el.depth == 3 && el.parent.name.Local == "StatusCode":
		if v, ok := attrValue(&el.t, "Value"); ok {
			sc.res.subStatusCode = v
		}
	}
}

// endElement pops the element's frame and closes what the element ends: a
// certificate-less KeyInfo is recorded for cutting, a Signature gets its
// final checks, an Assertion ends the Assertion zone and the root ends the
// document.
func (sc *scanner) endElement() error {
	if len(sc.stack) == 0 {
		return scanFail(ReasonMalformed, "unbalanced end element")
	}
	fr := sc.stack[len(sc.stack)-1]
	sc.stack = sc.stack[:len(sc.stack)-1]
	depth := len(sc.stack)
	if sc.sig.active && depth == sc.sig.depth+1 && fr.name.Space == nsDSig && fr.name.Local == "KeyInfo" && !sc.sig.keyInfoHasCert {
		sc.res.keyInfoCuts = append(sc.res.keyInfoCuts, keyInfoCut{start: sc.sig.keyInfoStart, end: sc.d.InputOffset(), inAssertion: sc.sig.depth > 1})
	}
	if fr.isSig && depth == sc.sig.depth {
		if err := sc.closeSignature(depth); err != nil {
			return err
		}
	}
	if depth == sc.assertionDepth && fr.name.Space == nsAssertion && fr.name.Local == "Assertion" {
		sc.assertionDepth = -1
	}
	if depth == 0 {
		sc.rootDone = true
	}
	return nil
}

// closeSignature requires of the Signature that ends at depth exactly one
// Reference, naming its parent's ID, and exactly one SignatureMethod, and
// records what it signs. A Signature without a certificate is noted: its signer must be
// found among the trusted certificates one by one.
func (sc *scanner) closeSignature(depth int) error {
	if !sc.sig.hasCert {
		sc.res.sigWithoutCert = true
	}
	if sc.sig.refs != 1 {
		return scanFail(ReasonWrapping, "Signature has %d References, want exactly 1", sc.sig.refs)
	}
	if !sc.sig.refOK {
		return scanFail(ReasonWrapping, "Signature does not reference its parent element's ID")
	}
	if sc.sig.methods != 1 {
		return scanFail(ReasonSignatureInvalid, "Signature has %d SignatureMethods, want exactly 1", sc.sig.methods)
	}
	if depth == 1 && !sc.pol.assertionRoot {
		sc.res.rootSigned = true
		sc.res.rootSigStart, sc.res.rootSigEnd = sc.sig.start, sc.d.InputOffset()
	} else {
		sc.res.assertionSigned = true
	}
	sc.sig.active = false
	return nil
}

// attrValue returns the value of t's un-namespaced attribute local and
// whether it is present.
func attrValue(t *xml.StartElement, local string) (string, bool) {
	v, ok := "", false
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			v, ok = a.Value, true
		}
	}
	return v, ok
}
