package saml

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"strings"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// spIdentity is the SP side a response must be addressed to.
type spIdentity struct {
	entityID string
	acsURL   string
}

// verified is the outcome of validateResponse: data read only from the
// element goxmldsig verified.
type verified struct {
	assertion    types.Assertion
	assertionID  string
	inResponseTo string
	issueInstant time.Time
	// expiresAt is the latest NotOnOrAfter of the assertion (conditions or
	// subject confirmation) plus the skew: the replay-cache lifetime.
	expiresAt    time.Time
	encrypted    bool
	responseSig  bool
	assertionSig bool
	// sessionExpiry is the AuthnStatement's SessionNotOnOrAfter (zero when
	// absent), in the future.
	sessionExpiry time.Time
}

// decodeBase64Loose decodes standard base64, ignoring whitespace (some IdPs
// wrap lines).
func decodeBase64Loose(s string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(clean)
}

// validateResponse is the validation core of the ACS: it takes the
// base64 form value and returns the verified assertion or a
// *sso.ValidationError. It touches no store; request binding and replay
// checks follow in the handler.
func (s *SP) validateResponse(conn *sso.Connection, id spIdentity, encoded string, now time.Time) (*verified, error) {
	cfg := conn.SAML
	if cfg == nil || cfg.IdPEntityID == "" || len(cfg.Certificates) == 0 {
		return nil, invalid(ReasonNotSAML, errors.New("saml: connection has no IdP entity ID or certificate"))
	}
	raw, err := decodeBase64Loose(encoded)
	if err != nil || len(raw) == 0 {
		return nil, invalid(ReasonMalformed, err)
	}
	// .NET-based IdPs may prefix a UTF-8 byte order mark; it is not content.
	raw = bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))
	// 1. Structural scan: DTD, limits, signature placement, algorithms.
	scan, err := scanDocument(raw, scanPolicy{allowSHA1: cfg.AllowSHA1})
	if err != nil {
		return nil, classify(err)
	}
	if scan.rootLocal != "Response" {
		return nil, invalid(ReasonMalformed, errors.New("saml: not a Response"))
	}
	if scan.statusCode != "" && !isSuccessStatus(scan.statusCode) {
		got := shortStatus(scan.statusCode)
		if scan.subStatusCode != "" {
			got += "/" + shortStatus(scan.subStatusCode)
		}
		return nil, mismatch(ReasonStatus, "Success", got)
	}
	if n := scan.assertions + scan.encrypted; n != 1 {
		return nil, &sso.ValidationError{Protocol: sso.ProtocolSAML, Reason: ReasonAssertionCount, Want: "1", Got: itoa(n)}
	}
	if cfg.RequireEncryptedAssertions && scan.encrypted == 0 {
		return nil, invalid(ReasonEncryptionRequired, nil)
	}
	kp := s.keyFor(conn)
	ks := decryptionKeyStore(kp)
	assertionSigned := scan.assertionSigned
	scdNotBefore := scan.scdNotBefore
	var iscan *scanResult
	if scan.encrypted == 1 {
		if ks == nil {
			return nil, invalid(ReasonDecryptionFailed, errors.New("saml: no RSA SP key to decrypt assertions"))
		}
		inner, err := decryptForScan(raw, kp)
		if err != nil {
			return nil, invalid(ReasonDecryptionFailed, err)
		}
		iscan, err = scanDocument(inner, scanPolicy{allowSHA1: cfg.AllowSHA1, assertionRoot: true})
		if err != nil {
			return nil, classify(err)
		}
		assertionSigned = iscan.assertionSigned
		scdNotBefore = iscan.scdNotBefore
	}
	if !assertionSigned && !(cfg.AllowResponseSignatureOnly && scan.rootSigned) {
		return nil, invalid(ReasonSignatureMissing, errors.New("saml: the assertion is not signed"))
	}
	// 2. Round-trip validation, signature verification and decryption by
	// gosaml2/goxmldsig. The clock is moved back by the skew so that
	// SubjectConfirmationData NotOnOrAfter gets the same tolerance as below.
	certs, err := s.trustedCerts(cfg.Certificates)
	if err != nil {
		return nil, invalid(ReasonSignatureInvalid, err)
	}
	skew := s.cfg.MaxClockSkew
	// goxmldsig also checks the signing certificate's validity period at this
	// clock, so never move it before the newest trusted certificate became
	// valid: an IdP that rotated to a certificate minted moments ago must
	// still verify.
	libClock := now.Add(-skew)
	for _, c := range certs {
		if c.NotBefore.After(libClock) && !c.NotBefore.After(now) {
			libClock = c.NotBefore
		}
	}
	verify := func(doc []byte, roots []*x509.Certificate) (*types.Response, error) {
		sp := &saml2.SAMLServiceProvider{
			IdentityProviderIssuer:      cfg.IdPEntityID,
			AssertionConsumerServiceURL: id.acsURL,
			ServiceProviderIssuer:       id.entityID,
			AudienceURI:                 id.entityID,
			IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: roots},
			SPKeyStore:                  ks,
			AllowMissingAttributes:      true,
			Clock:                       dsig.NewFakeClockAt(libClock),
			MaximumDecompressedBodySize: s.cfg.MaxResponseBytes,
			MaximumXMLTokens:            maxXMLTokens,
		}
		return sp.ValidateEncodedResponse(base64.StdEncoding.EncodeToString(doc))
	}
	// KeyInfo without a certificate (some IdPs send only a KeyName or an
	// RSAKeyValue) is an unsigned hint: it is cut, because goxmldsig refuses
	// it. Without KeyInfo (PingFederate's default) goxmldsig uses the
	// trusted certificate only when there is exactly one, so during a
	// rollover each trusted certificate is tried on its own.
	var cuts []keyInfoCut
	for _, c := range scan.keyInfoCuts {
		if !c.inAssertion || !scan.rootSigned {
			cuts = append(cuts, c)
		}
	}
	doc := cutRanges(raw, cuts)
	var resp *types.Response
	if scan.sigWithoutCert || (iscan != nil && iscan.sigWithoutCert) {
		// Report the most specific failure: a certificate that verified
		// the signature but failed a later check beats "signature invalid".
		var firstErr error
		for _, c := range certs {
			if resp, err = verify(doc, []*x509.Certificate{c}); err == nil {
				break
			}
			if firstErr == nil || classify(firstErr).Reason == ReasonSignatureInvalid {
				firstErr = err
			}
		}
		if err != nil {
			err = firstErr
		}
	} else {
		resp, err = verify(doc, certs)
	}
	if err != nil {
		return nil, classify(err)
	}
	// 3. Consume only the verified element.
	if len(resp.Assertions) != 1 {
		return nil, &sso.ValidationError{Protocol: sso.ProtocolSAML, Reason: ReasonAssertionCount, Want: "1", Got: itoa(len(resp.Assertions))}
	}
	if scan.rootSigned && !resp.SignatureValidated {
		return nil, invalid(ReasonSignatureInvalid, errors.New("saml: response signature not validated"))
	}
	a := resp.Assertions[0]
	if a.Issuer == nil || a.Issuer.Value != cfg.IdPEntityID {
		got := ""
		if a.Issuer != nil {
			got = a.Issuer.Value
		}
		return nil, mismatch(ReasonIssuerMismatch, cfg.IdPEntityID, got)
	}
	if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
		return nil, invalid(ReasonSubjectMissing, nil)
	}
	if a.ID == "" {
		return nil, invalid(ReasonMissingElement, errors.New("saml: assertion without ID"))
	}
	scd := a.Subject.SubjectConfirmation.SubjectConfirmationData
	v := &verified{assertion: a, assertionID: a.ID, encrypted: scan.encrypted == 1,
		responseSig: scan.rootSigned, assertionSig: assertionSigned, issueInstant: a.IssueInstant}
	// Time: NotBefore <= now+skew, now < NotOnOrAfter+skew, for both the
	// Conditions and the bearer SubjectConfirmationData.
	cond := a.Conditions
	if cond == nil {
		return nil, invalid(ReasonMissingElement, errors.New("saml: assertion without Conditions"))
	}
	scdNOA, err := time.Parse(time.RFC3339, scd.NotOnOrAfter)
	if err != nil {
		return nil, invalid(ReasonMissingElement, errors.New("saml: bad SubjectConfirmationData NotOnOrAfter"))
	}
	if !now.Before(scdNOA.Add(skew)) {
		return nil, mismatch(ReasonExpired, "before "+scdNOA.Add(skew).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	v.expiresAt = scdNOA.Add(skew)
	// A bearer SubjectConfirmationData must not carry NotBefore (SAML
	// Profiles 4.1.4.2); gosaml2 does not read it, so an IdP that sends one
	// anyway has it honoured as a lower bound rather than ignored. The value
	// comes from the pre-scan of the single (verified) assertion.
	if scdNotBefore != "" {
		nb, err := time.Parse(time.RFC3339, scdNotBefore)
		if err != nil {
			return nil, invalid(ReasonMalformed, errors.New("saml: bad SubjectConfirmationData NotBefore"))
		}
		if now.Add(skew).Before(nb) {
			return nil, mismatch(ReasonNotYetValid, "after "+nb.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if cond.NotBefore != "" {
		nb, err := time.Parse(time.RFC3339, cond.NotBefore)
		if err != nil {
			return nil, invalid(ReasonMalformed, errors.New("saml: bad Conditions NotBefore"))
		}
		if now.Add(skew).Before(nb) {
			return nil, mismatch(ReasonNotYetValid, "after "+nb.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if cond.NotOnOrAfter != "" {
		noa, err := time.Parse(time.RFC3339, cond.NotOnOrAfter)
		if err != nil {
			return nil, invalid(ReasonMalformed, errors.New("saml: bad Conditions NotOnOrAfter"))
		}
		if !now.Before(noa.Add(skew)) {
			return nil, mismatch(ReasonExpired, "before "+noa.Add(skew).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		if noa.Add(skew).After(v.expiresAt) {
			v.expiresAt = noa.Add(skew)
		}
	}
	if !a.IssueInstant.IsZero() && a.IssueInstant.After(now.Add(skew)) {
		return nil, mismatch(ReasonNotYetValid, "issued before "+now.Add(skew).UTC().Format(time.RFC3339), a.IssueInstant.UTC().Format(time.RFC3339))
	}
	// Audience: at least one AudienceRestriction, and each one names us.
	if len(cond.AudienceRestrictions) == 0 {
		return nil, mismatch(ReasonAudienceMissing, id.entityID, "")
	}
	// Every AudienceRestriction must name us (SAML Core 2.5.1.4: the
	// assertion is addressed to the intersection of all of them). Audience
	// is an anyURI, whose surrounding whitespace is not significant. This
	// replaces gosaml2's VerifyAssertionConditions, which reports an audience
	// mismatch only as a warning and requires both Conditions time bounds
	// (optional in SAML; the bearer SubjectConfirmationData NotOnOrAfter
	// checked above bounds the assertion's life). OneTimeUse is met by the
	// replay cache; ProxyRestriction limits only re-issuing, which this SP
	// never does.
	for _, ar := range cond.AudienceRestrictions {
		ok := false
		var got []string
		for _, au := range ar.Audiences {
			val := strings.TrimSpace(au.Value)
			got = append(got, val)
			if val == id.entityID {
				ok = true
			}
		}
		if !ok {
			return nil, mismatch(ReasonAudienceMismatch, id.entityID, strings.Join(got, " "))
		}
	}
	// InResponseTo: the signed SubjectConfirmationData value; an unsigned
	// Response-level value may only agree with it.
	irt := scd.InResponseTo
	if resp.InResponseTo != "" {
		if irt == "" && scan.rootSigned {
			irt = resp.InResponseTo
		} else if irt != resp.InResponseTo {
			return nil, mismatch(ReasonInResponseTo, irt, resp.InResponseTo)
		}
	}
	v.inResponseTo = irt
	if v.sessionExpiry, err = checkConformance(&a, scan, id.acsURL, now); err != nil {
		return nil, err
	}
	return v, nil
}

// decryptForScan decrypts the single EncryptedAssertion of raw so that its
// signature placement and algorithms can be checked before gosaml2
// decrypts and verifies it again.
func decryptForScan(raw []byte, kp *KeyPair) ([]byte, error) {
	var doc struct {
		XMLName xml.Name                   `xml:"urn:oasis:names:tc:SAML:2.0:protocol Response"`
		EAs     []types.EncryptedAssertion `xml:"urn:oasis:names:tc:SAML:2.0:assertion EncryptedAssertion"`
	}
	if err := xml.NewDecoder(bytes.NewReader(raw)).Decode(&doc); err != nil {
		return nil, err
	}
	if len(doc.EAs) != 1 {
		return nil, errors.New("saml: want exactly one EncryptedAssertion")
	}
	cert := &tls.Certificate{Certificate: [][]byte{kp.Certificate.Raw}, PrivateKey: kp.Key}
	return doc.EAs[0].DecryptBytes(cert)
}

// cutRanges returns b without the given ascending, disjoint byte ranges.
func cutRanges(b []byte, cuts []keyInfoCut) []byte {
	if len(cuts) == 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	var last int64
	for _, c := range cuts {
		out = append(out, b[last:c.start]...)
		last = c.end
	}
	return append(out, b[last:]...)
}

func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	b := []byte{}
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
