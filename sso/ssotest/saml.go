package ssotest

import (
	"bytes"
	"compress/flate"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// SAML namespaces and identifiers used by the IdP.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"

	// NameIDEmail is the emailAddress NameID format (the default).
	NameIDEmail = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	// NameIDPersistent is the persistent NameID format; the NameID is the
	// user's Subject.
	NameIDPersistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"

	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	statusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	statusResponder = "urn:oasis:names:tc:SAML:2.0:status:Responder"
	statusAuthnFail = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
	bearer          = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	attrBasic       = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
)

// Values the broken-response switches put in place of the right ones.
const (
	WrongAudience  = "https://wrong-audience.invalid/sp"
	WrongRecipient = "https://wrong-recipient.invalid/acs"
	WrappedEmail   = "evil@attacker.invalid"
)

// SAMLFault is a set of deliberate defects in a SAML response, so a host can
// check that its SP rejects each one. Combine with |.
type SAMLFault uint32

// The SAML faults.
const (
	// SAMLWrongAudience sets the AudienceRestriction to [WrongAudience].
	SAMLWrongAudience SAMLFault = 1 << iota
	// SAMLWrongRecipient sets Destination and the SubjectConfirmationData
	// Recipient to [WrongRecipient] (the form still posts to the real ACS).
	SAMLWrongRecipient
	// SAMLExpired makes every validity window end an hour ago.
	SAMLExpired
	// SAMLNotYetValid makes the Conditions start in an hour.
	SAMLNotYetValid
	// SAMLUnsignedResponse leaves the Response unsigned. With a signed
	// assertion this is not a defect (Okta and Entra send this shape by
	// default): an SP must accept it, which makes it a useful control.
	SAMLUnsignedResponse
	// SAMLUnsignedAssertion leaves the Assertion unsigned.
	SAMLUnsignedAssertion
	// SAMLUntrustedKey signs with a key and certificate not in the metadata.
	SAMLUntrustedKey
	// SAMLWrapped is a signature wrapping (XSW) attack: the Response is
	// unsigned and holds, before the genuine signed assertion, an unsigned
	// copy whose subject and email are [WrappedEmail].
	SAMLWrapped
	// SAMLSHA1 signs with RSA-SHA1 and SHA-1 digests.
	SAMLSHA1
	// SAMLReplay resends the previous response unchanged (a fresh one when
	// there is none yet).
	SAMLReplay
	// SAMLNoInResponseTo omits InResponseTo from Response and
	// SubjectConfirmationData.
	SAMLNoInResponseTo
	// SAMLBadStatus answers with a Responder/AuthnFailed status and no
	// assertion.
	SAMLBadStatus

	samlFaultEnd
)

var samlFaultNames = []string{"wrong_audience", "wrong_recipient", "expired", "not_yet_valid",
	"unsigned_response", "unsigned_assertion", "untrusted_key", "wrapped", "sha1", "replay",
	"no_in_response_to", "bad_status"}

// String returns the fault names joined by "|", or "none".
func (f SAMLFault) String() string {
	if f == 0 {
		return "none"
	}
	var parts []string
	for i, n := range samlFaultNames {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if f >= samlFaultEnd {
		parts = append(parts, fmt.Sprintf("0x%x", uint32(f&^(samlFaultEnd-1))))
	}
	return strings.Join(parts, "|")
}

// ServiceProvider is a registered SAML SP.
type ServiceProvider struct {
	// EntityID is the SP's entity ID, the Issuer of its AuthnRequests and the
	// Audience of assertions for it. Required.
	EntityID string
	// ACSURLs are the SP's assertion consumer service URLs (HTTP-POST). An
	// AuthnRequest's AssertionConsumerServiceURL must be one of them; the
	// first is used when a request names none and for IdP-initiated login.
	// Required.
	ACSURLs []string
	// NameIDFormat is [NameIDEmail] (zero) or [NameIDPersistent]. A
	// NameIDPolicy in the AuthnRequest naming one of the two wins.
	NameIDFormat string
	// EncryptionCert is the SP's encryption certificate (RSA), read from
	// its metadata or set here. Required when EncryptAssertions is set.
	EncryptionCert *x509.Certificate
	// EncryptAssertions sends assertions as EncryptedAssertion: AES (see
	// EncryptionMethod) with the key wrapped by RSA-OAEP (MGF1-SHA1,
	// rsa-oaep-mgf1p) to EncryptionCert. The assertion is signed before it
	// is encrypted.
	EncryptAssertions bool
	// EncryptionMethod is [EncryptAES256GCM] (zero) or [EncryptAES128CBC].
	EncryptionMethod string
}

// RegisterServiceProvider adds a SAML SP. Registering an entity ID again
// replaces its settings and adds its ACS URLs to those registered before
// (an application may use one ACS URL per tenant); the first ACS URL given
// last becomes the default.
func (idp *IdP) RegisterServiceProvider(sp ServiceProvider) error {
	if sp.EntityID == "" {
		return fmt.Errorf("ssotest: service provider without entity ID: %w", sso.ErrInvalidConfig)
	}
	if len(sp.ACSURLs) == 0 {
		return fmt.Errorf("ssotest: service provider %q without ACS URL: %w", sp.EntityID, sso.ErrInvalidConfig)
	}
	for _, a := range sp.ACSURLs {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("ssotest: service provider %q: ACS URL %q is not an absolute http(s) URL: %w", sp.EntityID, a, sso.ErrInvalidConfig)
		}
	}
	switch sp.NameIDFormat {
	case "", NameIDEmail, NameIDPersistent:
	default:
		return fmt.Errorf("ssotest: service provider %q: unsupported NameID format %q: %w", sp.EntityID, sp.NameIDFormat, sso.ErrInvalidConfig)
	}
	if sp.EncryptAssertions {
		if sp.EncryptionCert == nil {
			return fmt.Errorf("ssotest: service provider %q: EncryptAssertions without EncryptionCert: %w", sp.EntityID, sso.ErrInvalidConfig)
		}
		if _, ok := sp.EncryptionCert.PublicKey.(*rsa.PublicKey); !ok {
			return fmt.Errorf("ssotest: service provider %q: encryption certificate has no RSA key: %w", sp.EntityID, sso.ErrInvalidConfig)
		}
	}
	switch sp.EncryptionMethod {
	case "", EncryptAES256GCM, EncryptAES128CBC:
	default:
		return fmt.Errorf("ssotest: service provider %q: unsupported encryption method %q: %w", sp.EntityID, sp.EncryptionMethod, sso.ErrInvalidConfig)
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	acs := append([]string(nil), sp.ACSURLs...)
	if prev, ok := idp.sps[sp.EntityID]; ok {
		// Keep the ACS URLs registered before (one SP, one ACS per tenant).
		for _, a := range prev.ACSURLs {
			if !slices.Contains(acs, a) {
				acs = append(acs, a)
			}
		}
	}
	sp.ACSURLs = acs
	idp.sps[sp.EntityID] = sp
	return nil
}

type mdEntity struct {
	XMLName  xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string   `xml:"entityID,attr"`
	SP       []struct {
		NameIDFormats []string `xml:"urn:oasis:names:tc:SAML:2.0:metadata NameIDFormat"`
		Keys          []struct {
			Use  string `xml:"use,attr"`
			Cert string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
		ACS []struct {
			Binding  string `xml:"Binding,attr"`
			Location string `xml:"Location,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata AssertionConsumerService"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
}

// ParseSPMetadata reads a SAML SP's EntityDescriptor: entity ID, HTTP-POST
// ACS URLs, NameID format and encryption certificate (a KeyDescriptor with
// use "encryption" or no use). Set EncryptAssertions on the result to
// encrypt assertions to that certificate.
func ParseSPMetadata(data []byte) (ServiceProvider, error) {
	if len(data) > 1<<20 {
		return ServiceProvider{}, fmt.Errorf("ssotest: SP metadata larger than 1 MiB: %w", sso.ErrInvalidInput)
	}
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return ServiceProvider{}, fmt.Errorf("ssotest: SP metadata with a DTD: %w", sso.ErrInvalidInput)
	}
	var md mdEntity
	if err := xml.Unmarshal(data, &md); err != nil {
		return ServiceProvider{}, fmt.Errorf("ssotest: parse SP metadata: %w: %w", sso.ErrInvalidInput, err)
	}
	sp := ServiceProvider{EntityID: strings.TrimSpace(md.EntityID)}
	for _, d := range md.SP {
		for _, a := range d.ACS {
			if a.Binding == bindingPOST {
				sp.ACSURLs = append(sp.ACSURLs, strings.TrimSpace(a.Location))
			}
		}
		for _, f := range d.NameIDFormats {
			f = strings.TrimSpace(f)
			if sp.NameIDFormat == "" && (f == NameIDEmail || f == NameIDPersistent) {
				sp.NameIDFormat = f
			}
		}
		for _, k := range d.Keys {
			if (k.Use != "encryption" && k.Use != "") || sp.EncryptionCert != nil {
				continue
			}
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(k.Cert), ""))
			if err != nil {
				return ServiceProvider{}, fmt.Errorf("ssotest: SP metadata certificate: %w: %w", sso.ErrInvalidInput, err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return ServiceProvider{}, fmt.Errorf("ssotest: SP metadata certificate: %w: %w", sso.ErrInvalidInput, err)
			}
			sp.EncryptionCert = c
		}
	}
	if sp.EntityID == "" || len(sp.ACSURLs) == 0 {
		return ServiceProvider{}, fmt.Errorf("ssotest: SP metadata lacks an entity ID or an HTTP-POST ACS: %w", sso.ErrInvalidInput)
	}
	return sp, nil
}

// RegisterSPMetadata parses SP metadata XML (see [ParseSPMetadata]) and
// registers the SP.
func (idp *IdP) RegisterSPMetadata(data []byte) error {
	sp, err := ParseSPMetadata(data)
	if err != nil {
		return err
	}
	return idp.RegisterServiceProvider(sp)
}

func (idp *IdP) serviceProvider(entityID string) (ServiceProvider, bool) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	sp, ok := idp.sps[entityID]
	return sp, ok
}

// SAMLEntityID returns the IdP's SAML entity ID.
func (idp *IdP) SAMLEntityID() string { return idp.entityID }

// SAMLSSOURL returns the URL of the SSO service (both bindings).
func (idp *IdP) SAMLSSOURL() string { return idp.base + "/saml/sso" }

// SAMLMetadataURL returns the URL the metadata is served at.
func (idp *IdP) SAMLMetadataURL() string { return idp.base + "/saml/metadata" }

// SAMLCertificate returns the signing certificate published in the metadata.
func (idp *IdP) SAMLCertificate() *x509.Certificate { return idp.samlCert }

// SAMLCertificatePEM returns the signing certificate, PEM-encoded.
func (idp *IdP) SAMLCertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: idp.samlCert.Raw})
}

// IdPInitiatedURL returns the URL that starts an IdP-initiated login of
// user (an email; empty means the login page or AutoLogin) at the SP with
// the given entity ID.
func (idp *IdP) IdPInitiatedURL(spEntityID, user, relayState string) string {
	q := url.Values{"sp": {spEntityID}}
	if user != "" {
		q.Set("user", user)
	}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return idp.base + "/saml/idp-initiated?" + q.Encode()
}

// SAMLMetadata returns the IdP's EntityDescriptor XML.
func (idp *IdP) SAMLMetadata() []byte {
	ed := etree.NewElement("md:EntityDescriptor")
	ed.CreateAttr("xmlns:md", nsMetadata)
	ed.CreateAttr("xmlns:ds", dsig.Namespace)
	ed.CreateAttr("entityID", idp.entityID)
	d := ed.CreateElement("md:IDPSSODescriptor")
	d.CreateAttr("WantAuthnRequestsSigned", "false")
	d.CreateAttr("protocolSupportEnumeration", nsProtocol)
	kd := d.CreateElement("md:KeyDescriptor")
	kd.CreateAttr("use", "signing")
	kd.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(idp.samlCert.Raw))
	d.CreateElement("md:NameIDFormat").SetText(NameIDEmail)
	d.CreateElement("md:NameIDFormat").SetText(NameIDPersistent)
	for _, b := range []string{bindingRedirect, bindingPOST} {
		s := d.CreateElement("md:SingleSignOnService")
		s.CreateAttr("Binding", b)
		s.CreateAttr("Location", idp.SAMLSSOURL())
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(ed)
	doc.Indent(2)
	out, err := doc.WriteToBytes()
	if err != nil { // writing to memory does not fail
		return nil
	}
	return out
}

// ServeSAMLMetadata serves [IdP.SAMLMetadata].
func (idp *IdP) ServeSAMLMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(idp.SAMLMetadata())
}

func (idp *IdP) serveCert(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(idp.SAMLCertificatePEM())
}

// AuthnRequest is the part of a SAML AuthnRequest the IdP reads.
type AuthnRequest struct {
	XMLName xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:protocol AuthnRequest"`
	// ID is the request ID, echoed as InResponseTo.
	ID string `xml:"ID,attr"`
	// Version must be "2.0".
	Version string `xml:"Version,attr"`
	// Destination is the SSO URL the SP sent the request to.
	Destination string `xml:"Destination,attr"`
	// ACSURL is the AssertionConsumerServiceURL; it must be registered.
	ACSURL string `xml:"AssertionConsumerServiceURL,attr"`
	// Binding is the ProtocolBinding; only HTTP-POST is answered.
	Binding string `xml:"ProtocolBinding,attr"`
	// Issuer is the SP's entity ID.
	Issuer string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	// NameIDPolicy carries the requested NameID format.
	NameIDPolicy struct {
		Format string `xml:"Format,attr"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:protocol NameIDPolicy"`
}

const maxSAMLMessage = 256 << 10

// ParseAuthnRequest decodes a SAMLRequest parameter. For the HTTP-Redirect
// binding (deflate true) it is base64 of raw DEFLATE; for HTTP-POST it is
// base64 of the XML. Documents with a DTD are rejected.
func ParseAuthnRequest(param string, deflate bool) (*AuthnRequest, error) {
	if len(param) > maxSAMLMessage {
		return nil, fmt.Errorf("ssotest: SAMLRequest too large: %w", sso.ErrInvalidInput)
	}
	if deflate {
		// An unescaped "+" in a query string arrives as a space.
		param = strings.ReplaceAll(param, " ", "+")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(param), ""))
	if err != nil {
		return nil, fmt.Errorf("ssotest: SAMLRequest is not base64: %w: %w", sso.ErrInvalidInput, err)
	}
	if deflate {
		fr := flate.NewReader(bytes.NewReader(raw))
		raw, err = io.ReadAll(io.LimitReader(fr, maxSAMLMessage+1))
		_ = fr.Close()
		if err != nil {
			return nil, fmt.Errorf("ssotest: SAMLRequest is not DEFLATE: %w: %w", sso.ErrInvalidInput, err)
		}
		if len(raw) > maxSAMLMessage {
			return nil, fmt.Errorf("ssotest: SAMLRequest too large: %w", sso.ErrInvalidInput)
		}
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return nil, fmt.Errorf("ssotest: SAMLRequest with a DTD: %w", sso.ErrInvalidInput)
	}
	var req AuthnRequest
	if err := xml.Unmarshal(raw, &req); err != nil {
		return nil, fmt.Errorf("ssotest: parse AuthnRequest: %w: %w", sso.ErrInvalidInput, err)
	}
	req.Issuer = strings.TrimSpace(req.Issuer)
	if req.ID == "" || req.Issuer == "" || req.Version != "2.0" {
		return nil, fmt.Errorf("ssotest: AuthnRequest lacks ID, Issuer or Version 2.0: %w", sso.ErrInvalidInput)
	}
	return &req, nil
}

// samlRequest is an accepted AuthnRequest (or an IdP-initiated login).
type samlRequest struct {
	sp           ServiceProvider
	acs          string
	inResponseTo string
	relayState   string
	nameIDFormat string
}

// ServeSAMLSSO is the SSO service for the HTTP-Redirect (GET) and HTTP-POST
// bindings.
func (idp *IdP) ServeSAMLSSO(w http.ResponseWriter, r *http.Request) {
	var param, relay string
	deflate := r.Method == http.MethodGet
	if deflate {
		param, relay = r.URL.Query().Get("SAMLRequest"), r.URL.Query().Get("RelayState")
	} else {
		r.Body = http.MaxBytesReader(w, r.Body, maxSAMLMessage*2)
		if err := r.ParseForm(); err != nil {
			idp.httpError(w, r, http.StatusBadRequest, "malformed SAML request", err)
			return
		}
		param, relay = r.PostForm.Get("SAMLRequest"), r.PostForm.Get("RelayState")
	}
	if param == "" {
		idp.httpError(w, r, http.StatusBadRequest, "missing SAMLRequest", nil)
		return
	}
	if len(relay) > 1024 {
		idp.httpError(w, r, http.StatusBadRequest, "RelayState too long", nil)
		return
	}
	req, err := ParseAuthnRequest(param, deflate)
	if err != nil {
		idp.httpError(w, r, http.StatusBadRequest, "malformed SAML request", err)
		return
	}
	sp, ok := idp.serviceProvider(req.Issuer)
	if !ok {
		idp.httpError(w, r, http.StatusForbidden, "the service provider is not registered with this IdP", fmt.Errorf("%w: sp %q", ErrNotRegistered, req.Issuer))
		return
	}
	acs := sp.ACSURLs[0]
	if req.ACSURL != "" {
		acs = ""
		for _, a := range sp.ACSURLs {
			if a == req.ACSURL {
				acs = a
			}
		}
		if acs == "" {
			idp.httpError(w, r, http.StatusForbidden, "the AssertionConsumerServiceURL is not registered for this service provider", fmt.Errorf("%w: acs %q", ErrNotRegistered, req.ACSURL))
			return
		}
	}
	if req.Binding != "" && req.Binding != bindingPOST {
		idp.httpError(w, r, http.StatusBadRequest, "only the HTTP-POST response binding is supported", nil)
		return
	}
	format := sp.NameIDFormat
	if f := req.NameIDPolicy.Format; f == NameIDEmail || f == NameIDPersistent {
		format = f
	}
	idp.startSAML(w, r, &samlRequest{sp: sp, acs: acs, inResponseTo: req.ID, relayState: relay, nameIDFormat: format}, "")
}

func (idp *IdP) serveIdPInitiated(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sp, ok := idp.serviceProvider(q.Get("sp"))
	if !ok {
		idp.httpError(w, r, http.StatusForbidden, "the service provider is not registered with this IdP", nil)
		return
	}
	idp.startSAML(w, r, &samlRequest{sp: sp, acs: sp.ACSURLs[0], relayState: q.Get("RelayState"), nameIDFormat: sp.NameIDFormat}, q.Get("user"))
}

// startSAML logs the hinted or automatic user in, or shows the login page.
func (idp *IdP) startSAML(w http.ResponseWriter, r *http.Request, req *samlRequest, hint string) {
	for _, email := range []string{hint, idp.autoUser} {
		if email == "" {
			continue
		}
		if u, ok := idp.user(email); ok {
			idp.finishSAML(w, r, req, u)
			return
		}
	}
	id, err := idp.putPending(&pendingLogin{saml: req})
	if err != nil {
		idp.httpError(w, r, http.StatusInternalServerError, "internal error", err)
		return
	}
	idp.renderLogin(w, id, req.sp.EntityID)
}

func (idp *IdP) finishSAML(w http.ResponseWriter, r *http.Request, req *samlRequest, u User) {
	res, err := idp.NewSAMLResponse(SAMLResponseRequest{
		ServiceProvider: req.sp.EntityID,
		ACSURL:          req.acs,
		User:            u.Email,
		InResponseTo:    req.inResponseTo,
		RelayState:      req.relayState,
		NameIDFormat:    req.nameIDFormat,
		Faults:          idp.takeSAMLFaults(),
	})
	if err != nil {
		idp.httpError(w, r, http.StatusInternalServerError, "internal error", err)
		return
	}
	res.WriteForm(w)
}

// SetSAMLFaults replaces the default faults of every following response.
func (idp *IdP) SetSAMLFaults(f SAMLFault) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.samlFaults = f
}

// NextSAMLFaults sets the faults of the next browser-flow response only;
// later ones use the default again.
func (idp *IdP) NextSAMLFaults(f SAMLFault) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.samlNext = &f
}

func (idp *IdP) takeSAMLFaults() SAMLFault {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if idp.samlNext != nil {
		f := *idp.samlNext
		idp.samlNext = nil
		return f
	}
	return idp.samlFaults
}

// SAMLResponseRequest describes a response to mint with
// [IdP.NewSAMLResponse].
type SAMLResponseRequest struct {
	// ServiceProvider is the registered SP's entity ID. Required.
	ServiceProvider string
	// ACSURL is where the response goes. Zero means the SP's first ACS URL;
	// otherwise it must be one of the SP's.
	ACSURL string
	// User is the email of a configured user. Required.
	User string
	// InResponseTo is the AuthnRequest ID. Zero means an IdP-initiated
	// (unsolicited) response.
	InResponseTo string
	// RelayState is passed back with the response.
	RelayState string
	// NameIDFormat overrides the SP's NameID format.
	NameIDFormat string
	// Faults are the deliberate defects of this response.
	Faults SAMLFault
}

// SAMLResponse is a minted response ready to post to an ACS.
type SAMLResponse struct {
	// XML is the serialized samlp:Response.
	XML []byte
	// ACSURL is where it is posted.
	ACSURL string
	// RelayState is posted beside it.
	RelayState string
	// ID and AssertionID are the IDs of the Response and the (genuine)
	// Assertion; AssertionID is empty with SAMLBadStatus.
	ID, AssertionID string
}

// Base64 returns the SAMLResponse form value.
func (s *SAMLResponse) Base64() string { return base64.StdEncoding.EncodeToString(s.XML) }

// Form returns the form values to POST to the ACS.
func (s *SAMLResponse) Form() url.Values {
	v := url.Values{"SAMLResponse": {s.Base64()}}
	if s.RelayState != "" {
		v.Set("RelayState", s.RelayState)
	}
	return v
}

var postForm = template.Must(template.New("post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ssotest IdP — continue</title></head>
<body onload="document.forms[0].submit()">
<form id="ssotest-post" method="post" action="{{.ACSURL}}">
<input type="hidden" name="SAMLResponse" value="{{.Base64}}">
{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}
<noscript><button type="submit">Continue</button></noscript>
</form>
</body></html>
`))

// WriteForm writes the auto-submitting HTML form that posts the response.
func (s *SAMLResponse) WriteForm(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; form-action *")
	_ = postForm.Execute(w, s)
}

// NewSAMLResponse mints a response for a registered SP. It also becomes the
// "previous response" that [SAMLReplay] resends.
func (idp *IdP) NewSAMLResponse(req SAMLResponseRequest) (*SAMLResponse, error) {
	sp, ok := idp.serviceProvider(req.ServiceProvider)
	if !ok {
		return nil, fmt.Errorf("%w: service provider %q", ErrNotRegistered, req.ServiceProvider)
	}
	acs := sp.ACSURLs[0]
	if req.ACSURL != "" {
		acs = ""
		for _, a := range sp.ACSURLs {
			if a == req.ACSURL {
				acs = a
			}
		}
		if acs == "" {
			return nil, fmt.Errorf("%w: ACS URL %q", ErrNotRegistered, req.ACSURL)
		}
	}
	u, ok := idp.user(req.User)
	if !ok {
		return nil, fmt.Errorf("ssotest: unknown user %q: %w", req.User, sso.ErrNotFound)
	}
	format := sp.NameIDFormat
	if req.NameIDFormat != "" {
		format = req.NameIDFormat
	}
	if req.Faults&SAMLReplay != 0 {
		idp.mu.Lock()
		last := idp.lastSAML
		idp.mu.Unlock()
		if last != nil {
			out := *last
			out.ACSURL, out.RelayState = acs, req.RelayState
			return &out, nil
		}
	}
	res, err := idp.buildSAMLResponse(sp, acs, u, req.InResponseTo, format, req.Faults)
	if err != nil {
		return nil, err
	}
	res.ACSURL, res.RelayState = acs, req.RelayState
	idp.mu.Lock()
	saved := *res
	idp.lastSAML = &saved
	idp.mu.Unlock()
	return res, nil
}

func (idp *IdP) samlSigner(untrusted, sha1 bool) (*dsig.SigningContext, error) {
	key, cert := idp.samlKey, idp.samlCert
	if untrusted {
		idp.mu.Lock()
		k, c := idp.untrusted, idp.untrustedC
		idp.mu.Unlock()
		if k == nil {
			// Generated outside the lock; a concurrent first use may
			// generate twice, and the first stored key wins.
			nk, nc, err := newKeyAndCert("ssotest untrusted key", idp.now())
			if err != nil {
				return nil, err
			}
			idp.mu.Lock()
			if idp.untrusted == nil {
				idp.untrusted, idp.untrustedC = nk, nc
			}
			k, c = idp.untrusted, idp.untrustedC
			idp.mu.Unlock()
		}
		key, cert = k, c
	}
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		return nil, fmt.Errorf("ssotest: signing context: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	method := dsig.RSASHA256SignatureMethod
	if sha1 {
		method = dsig.RSASHA1SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		return nil, fmt.Errorf("ssotest: signature method: %w", err)
	}
	return ctx, nil
}

// sign inserts an enveloped signature of el right after its Issuer.
func sign(ctx *dsig.SigningContext, el *etree.Element) error {
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return fmt.Errorf("ssotest: sign: %w", err)
	}
	at := 0
	for i, c := range el.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Issuer" {
			at = i + 1
			break
		}
	}
	el.InsertChildAt(at, sig)
	return nil
}

const samlTime = "2006-01-02T15:04:05.000Z"

func (idp *IdP) buildSAMLResponse(sp ServiceProvider, acs string, u User, inResponseTo, format string, f SAMLFault) (*SAMLResponse, error) {
	now := idp.now().UTC()
	ts := func(t time.Time) string { return t.UTC().Format(samlTime) }
	respID, err := idp.randomID(20)
	if err != nil {
		return nil, err
	}
	respID = "_" + respID
	dest, recipient, audience := acs, acs, sp.EntityID
	if f&SAMLWrongRecipient != 0 {
		dest, recipient = WrongRecipient, WrongRecipient
	}
	if f&SAMLWrongAudience != 0 {
		audience = WrongAudience
	}
	if f&SAMLNoInResponseTo != 0 {
		inResponseTo = ""
	}
	notBefore, notAfter := now.Add(-30*time.Second), now.Add(idp.aLife)
	switch {
	case f&SAMLExpired != 0:
		notBefore, notAfter = now.Add(-2*time.Hour), now.Add(-time.Hour)
	case f&SAMLNotYetValid != 0:
		notBefore, notAfter = now.Add(time.Hour), now.Add(time.Hour+idp.aLife)
	}
	issueInstant := now
	if f&SAMLExpired != 0 {
		issueInstant = notBefore
	}

	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", nsProtocol)
	resp.CreateAttr("xmlns:saml", nsAssertion)
	resp.CreateAttr("ID", respID)
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", ts(issueInstant))
	resp.CreateAttr("Destination", dest)
	if inResponseTo != "" {
		resp.CreateAttr("InResponseTo", inResponseTo)
	}
	resp.CreateElement("saml:Issuer").SetText(idp.entityID)
	status := resp.CreateElement("samlp:Status")
	if f&SAMLBadStatus != 0 {
		sc := status.CreateElement("samlp:StatusCode")
		sc.CreateAttr("Value", statusResponder)
		sc.CreateElement("samlp:StatusCode").CreateAttr("Value", statusAuthnFail)
		status.CreateElement("samlp:StatusMessage").SetText("ssotest: simulated authentication failure")
		return idp.finishResponse(resp, respID, "", f)
	}
	status.CreateElement("samlp:StatusCode").CreateAttr("Value", statusSuccess)

	aID, err := idp.randomID(20)
	if err != nil {
		return nil, err
	}
	aID = "_" + aID
	sessionIndex, err := idp.randomID(16)
	if err != nil {
		return nil, err
	}
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsAssertion)
	a.CreateAttr("ID", aID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", ts(issueInstant))
	a.CreateElement("saml:Issuer").SetText(idp.entityID)
	subj := a.CreateElement("saml:Subject")
	nameID := subj.CreateElement("saml:NameID")
	if format == NameIDPersistent {
		nameID.CreateAttr("Format", NameIDPersistent)
		nameID.CreateAttr("NameQualifier", idp.entityID)
		nameID.CreateAttr("SPNameQualifier", sp.EntityID)
		nameID.SetText(u.Subject)
	} else {
		nameID.CreateAttr("Format", NameIDEmail)
		nameID.SetText(u.Email)
	}
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", bearer)
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if inResponseTo != "" {
		scd.CreateAttr("InResponseTo", inResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", ts(notAfter))
	scd.CreateAttr("Recipient", recipient)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(notBefore))
	cond.CreateAttr("NotOnOrAfter", ts(notAfter))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(audience)
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", ts(issueInstant))
	as.CreateAttr("SessionIndex", sessionIndex)
	as.CreateAttr("SessionNotOnOrAfter", ts(issueInstant.Add(8*time.Hour)))
	acr := PasswordAuthnContext
	if u.MFA {
		acr = MFAAuthnContext
	}
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(acr)
	attrs := a.CreateElement("saml:AttributeStatement")
	addAttr := func(name string, values ...string) {
		if len(values) == 0 || (len(values) == 1 && values[0] == "") {
			return
		}
		at := attrs.CreateElement("saml:Attribute")
		at.CreateAttr("Name", name)
		at.CreateAttr("NameFormat", attrBasic)
		for _, v := range values {
			at.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	addAttr("email", u.Email)
	addAttr("givenName", u.GivenName)
	addAttr("sn", u.FamilyName)
	addAttr("surname", u.FamilyName)
	addAttr("displayName", u.Name())
	addAttr("groups", u.Groups...)

	signer, err := idp.samlSigner(f&SAMLUntrustedKey != 0, f&SAMLSHA1 != 0)
	if err != nil {
		return nil, err
	}
	if f&(SAMLUnsignedAssertion) == 0 || f&SAMLWrapped != 0 {
		if err := sign(signer, a); err != nil {
			return nil, err
		}
	}
	if f&SAMLWrapped != 0 {
		evil := a.Copy()
		for _, c := range evil.ChildElements() {
			if c.Tag == "Signature" {
				evil.RemoveChild(c)
			}
		}
		evilID, err := idp.randomID(20)
		if err != nil {
			return nil, err
		}
		evil.CreateAttr("ID", "_"+evilID)
		if n := evil.FindElement("./Subject/NameID"); n != nil {
			n.SetText(WrappedEmail)
		}
		for _, at := range evil.FindElements("./AttributeStatement/Attribute[@Name='email']/AttributeValue") {
			at.SetText(WrappedEmail)
		}
		resp.AddChild(evil)
	}
	if sp.EncryptAssertions {
		ea, err := idp.encryptAssertion(a, sp)
		if err != nil {
			return nil, err
		}
		resp.AddChild(ea)
	} else {
		resp.AddChild(a)
	}
	return idp.finishResponse(resp, respID, aID, f)
}

func (idp *IdP) finishResponse(resp *etree.Element, respID, aID string, f SAMLFault) (*SAMLResponse, error) {
	if f&(SAMLUnsignedResponse|SAMLWrapped) == 0 {
		signer, err := idp.samlSigner(f&SAMLUntrustedKey != 0, f&SAMLSHA1 != 0)
		if err != nil {
			return nil, err
		}
		if err := sign(signer, resp); err != nil {
			return nil, err
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	out, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("ssotest: serialize response: %w", err)
	}
	return &SAMLResponse{XML: out, ID: respID, AssertionID: aID}, nil
}
