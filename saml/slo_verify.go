package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/beevik/etree"
	rtvalidator "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// maxLogoutBytes bounds an inflated or posted logout message.
const maxLogoutBytes = 64 << 10

// maxMessageIDLen bounds the ID of a logout message kept in the replay
// cache.
const maxMessageIDLen = 256

// textElement is a SAML element holding a simple value.
type textElement struct {
	Value string `xml:",chardata"`
}

// logoutMessage is a verified LogoutRequest or LogoutResponse. Every SAML
// child is read namespace-exactly and into a slice, so that a repeated
// element is seen rather than silently overwritten.
type logoutMessage struct {
	XMLName      xml.Name
	ID           string        `xml:"ID,attr"`
	Version      string        `xml:"Version,attr"`
	InResponseTo string        `xml:"InResponseTo,attr"`
	Destination  *string       `xml:"Destination,attr"`
	IssueInstant time.Time     `xml:"IssueInstant,attr"`
	NotOnOrAfter string        `xml:"NotOnOrAfter,attr"`
	Issuers      []textElement `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameIDs      []textElement `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
	EncryptedIDs []struct{}    `xml:"urn:oasis:names:tc:SAML:2.0:assertion EncryptedID"`
	BaseIDs      []struct{}    `xml:"urn:oasis:names:tc:SAML:2.0:assertion BaseID"`
	SessionIndex []string      `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
	Status       *struct {
		Code *struct {
			Value string `xml:"Value,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:protocol StatusCode"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol Status"`
	// Other holds every other child element (Signature, Extensions, and
	// SAML names in a foreign namespace, which are refused).
	Other []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// logoutChildren are the SAML child names of logout messages: in any other
// namespace than their own they are refused, as another reader might take
// them for the real element.
var logoutChildren = map[string]bool{
	"Issuer": true, "NameID": true, "EncryptedID": true, "BaseID": true, "SessionIndex": true, "Status": true,
}

// issuer returns the message's single Issuer value.
func (m *logoutMessage) issuer() string {
	if len(m.Issuers) != 1 {
		return ""
	}
	return strings.TrimSpace(m.Issuers[0].Value)
}

// nameID returns the NameID of a LogoutRequest. A request without a
// NameID, with an EncryptedID or BaseID (not supported, as at the ACS) or
// with more than one identifier is refused.
func (m *logoutMessage) nameID() (string, error) {
	n := len(m.NameIDs) + len(m.EncryptedIDs) + len(m.BaseIDs)
	switch {
	case n > 1:
		return "", mismatch(ReasonDuplicateElement, "1 identifier", itoa(n))
	case len(m.EncryptedIDs)+len(m.BaseIDs) > 0:
		return "", invalid(ReasonSubjectMissing, errors.New("saml: LogoutRequest with an EncryptedID or BaseID (not supported)"))
	case n == 0:
		return "", invalid(ReasonSubjectMissing, errors.New("saml: LogoutRequest without NameID"))
	}
	v := strings.TrimSpace(m.NameIDs[0].Value)
	if v == "" {
		return "", invalid(ReasonSubjectMissing, errors.New("saml: LogoutRequest with an empty NameID"))
	}
	return v, nil
}

// verifyLogout reads and verifies a logout message of either binding.
func (s *SP) verifyLogout(r *http.Request, conn *sso.Connection) (*logoutMessage, string, error) {
	cfg := ConfigOf(conn)
	certs, err := s.trustedCerts(cfg.Certificates)
	if err != nil {
		return nil, "", invalid(ReasonSignatureInvalid, err)
	}
	var raw []byte
	var relay string
	signedByQuery := r.Method == http.MethodGet
	if signedByQuery {
		raw, relay, err = readRedirectLogout(r.URL.RawQuery, certs, cfg.AllowSHA1)
	} else {
		raw, relay, err = readPostedLogout(r)
	}
	if err != nil {
		return nil, "", err
	}
	scan, err := scanDocument(raw, scanPolicy{allowSHA1: cfg.AllowSHA1})
	if err != nil {
		return nil, "", classify(err)
	}
	if scan.rootLocal != "LogoutRequest" && scan.rootLocal != "LogoutResponse" {
		return nil, "", invalid(ReasonLogoutInvalid, errors.New("saml: not a logout message"))
	}
	if err := rtvalidator.Validate(bytes.NewReader(raw)); err != nil {
		return nil, "", invalid(ReasonRoundTrip, err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, "", invalid(ReasonMalformed, err)
	}
	el := doc.Root()
	if !signedByQuery {
		if !scan.rootSigned {
			return nil, "", invalid(ReasonLogoutUnsigned, errors.New("saml: logout message is not signed"))
		}
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
		vc.Clock = dsig.NewFakeClockAt(s.now())
		el, err = vc.Validate(el)
		if err != nil {
			return nil, "", invalid(ReasonSignatureInvalid, err)
		}
	}
	vdoc := etree.NewDocument()
	vdoc.SetRoot(el.Copy())
	b, err := vdoc.WriteToBytes()
	if err != nil {
		return nil, "", invalid(ReasonMalformed, err)
	}
	var msg logoutMessage
	if err := xml.Unmarshal(b, &msg); err != nil {
		return nil, "", invalid(ReasonMalformed, err)
	}
	if err := s.checkLogout(&msg, conn, s.now()); err != nil {
		return nil, "", err
	}
	return &msg, relay, nil
}

// readPostedLogout returns the HTTP-POST binding message and RelayState.
func readPostedLogout(r *http.Request) ([]byte, string, error) {
	for _, p := range []string{"SAMLRequest", "SAMLResponse", "RelayState"} {
		if len(r.PostForm[p]) > 1 {
			return nil, "", invalid(ReasonLogoutParameter, fmt.Errorf("saml: parameter %s appears twice", p))
		}
	}
	enc, resp := r.PostForm.Get("SAMLRequest"), r.PostForm.Get("SAMLResponse")
	if enc != "" && resp != "" {
		return nil, "", invalid(ReasonLogoutParameter, errors.New("saml: both SAMLRequest and SAMLResponse"))
	}
	if enc == "" {
		enc = resp
	}
	raw, err := decodeBase64Loose(enc)
	if err != nil || len(raw) == 0 {
		return nil, "", invalid(ReasonMalformed, err)
	}
	if len(raw) > maxLogoutBytes {
		return nil, "", invalid(ReasonTooLarge, errors.New("saml: logout message too large"))
	}
	return raw, r.PostForm.Get("RelayState"), nil
}

// checkLogout checks a verified logout message: SAML 2.0, no foreign-namespace
// SAML children, this connection's IdP as the single Issuer, this
// connection's SLO URL as Destination (when present), an ID, and its time
// window.
func (s *SP) checkLogout(msg *logoutMessage, conn *sso.Connection, now time.Time) error {
	if msg.XMLName.Space != nsProtocol {
		return invalid(ReasonLogoutInvalid, errors.New("saml: not a SAML 2.0 logout message"))
	}
	if msg.Version != "2.0" {
		return mismatch(ReasonVersion, "2.0", msg.Version)
	}
	for _, o := range msg.Other {
		if logoutChildren[o.XMLName.Local] {
			return mismatch(ReasonForeignNamespace, "a SAML namespace", o.XMLName.Space)
		}
	}
	if len(msg.Issuers) != 1 || msg.issuer() != ConfigOf(conn).IdPEntityID {
		return mismatch(ReasonIssuerMismatch, ConfigOf(conn).IdPEntityID, msg.issuer())
	}
	if d := msg.Destination; d != nil {
		if *d == "" {
			return mismatch(ReasonDestinationEmpty, s.SLOURLOf(conn), "")
		}
		if *d != s.SLOURLOf(conn) {
			return mismatch(ReasonDestinationMismatch, s.SLOURLOf(conn), *d)
		}
	}
	if msg.ID == "" || len(msg.ID) > maxMessageIDLen {
		return invalid(ReasonMissingElement, errors.New("saml: logout message without a usable ID"))
	}
	return s.checkLogoutTime(msg, now)
}

// checkLogoutTime bounds a logout message in time: IssueInstant is required,
// at most MaxClockSkew ahead and at most MaxLogoutAge+MaxClockSkew old, and
// NotOnOrAfter, when present, has not passed.
func (s *SP) checkLogoutTime(msg *logoutMessage, now time.Time) error {
	skew := s.cfg.MaxClockSkew
	issued := msg.IssueInstant
	switch {
	case issued.IsZero():
		return invalid(ReasonMissingElement, errors.New("saml: logout message without IssueInstant"))
	case issued.After(now.Add(skew)):
		return mismatch(ReasonNotYetValid, "issued before "+now.Add(skew).UTC().Format(time.RFC3339), issued.UTC().Format(time.RFC3339))
	case now.Sub(issued) > s.cfg.MaxLogoutAge+skew:
		return mismatch(ReasonTooOld, "issued within "+(s.cfg.MaxLogoutAge+skew).String(), issued.UTC().Format(time.RFC3339))
	}
	if msg.NotOnOrAfter != "" {
		noa, err := time.Parse(time.RFC3339, msg.NotOnOrAfter)
		if err != nil {
			return invalid(ReasonMalformed, fmt.Errorf("saml: bad NotOnOrAfter: %w", err))
		}
		if !now.Before(noa.Add(skew)) {
			return mismatch(ReasonExpired, "before "+noa.Add(skew).UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}
