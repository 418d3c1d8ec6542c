package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	rtvalidator "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// maxLogoutBytes bounds an inflated or posted logout message.
const maxLogoutBytes = 64 << 10

type logoutMessage struct {
	XMLName      xml.Name
	ID           string    `xml:"ID,attr"`
	Version      string    `xml:"Version,attr"`
	InResponseTo string    `xml:"InResponseTo,attr"`
	Destination  string    `xml:"Destination,attr"`
	IssueInstant time.Time `xml:"IssueInstant,attr"`
	NotOnOrAfter string    `xml:"NotOnOrAfter,attr"`
	Issuer       *struct {
		Value string `xml:",chardata"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	NameID *struct {
		Value string `xml:",chardata"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion NameID"`
	SessionIndex []string `xml:"urn:oasis:names:tc:SAML:2.0:protocol SessionIndex"`
	Status       *struct {
		Code *struct {
			Value string `xml:"Value,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:protocol StatusCode"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol Status"`
}

// ServeSLO is the single logout endpoint of the {connection} path value,
// for the HTTP-Redirect (GET) and HTTP-POST bindings. It accepts an IdP's
// LogoutRequest, ending the local session through Config.OnLogout and
// answering with a LogoutResponse, and the IdP's LogoutResponse to a
// logout started with StartLogout. Unsigned messages are rejected.
func (s *SP) ServeSLO(w http.ResponseWriter, r *http.Request) {
	conn, err := s.connection(r.Context(), r.PathValue("connection"))
	if err != nil {
		s.logReject(r, conn, err)
		s.errFn(w, r, err)
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 2*maxLogoutBytes)
		if err := r.ParseForm(); err != nil {
			s.errFn(w, r, invalid(ReasonTooLarge, err))
			return
		}
	}
	msg, relay, err := s.verifyLogout(r, conn)
	if err != nil {
		s.logReject(r, conn, err)
		s.errFn(w, r, err)
		return
	}
	switch msg.XMLName.Local {
	case "LogoutRequest":
		req := &LogoutRequest{Connection: conn, SessionIndex: strings.Join(msg.SessionIndex, " ")}
		if msg.NameID != nil {
			req.NameID = strings.TrimSpace(msg.NameID.Value)
		}
		status := "urn:oasis:names:tc:SAML:2.0:status:Success"
		if s.cfg.OnLogout != nil {
			if err := s.cfg.OnLogout(r.Context(), req); err != nil {
				s.log.ErrorContext(r.Context(), "saml: ending local session failed", "connection", conn.ID, "error", err)
				status = "urn:oasis:names:tc:SAML:2.0:status:Responder"
			}
		}
		if conn.SAML.SLOURL == "" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := s.sendLogoutResponse(w, r, conn, msg.ID, status, relay); err != nil {
			s.errFn(w, r, err)
		}
	case "LogoutResponse":
		if msg.InResponseTo == "" {
			s.errFn(w, r, invalid(ReasonLogoutInvalid, errors.New("saml: LogoutResponse without InResponseTo")))
			return
		}
		st, err := s.cfg.Store.TakeAuthnRequest(r.Context(), msg.InResponseTo)
		if err != nil || st.ConnectionID != conn.ID {
			s.errFn(w, r, invalid(ReasonInResponseTo, err))
			return
		}
		if msg.Status == nil || msg.Status.Code == nil || !isSuccessStatus(msg.Status.Code.Value) {
			s.errFn(w, r, invalid(ReasonStatus, nil))
			return
		}
		http.Redirect(w, r, sso.SafeReturnTo(st.ReturnTo, s.cfg.DefaultReturnTo), http.StatusSeeOther)
	default:
		s.errFn(w, r, invalid(ReasonLogoutInvalid, nil))
	}
}

// verifyLogout reads and verifies a logout message of either binding.
func (s *SP) verifyLogout(r *http.Request, conn *sso.Connection) (*logoutMessage, string, error) {
	cfg := conn.SAML
	certs, err := s.trustedCerts(cfg.Certificates)
	if err != nil {
		return nil, "", invalid(ReasonSignatureInvalid, err)
	}
	var raw []byte
	var relay string
	var signedByQuery bool
	if r.Method == http.MethodGet {
		q := r.URL.RawQuery
		param := "SAMLRequest"
		enc := r.URL.Query().Get(param)
		if enc == "" {
			param = "SAMLResponse"
			enc = r.URL.Query().Get(param)
		}
		if enc == "" {
			return nil, "", invalid(ReasonMalformed, errors.New("saml: no logout message"))
		}
		relay = r.URL.Query().Get("RelayState")
		if err := verifyRedirectSignature(q, param, certs, cfg.AllowSHA1); err != nil {
			return nil, "", err
		}
		signedByQuery = true
		deflated, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, "", invalid(ReasonMalformed, err)
		}
		raw, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), maxLogoutBytes+1))
		if err != nil {
			return nil, "", invalid(ReasonMalformed, err)
		}
		if len(raw) > maxLogoutBytes {
			return nil, "", invalid(ReasonTooLarge, errors.New("saml: inflated logout message too large"))
		}
	} else {
		enc := r.PostForm.Get("SAMLRequest")
		if enc == "" {
			enc = r.PostForm.Get("SAMLResponse")
		}
		relay = r.PostForm.Get("RelayState")
		raw, err = decodeBase64Loose(enc)
		if err != nil || len(raw) == 0 {
			return nil, "", invalid(ReasonMalformed, err)
		}
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
	if msg.XMLName.Space != nsProtocol || msg.Version != "2.0" {
		return nil, "", invalid(ReasonLogoutInvalid, errors.New("saml: not a SAML 2.0 logout message"))
	}
	if msg.Issuer == nil || strings.TrimSpace(msg.Issuer.Value) != cfg.IdPEntityID {
		return nil, "", invalid(ReasonIssuerMismatch, nil)
	}
	if msg.Destination != "" && msg.Destination != s.SLOURL(conn.ID) {
		return nil, "", mismatch(ReasonDestinationMismatch, s.SLOURL(conn.ID), msg.Destination)
	}
	now := s.now()
	if !msg.IssueInstant.IsZero() && (msg.IssueInstant.After(now.Add(s.cfg.MaxClockSkew)) || now.Sub(msg.IssueInstant) > s.cfg.RequestTTL) {
		return nil, "", invalid(ReasonExpired, errors.New("saml: logout message outside its time window"))
	}
	if msg.NotOnOrAfter != "" {
		noa, err := time.Parse(time.RFC3339, msg.NotOnOrAfter)
		if err != nil || !now.Before(noa.Add(s.cfg.MaxClockSkew)) {
			return nil, "", invalid(ReasonExpired, err)
		}
	}
	return &msg, relay, nil
}

// verifyRedirectSignature checks the HTTP-Redirect binding signature over
// the raw query parameters in their received encoding.
func verifyRedirectSignature(rawQuery, param string, certs []*x509.Certificate, allowSHA1 bool) error {
	parts := map[string]string{}
	for _, kv := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := parts[k]; dup {
			return invalid(ReasonLogoutInvalid, errors.New("saml: duplicate query parameter"))
		}
		parts[k] = v
	}
	sigB64, okSig := parts["Signature"]
	sigAlgRaw, okAlg := parts["SigAlg"]
	if !okSig || !okAlg {
		return invalid(ReasonLogoutUnsigned, errors.New("saml: redirect logout message is not signed"))
	}
	signed := param + "=" + parts[param]
	if rs, ok := parts["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	signed += "&SigAlg=" + sigAlgRaw
	alg, err := queryUnescape(sigAlgRaw)
	if err != nil {
		return invalid(ReasonMalformed, err)
	}
	sigStr, err := queryUnescape(sigB64)
	if err != nil {
		return invalid(ReasonMalformed, err)
	}
	sig, err := base64.StdEncoding.DecodeString(sigStr)
	if err != nil {
		return invalid(ReasonMalformed, err)
	}
	var h crypto.Hash
	switch alg {
	case algRSASHA256, algECDSASHA256:
		h = crypto.SHA256
	case algRSASHA1, algECDSASHA1:
		if !allowSHA1 {
			return invalid(ReasonWeakAlgorithm, nil)
		}
		h = crypto.SHA1
	default:
		return invalid(ReasonUnsupportedAlgorithm, nil)
	}
	var digest []byte
	if h == crypto.SHA256 {
		d := sha256.Sum256([]byte(signed))
		digest = d[:]
	} else {
		d := sha1.Sum([]byte(signed))
		digest = d[:]
	}
	for _, c := range certs {
		switch pk := c.PublicKey.(type) {
		case *rsa.PublicKey:
			if rsa.VerifyPKCS1v15(pk, h, digest, sig) == nil {
				return nil
			}
		case *ecdsa.PublicKey:
			if ecdsa.VerifyASN1(pk, digest, sig) {
				return nil
			}
		}
	}
	return invalid(ReasonSignatureInvalid, errors.New("saml: redirect signature does not verify"))
}

func queryUnescape(s string) (string, error) {
	return url.QueryUnescape(s)
}

// StartLogout sends the browser to the IdP with a LogoutRequest for the
// given NameID and SessionIndex (HTTP-Redirect binding, signed when an SP
// key is configured). returnTo is where the browser goes after the IdP's
// LogoutResponse.
func (s *SP) StartLogout(w http.ResponseWriter, r *http.Request, conn *sso.Connection, nameID, sessionIndex, returnTo string) error {
	if conn == nil || conn.SAML == nil || conn.SAML.SLOURL == "" {
		return fmt.Errorf("%w: saml: connection has no IdP logout URL", sso.ErrInvalidInput)
	}
	if err := checkLocation(conn.SAML.SLOURL); err != nil {
		return fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
	}
	now := s.now()
	id := "_" + sso.NewID("")
	if err := s.cfg.Store.SaveAuthnRequest(r.Context(), &AuthnRequestState{ID: id, ConnectionID: conn.ID,
		BindingHash: sso.HashToken(sso.NewToken(16)), ReturnTo: sso.SafeReturnTo(returnTo, ""), CreatedAt: now, ExpiresAt: now.Add(s.cfg.RequestTTL)}); err != nil {
		return err
	}
	doc := etree.NewDocument()
	req := doc.CreateElement("samlp:LogoutRequest")
	req.CreateAttr("xmlns:samlp", nsProtocol)
	req.CreateAttr("xmlns:saml", nsAssertion)
	req.CreateAttr("ID", id)
	req.CreateAttr("Version", "2.0")
	req.CreateAttr("IssueInstant", now.UTC().Format(time.RFC3339))
	req.CreateAttr("Destination", conn.SAML.SLOURL)
	req.CreateElement("saml:Issuer").SetText(s.EntityID(conn.ID))
	req.CreateElement("saml:NameID").SetText(nameID)
	if sessionIndex != "" {
		req.CreateElement("samlp:SessionIndex").SetText(sessionIndex)
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	loc, err := redirectURL(conn.SAML.SLOURL, "SAMLRequest", b, "", s.keyFor(conn))
	if err != nil {
		return err
	}
	http.Redirect(w, r, loc, http.StatusFound)
	return nil
}

func (s *SP) sendLogoutResponse(w http.ResponseWriter, r *http.Request, conn *sso.Connection, inResponseTo, status, relay string) error {
	if err := checkLocation(conn.SAML.SLOURL); err != nil {
		return invalid(ReasonMetadataInvalid, err)
	}
	doc := etree.NewDocument()
	resp := doc.CreateElement("samlp:LogoutResponse")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", "_"+sso.NewID(""))
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", s.now().UTC().Format(time.RFC3339))
	resp.CreateAttr("Destination", conn.SAML.SLOURL)
	resp.CreateAttr("InResponseTo", inResponseTo)
	resp.CreateElement("saml:Issuer").SetText(s.EntityID(conn.ID))
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", status)
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	if len(relay) > 80 {
		relay = ""
	}
	loc, err := redirectURL(conn.SAML.SLOURL, "SAMLResponse", b, relay, s.keyFor(conn))
	if err != nil {
		return err
	}
	http.Redirect(w, r, loc, http.StatusFound)
	return nil
}
