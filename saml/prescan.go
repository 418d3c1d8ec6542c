package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// XML namespaces ssokit reads. Every element the package inspects itself is
// matched on namespace and local name, never on the local name alone.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsXMLEnc    = "http://www.w3.org/2001/04/xmlenc#"
	nsXMLEnc11  = "http://www.w3.org/2009/xmlenc11#"
)

// Algorithm identifiers used by the signature and encryption policy.
const (
	algRSASHA1      = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algDSASHA1      = "http://www.w3.org/2000/09/xmldsig#dsa-sha1"
	algECDSASHA1    = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	algRSASHA256    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA384    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	algRSASHA512    = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	algECDSASHA256  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	algECDSASHA384  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	algECDSASHA512  = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"
	algDigestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	algDigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	algDigestSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algDigestSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

	algRSAOAEPMGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	algRSAOAEP11    = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	algRSA15        = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	algAES128CBC    = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	algAES256CBC    = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	algAES128GCM    = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	algAES192GCM    = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	algAES256GCM    = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
)

var (
	strongSignatureMethods = map[string]bool{
		algRSASHA256: true, algRSASHA384: true, algRSASHA512: true,
		algECDSASHA256: true, algECDSASHA384: true, algECDSASHA512: true,
	}
	sha1SignatureMethods = map[string]bool{algRSASHA1: true, algECDSASHA1: true}
	strongDigests        = map[string]bool{algDigestSHA256: true, algDigestSHA384: true, algDigestSHA512: true}
	keyTransportAllowed  = map[string]bool{algRSAOAEPMGF1P: true, algRSAOAEP11: true}
	contentEncAllowed    = map[string]bool{
		algAES128CBC: true, algAES256CBC: true, algAES128GCM: true, algAES192GCM: true, algAES256GCM: true,
	}
)

// Structural limits applied before any signature work. A legitimate SAML
// response nests about ten levels deep and declares a handful of namespaces.
const (
	maxXMLDepth        = 32
	maxXMLTokens       = 50000
	maxNSDeclarations  = 2048
	maxAttrsPerElement = 64
)

// scanPolicy says which algorithms the scan accepts.
type scanPolicy struct {
	allowSHA1 bool
	// assertionRoot scans a decrypted Assertion instead of a protocol
	// message.
	assertionRoot bool
}

// scanResult is what the structural scan learned about an (unverified)
// document. It is used only to refuse documents and to decide which policy
// applies; identity data is never taken from it.
type scanResult struct {
	rootLocal  string
	rootID     string
	rootSigned bool
	// rootHasDestination reports a Destination attribute on the root and
	// rootDestination its value: gosaml2 cannot tell an empty one from none.
	rootHasDestination bool
	rootDestination    string
	assertions         int
	encrypted          int
	assertionID        string
	assertionSigned    bool
	statusCode         string
	subStatusCode      string
	statusMessage      string
	// scdNotBefore is the NotBefore of the assertion's
	// SubjectConfirmationData, if any (gosaml2 does not read it).
	scdNotBefore string
	// keyInfoCuts are the byte ranges of Signature KeyInfo elements that
	// carry no X509Certificate (a KeyName or RSAKeyValue only): goxmldsig
	// refuses those, and KeyInfo is an unsigned hint, so they are cut.
	keyInfoCuts []keyInfoCut
	// sigWithoutCert reports a Signature without an X509Certificate: the
	// signer must be found among the trusted certificates one by one.
	sigWithoutCert bool
}

// keyInfoCut is the byte range of a certificate-less Signature KeyInfo.
// inAssertion marks one of an Assertion's signature, which a Response
// signature covers: it may be cut only when the Response is not signed.
type keyInfoCut struct {
	start, end  int64
	inAssertion bool
}

// scanError is a structural rejection with a stable reason.
type scanError struct {
	reason string
	msg    string
}

func (e *scanError) Error() string { return "saml: " + e.msg }

func scanFail(reason, format string, args ...any) error {
	return &scanError{reason: reason, msg: fmt.Sprintf(format, args...)}
}

type scanFrame struct {
	name xml.Name
	id   string
	// sig tracks a ds:Signature child being read.
	isSig bool
	// counts of singleton children, for Response, Assertion and Subject.
	counts map[string]int
}

// singletons lists the children that may appear at most once under a
// parent, by the parent's local name. encoding/xml keeps only one of
// repeated elements, so a second copy would be a parser differential.
var singletons = map[string]map[string]bool{
	"Response":  {"Issuer": true, "Status": true},
	"Assertion": {"Issuer": true, "Subject": true, "Conditions": true, "AuthnStatement": true},
	"Subject":   {"NameID": true, "SubjectConfirmation": true, "EncryptedID": true, "BaseID": true},
}

// assertionElements are SAML assertion element names; inside an Assertion
// they must be in the assertion namespace (a foreign <x:NameID> is refused).
// textOnlyElements hold a simple value and must not contain elements:
// encoding/xml reads only their direct text, another reader might not.
var textOnlyElements = map[string]bool{
	"Issuer": true, "NameID": true, "Audience": true, "AuthnContextClassRef": true,
}

var assertionElements = map[string]bool{
	"Issuer": true, "Subject": true, "NameID": true, "SubjectConfirmation": true, "SubjectConfirmationData": true,
	"Conditions": true, "AudienceRestriction": true, "Audience": true, "AuthnStatement": true, "AuthnContext": true,
	"AuthnContextClassRef": true, "AttributeStatement": true, "Attribute": true, "Assertion": true,
}

// scanDocument streams doc once and enforces the invariants that must hold
// before signature verification: no DTD, bounded depth, tokens and
// namespace declarations, a single root, unique IDs, signatures only as a
// direct child of the Response or an Assertion with exactly one Reference to
// that parent's ID, allowed signature, digest and encryption algorithms,
// exactly where Assertions may appear, and no comments inside an Assertion.
func scanDocument(doc []byte, pol scanPolicy) (*scanResult, error) {
	if bytes.Contains(doc, []byte("<!DOCTYPE")) || bytes.Contains(doc, []byte("<!ENTITY")) {
		return nil, scanFail(ReasonDoctype, "document type declarations are not allowed")
	}
	if bytes.Count(doc, []byte("xmlns")) > maxNSDeclarations {
		return nil, scanFail(ReasonTooComplex, "document declares more than %d namespaces", maxNSDeclarations)
	}
	if bytes.Count(doc, []byte("<")) > maxXMLTokens/2 {
		return nil, scanFail(ReasonTooComplex, "document has too many elements")
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	res := &scanResult{}
	var stack []scanFrame
	ids := map[string]bool{}
	tokens, nsDecls := 0, 0
	rootDone := false
	// Signature bookkeeping: the Signature element being read, its parent's
	// ID, and counters of its SignedInfo children.
	var (
		inSig      bool
		sigDepth   int
		sigParent  scanFrame
		sigRefs    int
		sigRefOK   bool
		sigMethods int
		// Per Signature: whether it names a certificate, and the KeyInfo
		// being read (start offset, whether it holds a certificate).
		sigHasCert     bool
		keyInfoStart   int64
		keyInfoHasCert bool
	)
	assertionDepth := -1
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, scanFail(ReasonMalformed, "malformed XML: %v", se.Msg)
			}
			return nil, scanFail(ReasonMalformed, "malformed XML: %v", err)
		}
		tokens++
		if tokens > maxXMLTokens {
			return nil, scanFail(ReasonTooComplex, "document has more than %d tokens", maxXMLTokens)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, scanFail(ReasonDoctype, "XML directives are not allowed")
		case xml.ProcInst:
			if t.Target != "xml" || len(stack) > 0 || rootDone {
				return nil, scanFail(ReasonMalformed, "processing instructions are not allowed")
			}
		case xml.Comment:
			if assertionDepth >= 0 {
				return nil, scanFail(ReasonCommentInAssertion, "comments inside an Assertion are not allowed")
			}
		case xml.CharData:
			if len(stack) == 0 && len(bytes.TrimSpace(t)) > 0 {
				return nil, scanFail(ReasonMalformed, "text outside the root element")
			}
		case xml.StartElement:
			if rootDone {
				return nil, scanFail(ReasonMalformed, "more than one root element")
			}
			if len(stack) >= maxXMLDepth {
				return nil, scanFail(ReasonTooComplex, "document nests deeper than %d elements", maxXMLDepth)
			}
			if len(t.Attr) > maxAttrsPerElement {
				return nil, scanFail(ReasonTooComplex, "element has more than %d attributes", maxAttrsPerElement)
			}
			if t.Name.Local == "" || strings.Contains(t.Name.Local, ":") {
				return nil, scanFail(ReasonMalformed, "element with an empty or invalid name")
			}
			// Well-formedness (Unique Att Spec), which encoding/xml does not
			// enforce: readers disagree on which duplicate wins.
			for i := range t.Attr {
				for j := i + 1; j < len(t.Attr); j++ {
					if t.Attr[i].Name == t.Attr[j].Name {
						return nil, scanFail(ReasonMalformed, "duplicate attribute %s", t.Attr[i].Name.Local)
					}
				}
			}
			fr := scanFrame{name: t.Name}
			var alg, uri string
			for _, a := range t.Attr {
				if a.Name.Local == "" || strings.Contains(a.Name.Local, ":") {
					return nil, scanFail(ReasonMalformed, "attribute with an empty or invalid name")
				}
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					nsDecls++
					if nsDecls > maxNSDeclarations {
						return nil, scanFail(ReasonTooComplex, "document declares more than %d namespaces", maxNSDeclarations)
					}
					continue
				}
				if a.Name.Space != "" {
					if a.Name.Local == "ID" {
						// etree (and so goxmldsig) may take a prefixed ID
						// for the element's ID; the scan would not.
						return nil, scanFail(ReasonWrapping, "namespace-qualified ID attribute")
					}
					continue
				}
				switch a.Name.Local {
				case "ID":
					if ids[a.Value] {
						return nil, scanFail(ReasonDuplicateID, "duplicate ID attribute %q", a.Value)
					}
					ids[a.Value] = true
					fr.id = a.Value
				case "Algorithm":
					alg = a.Value
				case "URI":
					uri = a.Value
				}
			}
			depth := len(stack)
			var parent scanFrame
			if depth > 0 {
				parent = stack[depth-1]
			}
			n := t.Name
			if depth > 0 && parent.counts != nil && singletons[parent.name.Local][n.Local] {
				parent.counts[n.Local]++
				if parent.counts[n.Local] > 1 {
					return nil, scanFail(ReasonDuplicateElement, "more than one %s in %s", n.Local, parent.name.Local)
				}
				if parent.name.Local == "Subject" && (n.Local == "NameID" || n.Local == "EncryptedID" || n.Local == "BaseID") {
					parent.counts["#identifier"]++
					if parent.counts["#identifier"] > 1 {
						return nil, scanFail(ReasonDuplicateElement, "more than one identifier in Subject")
					}
				}
			}
			if depth == 0 || (n.Space == nsAssertion && (n.Local == "Assertion" || n.Local == "Subject")) {
				fr.counts = map[string]int{}
			}
			if depth > 0 && parent.name.Space == nsAssertion && textOnlyElements[parent.name.Local] {
				return nil, scanFail(ReasonMalformed, "element inside %s", parent.name.Local)
			}
			if assertionDepth >= 0 && !inSig && n.Space == nsAssertion && n.Local == "SubjectConfirmationData" {
				for _, a := range t.Attr {
					if a.Name.Space == "" && a.Name.Local == "NotBefore" {
						res.scdNotBefore = a.Value
					}
				}
			}
			if assertionDepth >= 0 && !inSig && n.Space != nsAssertion && assertionElements[n.Local] {
				return nil, scanFail(ReasonForeignNamespace, "element %s in namespace %q inside an Assertion", n.Local, n.Space)
			}
			switch {
			case depth == 0 && pol.assertionRoot:
				if n.Space != nsAssertion || n.Local != "Assertion" {
					return nil, scanFail(ReasonMalformed, "decrypted content is not an Assertion")
				}
				res.rootLocal = n.Local
				res.assertions++
				res.assertionID = fr.id
				assertionDepth = 0
			case depth == 0:
				res.rootLocal = n.Local
				res.rootID = fr.id
				for _, a := range t.Attr {
					if a.Name.Space == "" && a.Name.Local == "Destination" {
						res.rootHasDestination, res.rootDestination = true, a.Value
					}
				}
				if n.Space != nsProtocol {
					return nil, scanFail(ReasonMalformed, "root element is not in the SAML protocol namespace")
				}
			case (n.Local == "Assertion" || n.Local == "EncryptedAssertion") && n.Space != nsAssertion:
				// A SAML 1.x or foreign-namespace Assertion is invisible to
				// the namespace-aware lookups but not to every reader.
				return nil, scanFail(ReasonForeignNamespace, "%s element in namespace %q", n.Local, n.Space)
			case n.Space == nsProtocol && (n.Local == "Response" || n.Local == "LogoutRequest" || n.Local == "LogoutResponse"):
				return nil, scanFail(ReasonWrapping, "nested %s element", n.Local)
			case n.Space == nsAssertion && n.Local == "Assertion":
				if depth != 1 || res.rootLocal != "Response" {
					return nil, scanFail(ReasonWrapping, "Assertion outside the top level of the Response")
				}
				res.assertions++
				res.assertionID = fr.id
				assertionDepth = depth
			case n.Space == nsAssertion && n.Local == "EncryptedAssertion":
				if depth != 1 || res.rootLocal != "Response" {
					return nil, scanFail(ReasonWrapping, "EncryptedAssertion outside the top level of the Response")
				}
				res.encrypted++
			case n.Space == nsDSig && n.Local == "Signature":
				if inSig {
					return nil, scanFail(ReasonWrapping, "nested Signature element")
				}
				top := depth == 1 && !pol.assertionRoot
				inAssertion := (depth == 2 || pol.assertionRoot && depth == 1) && parent.name.Space == nsAssertion && parent.name.Local == "Assertion"
				if !top && !inAssertion {
					return nil, scanFail(ReasonWrapping, "Signature element in an unexpected place")
				}
				if parent.counts == nil {
					return nil, scanFail(ReasonWrapping, "Signature element in an unexpected place")
				}
				parent.counts["#Signature"]++
				if parent.counts["#Signature"] > 1 {
					return nil, scanFail(ReasonWrapping, "more than one Signature on one element")
				}
				inSig, sigDepth, sigParent, sigRefs, sigRefOK, sigMethods = true, depth, parent, 0, false, 0
				sigHasCert = false
				fr.isSig = true
			case inSig && n.Space == nsDSig && n.Local == "KeyInfo" && depth == sigDepth+1:
				keyInfoStart, keyInfoHasCert = off, false
			case inSig && n.Space == nsDSig && n.Local == "X509Certificate":
				sigHasCert, keyInfoHasCert = true, true
			case inSig && n.Space == nsDSig && n.Local == "Reference":
				if depth != sigDepth+2 {
					return nil, scanFail(ReasonWrapping, "Reference outside SignedInfo")
				}
				sigRefs++
				// URI="" names the whole document: accepted only for the
				// signature of the root (where the two coincide), never
				// for an Assertion's.
				sigRefOK = sigParent.id != "" && uri == "#"+sigParent.id || uri == "" && sigDepth == 1 && !pol.assertionRoot
			case inSig && n.Space == nsDSig && n.Local == "SignatureMethod":
				sigMethods++
				if !strongSignatureMethods[alg] && !(pol.allowSHA1 && sha1SignatureMethods[alg]) {
					if sha1SignatureMethods[alg] || alg == algDSASHA1 {
						return nil, scanFail(ReasonWeakAlgorithm, "signature algorithm %q is not allowed", alg)
					}
					return nil, scanFail(ReasonUnsupportedAlgorithm, "signature algorithm %q is not supported", alg)
				}
			case inSig && n.Space == nsDSig && n.Local == "DigestMethod":
				if !strongDigests[alg] && !(pol.allowSHA1 && alg == algDigestSHA1) {
					if alg == algDigestSHA1 {
						return nil, scanFail(ReasonWeakAlgorithm, "digest algorithm %q is not allowed", alg)
					}
					return nil, scanFail(ReasonUnsupportedAlgorithm, "digest algorithm %q is not supported", alg)
				}
			case n.Space == nsXMLEnc && n.Local == "EncryptionMethod":
				if parent.name.Space == nsXMLEnc && parent.name.Local == "EncryptedKey" {
					if alg == algRSA15 {
						return nil, scanFail(ReasonWeakAlgorithm, "key transport %q is not allowed", alg)
					}
					if !keyTransportAllowed[alg] {
						return nil, scanFail(ReasonUnsupportedAlgorithm, "key transport %q is not supported", alg)
					}
				} else if parent.name.Space == nsXMLEnc && parent.name.Local == "EncryptedData" {
					if !contentEncAllowed[alg] {
						return nil, scanFail(ReasonUnsupportedAlgorithm, "content encryption %q is not supported", alg)
					}
				}
			case n.Space == nsProtocol && n.Local == "StatusCode":
				switch {
				case depth == 2 && parent.name.Local == "Status":
					for _, a := range t.Attr {
						if a.Name.Space == "" && a.Name.Local == "Value" {
							res.statusCode = a.Value
						}
					}
				case depth == 3 && parent.name.Local == "StatusCode":
					for _, a := range t.Attr {
						if a.Name.Space == "" && a.Name.Local == "Value" {
							res.subStatusCode = a.Value
						}
					}
				}
			}
			stack = append(stack, fr)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, scanFail(ReasonMalformed, "unbalanced end element")
			}
			fr := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			depth := len(stack)
			if inSig && depth == sigDepth+1 && fr.name.Space == nsDSig && fr.name.Local == "KeyInfo" && !keyInfoHasCert {
				res.keyInfoCuts = append(res.keyInfoCuts, keyInfoCut{start: keyInfoStart, end: d.InputOffset(), inAssertion: sigDepth > 1})
			}
			if fr.isSig && depth == sigDepth {
				if !sigHasCert {
					res.sigWithoutCert = true
				}
				if sigRefs != 1 {
					return nil, scanFail(ReasonWrapping, "Signature has %d References, want exactly 1", sigRefs)
				}
				if !sigRefOK {
					return nil, scanFail(ReasonWrapping, "Signature does not reference its parent element's ID")
				}
				if sigMethods != 1 {
					return nil, scanFail(ReasonSignatureInvalid, "Signature has %d SignatureMethods, want exactly 1", sigMethods)
				}
				if depth == 1 && !pol.assertionRoot {
					res.rootSigned = true
				} else {
					res.assertionSigned = true
				}
				inSig = false
			}
			if depth == assertionDepth && fr.name.Space == nsAssertion && fr.name.Local == "Assertion" {
				assertionDepth = -1
			}
			if depth == 0 {
				rootDone = true
			}
		}
	}
	if !rootDone {
		return nil, scanFail(ReasonMalformed, "no complete root element")
	}
	return res, nil
}

// isSuccessStatus reports whether code is the SAML Success status.
func isSuccessStatus(code string) bool {
	return code == "urn:oasis:names:tc:SAML:2.0:status:Success"
}

// shortStatus returns the last component of a SAML status URN.
func shortStatus(code string) string {
	if i := strings.LastIndexByte(code, ':'); i >= 0 {
		return code[i+1:]
	}
	return code
}
