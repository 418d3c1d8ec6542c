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

	"github.com/russellhaering/gosaml2/types"

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
	// expiredSigner is the pinned certificate, out of date, that verified
	// the response (nil when it was in date).
	expiredSigner *x509.Certificate
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
//
// It is a driver: the checks are the steps in validate_steps.go, in three
// stages: 1. the structural pre-scan, 2. round-trip validation, signature
// verification and decryption by gosaml2/goxmldsig, 3. checks of the
// verified assertion, which is the only element data is taken from.
func (s *SP) validateResponse(conn *sso.Connection, id spIdentity, encoded string, now time.Time) (*verified, error) {
	v, _, err := s.validateResponseHint(conn, id, encoded, now)
	return v, err
}

// validateResponseHint is validateResponse that also returns, whatever the
// outcome, the InResponseTo the pre-scan read from the Response element:
// unverified, it may only name the request whose diagnosis a failure is
// recorded on (see ServeACS).
func (s *SP) validateResponseHint(conn *sso.Connection, id spIdentity, encoded string, now time.Time) (*verified, string, error) {
	c := responseCheck{s: s, conn: conn, cfg: ConfigOf(conn), id: id, now: now}
	v, err := c.run(encoded)
	hint := ""
	if c.scan != nil {
		hint = c.scan.rootInResponseTo
	}
	return v, hint, err
}

// run runs the steps of validateResponse on the form value encoded.
func (c *responseCheck) run(encoded string) (*verified, error) {
	id, now := c.id, c.now
	if err := c.checkConnection(); err != nil {
		return nil, err
	}
	if err := c.decode(encoded); err != nil {
		return nil, err
	}
	// 1. Structural scan: DTD, limits, signature placement, algorithms.
	if err := c.prescan(); err != nil {
		return nil, err
	}
	if err := c.prescanEncrypted(); err != nil {
		return nil, err
	}
	if err := c.requireSignature(); err != nil {
		return nil, err
	}
	// 2. Round-trip validation, signature verification and decryption.
	if err := c.loadTrust(); err != nil {
		return nil, err
	}
	if err := c.verify(); err != nil {
		return nil, err
	}
	// 3. Consume only the verified element.
	v, err := c.readVerified()
	if err != nil {
		return nil, err
	}
	if err := c.checkTimes(v); err != nil {
		return nil, err
	}
	if err := c.checkAudience(v); err != nil {
		return nil, err
	}
	if err := c.bindInResponseTo(v); err != nil {
		return nil, err
	}
	if v.sessionExpiry, err = checkConformance(&v.assertion, c.scan, id.acsURL, now); err != nil {
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
