package saml

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// The steps of validateResponse, in the order it runs them. The order is
// part of the behaviour: the first failing check names the reason.

// responseCheck is the state validateResponse shares between its steps:
// its inputs, then what each step learns for the next. It lives on the
// driver's stack.
type responseCheck struct {
	s    *SP
	conn *sso.Connection
	cfg  *ConnectionConfig
	id   spIdentity
	now  time.Time

	// raw is the decoded document.
	raw []byte
	// scan is the pre-scan of the Response; iscan that of the decrypted
	// Assertion, when the assertion is encrypted.
	scan, iscan *scanResult
	// kp is the SP key for the connection; ks the key store gosaml2
	// decrypts with (nil without an RSA key).
	kp *KeyPair
	// keys are the RSA key pairs that may decrypt (two during a key
	// rollover), kp's first.
	keys []*KeyPair
	ks   dsig.X509KeyStore
	// assertionSigned and scdNotBefore come from the pre-scan of the
	// assertion, encrypted or not.
	assertionSigned bool
	scdNotBefore    string
	// certs are the connection's trusted certificates; libClock is the
	// clock gosaml2 validates at.
	certs    []*x509.Certificate
	skew     time.Duration
	libClock time.Time
	// resp is what gosaml2 verified; signer is the trusted certificate
	// that verified it when each was tried on its own, and expiredSigner
	// that certificate when it is out of date and the connection accepts
	// it.
	resp          *types.Response
	signer        *x509.Certificate
	expiredSigner *x509.Certificate
	// inner is the decrypted EncryptedAssertion (nil for a plain one) and
	// docs what verify handed gosaml2: encid.go verifies them again to
	// read an EncryptedID.
	inner []byte
	docs  verifyDocs
}

// checkConnection refuses a connection that cannot verify anything: one
// without an IdP entity ID or a trusted certificate.
func (c *responseCheck) checkConnection() error {
	if c.cfg == nil || c.cfg.IdPEntityID == "" || len(c.cfg.Certificates) == 0 {
		return invalid(ReasonNotSAML, errors.New("saml: connection has no IdP entity ID or certificate"))
	}
	return nil
}

// decode decodes the form value (standard base64, whitespace ignored) and
// drops the UTF-8 byte order mark .NET-based IdPs may prefix: it is not
// content.
func (c *responseCheck) decode(encoded string) error {
	raw, err := decodeBase64Loose(encoded)
	if err != nil || len(raw) == 0 {
		return invalid(ReasonMalformed, err)
	}
	c.raw = bytes.TrimPrefix(raw, []byte("\xEF\xBB\xBF"))
	return nil
}

// prescan runs the structural scan (DTD, limits, signature placement,
// algorithms) and refuses, before any cryptography, a document that is not a
// Response, a status other than Success (reported with its sub-status), any
// number of assertions but one, and a plain assertion where the connection
// requires encryption.
func (c *responseCheck) prescan() error {
	scan, err := scanDocument(c.raw, scanPolicy{allowSHA1: c.cfg.AllowSHA1, allowRSA15: c.cfg.AllowRSA15KeyTransport})
	c.scan = scan // partial on a refusal: only its InResponseTo is read then
	if err != nil {
		return classify(err)
	}
	if scan.rootLocal != "Response" {
		return invalid(ReasonMalformed, errors.New("saml: not a Response"))
	}
	if scan.statusCode != "" && !isSuccessStatus(scan.statusCode) {
		got := shortStatus(scan.statusCode)
		if scan.subStatusCode != "" {
			got += "/" + shortStatus(scan.subStatusCode)
		}
		return mismatch(ReasonStatus, "Success", got)
	}
	if n := scan.assertions + scan.encrypted; n != 1 {
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonAssertionCount, Want: "1", Got: itoa(n)}
	}
	if c.cfg.RequireEncryptedAssertions && scan.encrypted == 0 {
		return invalid(ReasonEncryptionRequired, nil)
	}
	return nil
}

// prescanEncrypted looks up the SP key (gosaml2 decrypts with it too) and,
// for an EncryptedAssertion, decrypts it and runs the structural scan on the
// plain Assertion, whose signature and SubjectConfirmationData then count
// instead of the outer document's.
func (c *responseCheck) prescanEncrypted() error {
	c.keys = nil
	for _, kp := range c.s.decryptionKeys(c.conn) {
		if decryptionKeyStore(kp) != nil {
			c.keys = append(c.keys, kp)
		}
	}
	if len(c.keys) > 0 {
		c.kp = c.keys[0]
		c.ks = decryptionKeyStore(c.kp)
	}
	c.assertionSigned = c.scan.assertionSigned
	c.scdNotBefore = c.scan.scdNotBefore
	if c.scan.encrypted != 1 {
		return nil
	}
	if c.ks == nil {
		return invalid(ReasonDecryptionFailed, errors.New("saml: no RSA SP key to decrypt assertions"))
	}
	// During a key rollover either key may be the one the IdP encrypted
	// to; the one that decrypts is the one gosaml2 decrypts with.
	var inner []byte
	var err error
	for _, kp := range c.keys {
		if inner, err = decryptForScan(cleanBase64(c.raw, c.scan), kp); err == nil {
			c.kp, c.ks = kp, decryptionKeyStore(kp)
			break
		}
	}
	if err != nil {
		return invalid(ReasonDecryptionFailed, err)
	}
	c.inner = inner
	c.iscan, err = scanDocument(inner, scanPolicy{allowSHA1: c.cfg.AllowSHA1, allowRSA15: c.cfg.AllowRSA15KeyTransport, assertionRoot: true})
	if err != nil {
		return classify(err)
	}
	c.assertionSigned = c.iscan.assertionSigned
	c.scdNotBefore = c.iscan.scdNotBefore
	return nil
}

// requireSignature refuses an unsigned assertion, unless the connection
// accepts a signed Response alone (AllowResponseSignatureOnly) and the
// Response is signed.
func (c *responseCheck) requireSignature() error {
	if !c.assertionSigned && !(c.cfg.AllowResponseSignatureOnly && c.scan.rootSigned) {
		return invalid(ReasonSignatureMissing, errors.New("saml: the assertion is not signed"))
	}
	return nil
}

// loadTrust parses the trusted certificates and sets the clock gosaml2
// validates at: moved back by the skew, so that SubjectConfirmationData
// NotOnOrAfter gets the same tolerance as in checkTimes. goxmldsig also
// checks the signing certificate's validity period at this clock, so it is
// never moved before the newest trusted certificate became valid: an IdP
// that rotated to a certificate minted moments ago must still verify.
func (c *responseCheck) loadTrust() error {
	certs, err := c.s.trustedCerts(c.cfg.Certificates)
	if err != nil {
		return invalid(ReasonSignatureInvalid, err)
	}
	c.certs = certs
	c.skew = c.s.cfg.MaxClockSkew
	c.libClock = c.now.Add(-c.skew)
	for _, cert := range certs {
		if cert.NotBefore.After(c.libClock) && !cert.NotBefore.After(c.now) {
			c.libClock = cert.NotBefore
		}
	}
	return nil
}

// verify has gosaml2/goxmldsig validate the document, verify its
// signatures and decrypt it. KeyInfo without a certificate (some IdPs send
// only a KeyName or an RSAKeyValue) is an unsigned hint: it is cut, because
// goxmldsig refuses it; an Assertion's is kept when the Response signature
// covers it. Base64 values written with spaces are cleaned (normalise.go).
// Without KeyInfo (PingFederate's default) goxmldsig uses the trusted
// certificate only when there is exactly one, so during a rollover each
// trusted certificate is tried on its own; so is each when one of them is
// out of date, at a clock inside its validity period (trust.go).
func (c *responseCheck) verify() error {
	var cuts []keyInfoCut
	for _, cut := range c.scan.keyInfoCuts {
		if !cut.inAssertion || !c.scan.rootSigned {
			cuts = append(cuts, cut)
		}
	}
	docs := buildDocs(c.raw, c.scan, cuts)
	c.docs = docs
	var err error
	if !c.scan.sigWithoutCert && (c.iscan == nil || !c.iscan.sigWithoutCert) && !c.anyOutOfDate() {
		if c.resp, err = c.validateWith(docs, c.certs, c.libClock); err != nil {
			return c.diagnose(err)
		}
		return nil
	}
	// Report the most specific failure: a certificate that verified the
	// signature but failed a later check beats "signature invalid".
	var best error
	for _, cert := range c.certs {
		if c.resp, err = c.validateWith(docs, []*x509.Certificate{cert}, c.clockFor(cert)); err == nil {
			c.signer = cert
			return c.checkSignerDates()
		}
		if c.libClock.Before(cert.NotBefore) && classify(err).Reason == ReasonExpired {
			// Validated at the certificate's NotBefore, the signatures
			// verified and only the response's own lifetime failed: the
			// signer's validity starts later than the response ends.
			return notYetValid(cert, c.now)
		}
		if best == nil || errRank(err) > errRank(best) {
			best = err
		}
	}
	return c.diagnose(best)
}

// validateWith runs gosaml2 on docs with roots as the trusted certificates,
// at clock, for this SP's entity ID and ACS URL. When docs has a rootDoc,
// the root signature is verified on it first and gosaml2 then verifies the
// Assertion of the cleaned document, which no longer carries it.
func (c *responseCheck) validateWith(docs verifyDocs, roots []*x509.Certificate, clock time.Time) (*types.Response, error) {
	store := &dsig.MemoryX509CertificateStore{Roots: roots}
	if docs.rootDoc != nil {
		if err := verifyRootSignature(docs.rootDoc, store, dsig.NewFakeClockAt(clock)); err != nil {
			return nil, err
		}
	}
	sp := &saml2.SAMLServiceProvider{
		IdentityProviderIssuer:      c.cfg.IdPEntityID,
		AssertionConsumerServiceURL: c.id.acsURL,
		ServiceProviderIssuer:       c.id.entityID,
		AudienceURI:                 c.id.entityID,
		IDPCertificateStore:         store,
		SPKeyStore:                  c.ks,
		AllowMissingAttributes:      true,
		Clock:                       dsig.NewFakeClockAt(clock),
		MaximumDecompressedBodySize: c.s.cfg.MaxResponseBytes,
		MaximumXMLTokens:            maxXMLTokens,
	}
	resp, err := sp.ValidateEncodedResponse(base64.StdEncoding.EncodeToString(docs.doc))
	if err == nil && docs.rootDoc != nil {
		resp.SignatureValidated = true
	}
	return resp, err
}

// readVerified takes the one assertion goxmldsig verified and refuses it
// without the connection's Issuer, a non-blank NameID or an ID; a signed
// Response must have been verified as such.
func (c *responseCheck) readVerified() (*verified, error) {
	resp := c.resp
	if len(resp.Assertions) != 1 {
		return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonAssertionCount, Want: "1", Got: itoa(len(resp.Assertions))}
	}
	if c.scan.rootSigned && !resp.SignatureValidated {
		return nil, invalid(ReasonSignatureInvalid, errors.New("saml: response signature not validated"))
	}
	a := &resp.Assertions[0]
	if a.Issuer == nil || a.Issuer.Value != c.cfg.IdPEntityID {
		got := ""
		if a.Issuer != nil {
			got = a.Issuer.Value
		}
		return nil, mismatch(ReasonIssuerMismatch, c.cfg.IdPEntityID, got)
	}
	if a.Subject != nil && a.Subject.NameID == nil && c.hasEncryptedID() {
		nid, err := c.encryptedNameID()
		if err != nil {
			return nil, err
		}
		a.Subject.NameID = nid
	}
	if a.Subject == nil || a.Subject.NameID == nil || strings.TrimSpace(a.Subject.NameID.Value) == "" {
		return nil, invalid(ReasonSubjectMissing, nil)
	}
	if a.ID == "" {
		return nil, invalid(ReasonMissingElement, errors.New("saml: assertion without ID"))
	}
	return &verified{assertion: *a, assertionID: a.ID, encrypted: c.scan.encrypted == 1,
		responseSig: c.scan.rootSigned, assertionSig: c.assertionSigned, issueInstant: a.IssueInstant,
		expiredSigner: c.expiredSigner}, nil
}

// checkTimes requires NotBefore <= now+skew and now < NotOnOrAfter+skew for
// both the Conditions and the bearer SubjectConfirmationData, and an
// IssueInstant no later than now+skew. It sets v.expiresAt, the replay-cache
// lifetime, to the latest NotOnOrAfter plus the skew.
func (c *responseCheck) checkTimes(v *verified) error {
	a, now, skew := &v.assertion, c.now, c.skew
	scd := a.Subject.SubjectConfirmation.SubjectConfirmationData
	cond := a.Conditions
	if cond == nil {
		return invalid(ReasonMissingElement, errors.New("saml: assertion without Conditions"))
	}
	scdNOA, err := time.Parse(time.RFC3339, scd.NotOnOrAfter)
	if err != nil {
		return invalid(ReasonMissingElement, errors.New("saml: bad SubjectConfirmationData NotOnOrAfter"))
	}
	if !now.Before(scdNOA.Add(skew)) {
		return mismatch(ReasonExpired, "before "+scdNOA.Add(skew).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	v.expiresAt = scdNOA.Add(skew)
	// A bearer SubjectConfirmationData must not carry NotBefore (SAML
	// Profiles 4.1.4.2); gosaml2 does not read it, so an IdP that sends one
	// anyway has it honoured as a lower bound rather than ignored. The value
	// comes from the pre-scan of the single (verified) assertion.
	if c.scdNotBefore != "" {
		if err := c.checkNotBefore(c.scdNotBefore, "saml: bad SubjectConfirmationData NotBefore"); err != nil {
			return err
		}
	}
	if cond.NotBefore != "" {
		if err := c.checkNotBefore(cond.NotBefore, "saml: bad Conditions NotBefore"); err != nil {
			return err
		}
	}
	if cond.NotOnOrAfter != "" {
		noa, err := time.Parse(time.RFC3339, cond.NotOnOrAfter)
		if err != nil {
			return invalid(ReasonMalformed, errors.New("saml: bad Conditions NotOnOrAfter"))
		}
		if !now.Before(noa.Add(skew)) {
			return mismatch(ReasonExpired, "before "+noa.Add(skew).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		if noa.Add(skew).After(v.expiresAt) {
			v.expiresAt = noa.Add(skew)
		}
	}
	if !a.IssueInstant.IsZero() && a.IssueInstant.After(now.Add(skew)) {
		return mismatch(ReasonNotYetValid, "issued before "+now.Add(skew).UTC().Format(time.RFC3339), a.IssueInstant.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkNotBefore refuses a NotBefore instant later than now+skew; bad is
// the message of the error for a value that is not RFC 3339.
func (c *responseCheck) checkNotBefore(value, bad string) error {
	nb, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return invalid(ReasonMalformed, errors.New(bad))
	}
	if c.now.Add(c.skew).Before(nb) {
		return mismatch(ReasonNotYetValid, "after "+nb.UTC().Format(time.RFC3339), c.now.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkAudience requires at least one AudienceRestriction, each naming this
// SP (SAML Core 2.5.1.4: the assertion is addressed to the intersection of
// all of them). Audience is an anyURI, whose surrounding whitespace is not
// significant. This replaces gosaml2's VerifyAssertionConditions, which
// reports an audience mismatch only as a warning and requires both
// Conditions time bounds (optional in SAML; the bearer
// SubjectConfirmationData NotOnOrAfter checked in checkTimes bounds the
// assertion's life). OneTimeUse is met by the replay cache;
// ProxyRestriction limits only re-issuing, which this SP never does.
func (c *responseCheck) checkAudience(v *verified) error {
	cond := v.assertion.Conditions
	if len(cond.AudienceRestrictions) == 0 {
		return mismatch(ReasonAudienceMissing, c.id.entityID, "")
	}
	for _, ar := range cond.AudienceRestrictions {
		ok := false
		var got []string
		for _, au := range ar.Audiences {
			val := strings.TrimSpace(au.Value)
			got = append(got, val)
			if val == c.id.entityID {
				ok = true
			}
		}
		if !ok {
			return mismatch(ReasonAudienceMismatch, c.id.entityID, strings.Join(got, " "))
		}
	}
	return nil
}

// bindInResponseTo sets v.inResponseTo from the signed
// SubjectConfirmationData; an unsigned Response-level value may only agree
// with it (a signed Response's value fills an empty one).
func (c *responseCheck) bindInResponseTo(v *verified) error {
	irt := v.assertion.Subject.SubjectConfirmation.SubjectConfirmationData.InResponseTo
	if c.resp.InResponseTo != "" {
		if irt == "" && c.scan.rootSigned {
			irt = c.resp.InResponseTo
		} else if irt != c.resp.InResponseTo {
			return mismatch(ReasonInResponseTo, irt, c.resp.InResponseTo)
		}
	}
	v.inResponseTo = irt
	return nil
}
