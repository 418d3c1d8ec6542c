package saml

import (
	"bytes"
	"encoding/xml"
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
	// allowRSA15 accepts RSA PKCS#1 v1.5 key transport.
	allowRSA15 bool
	// assertionRoot scans a decrypted Assertion instead of a protocol
	// message.
	assertionRoot bool
}

// scanResult is what the structural scan learned about an (unverified)
// document. It is used only to refuse documents and to decide which policy
// applies; identity data is never taken from it.
type scanResult struct {
	rootLocal string
	rootID    string
	// rootInResponseTo is the root's InResponseTo attribute, unverified.
	rootInResponseTo string
	rootSigned       bool
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
	// base64Fixes are base64Binary values (SignatureValue, CipherValue, an
	// X509Certificate outside a Signature) written with spaces or tabs,
	// which XML Schema allows and Go's decoder refuses, with their value
	// cleaned of whitespace (see normalise.go).
	base64Fixes []base64Fix
	// rootSigStart and rootSigEnd delimit the root's Signature element.
	rootSigStart, rootSigEnd int64
	// encryptedID reports an EncryptedID in an Assertion's Subject.
	encryptedID bool
	// keyInfoCerts are the first X509Certificate of each Signature's
	// KeyInfo, in document order: unverified, used only to name the
	// signer in a diagnosis.
	keyInfoCerts []string
}

// base64Fix is the byte range of a base64Binary value's text and the value
// without whitespace. inRootSig marks one inside the root's Signature,
// which no other signature covers.
type base64Fix struct {
	start, end int64
	text       string
	inRootSig  bool
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
//
// It is a driver: the checks are the steps in prescan_steps.go, run per
// token in a fixed order. On a refusal the result read so far is returned
// with the error, for diagnostics only.
func scanDocument(doc []byte, pol scanPolicy) (*scanResult, error) {
	if err := checkRawDocument(doc); err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	res := &scanResult{}
	sc := scanner{pol: pol, d: d, res: res, ids: map[string]bool{}, assertionDepth: -1}
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, malformedXML(err)
		}
		if err := sc.countToken(); err != nil {
			return res, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			var fr scanFrame
			if fr, err = sc.startElement(t, off); err == nil {
				// The push is done here, on the driver's own variable:
				// through a pointer it would move the element stack and
				// the ID set to the heap.
				sc.stack = append(sc.stack, fr)
			}
		case xml.EndElement:
			err = sc.endElement()
		default:
			err = sc.otherToken(tok, off)
		}
		if err != nil {
			return res, err
		}
	}
	if !sc.rootDone {
		return res, scanFail(ReasonMalformed, "no complete root element")
	}
	// res, not sc.res: returning a field of sc would move all of sc's
	// storage (the element stack, the ID set) to the heap.
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
