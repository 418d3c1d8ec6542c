package saml

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/internal/strictjson"
	"github.com/ssokit/ssokit/sso"
)

// ServeMetadata writes the SP metadata of the {connection} path value.
func (s *SP) ServeMetadata(w http.ResponseWriter, r *http.Request) {
	s.serveMetadata(w, r, r.PathValue("connection"))
}

func (s *SP) serveMetadata(w http.ResponseWriter, r *http.Request, id string) {
	conn, err := s.connection(r.Context(), id)
	if err != nil && conn == nil {
		// A new connection has no IdP settings yet, but its IdP may
		// import our metadata first: that is how the setup guides begin.
		conn = s.unconfigured(r.Context(), id)
	}
	if conn == nil {
		s.errFn(w, r, err)
		return
	}
	b, err := s.Metadata(conn)
	if err != nil {
		s.errFn(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(b)
}

// unconfigured returns the SAML connection id when it has no IdP
// settings yet, or nil.
func (s *SP) unconfigured(ctx context.Context, id string) *sso.Connection {
	if id == "" || len(id) > 128 {
		return nil
	}
	c, err := s.cfg.Connections.GetConnection(ctx, id)
	if err != nil || c.Protocol != Protocol || c.Config != nil || c.Status == sso.ConnectionDisabled {
		return nil
	}
	return c
}

// Metadata returns the SP metadata XML of a connection: entity ID, ACS
// (HTTP-POST), SLO (HTTP-Redirect and HTTP-POST) and the SP certificate for
// signing and encryption when a key is configured; during a key rollover's
// publication (Config.Rollover) the next certificate too.
func (s *SP) Metadata(conn *sso.Connection) ([]byte, error) {
	type keyDescriptor struct {
		Use  string `xml:"use,attr"`
		Cert string `xml:"ds:KeyInfo>ds:X509Data>ds:X509Certificate"`
	}
	type endpoint struct {
		Binding  string `xml:"Binding,attr"`
		Location string `xml:"Location,attr"`
		Index    string `xml:"index,attr,omitempty"`
	}
	type spsso struct {
		AuthnRequestsSigned  bool            `xml:"AuthnRequestsSigned,attr"`
		WantAssertionsSigned bool            `xml:"WantAssertionsSigned,attr"`
		Protocol             string          `xml:"protocolSupportEnumeration,attr"`
		Keys                 []keyDescriptor `xml:"md:KeyDescriptor"`
		SLO                  []endpoint      `xml:"md:SingleLogoutService"`
		NameIDFormat         []string        `xml:"md:NameIDFormat"`
		ACS                  []endpoint      `xml:"md:AssertionConsumerService"`
	}
	type entity struct {
		XMLName  xml.Name `xml:"md:EntityDescriptor"`
		NSMD     string   `xml:"xmlns:md,attr"`
		NSDS     string   `xml:"xmlns:ds,attr"`
		EntityID string   `xml:"entityID,attr"`
		SP       spsso    `xml:"md:SPSSODescriptor"`
	}
	e := entity{NSMD: nsMetadata, NSDS: nsDSig, EntityID: s.SPEntityIDOf(conn)}
	e.SP.WantAssertionsSigned = true
	e.SP.AuthnRequestsSigned = ConfigOf(conn) != nil && ConfigOf(conn).SignAuthnRequests
	e.SP.Protocol = nsProtocol
	// During a key rollover the next key is published beside the
	// current one ahead of the switch.
	for _, kp := range s.publishedKeys(conn) {
		c := base64.StdEncoding.EncodeToString(kp.Certificate.Raw)
		e.SP.Keys = append(e.SP.Keys, keyDescriptor{Use: "signing", Cert: c})
		if decryptionKeyStore(kp) != nil {
			e.SP.Keys = append(e.SP.Keys, keyDescriptor{Use: "encryption", Cert: c})
		}
	}
	slo := s.SLOURLOf(conn)
	e.SP.SLO = []endpoint{{Binding: BindingRedirect, Location: slo}, {Binding: BindingPOST, Location: slo}}
	e.SP.NameIDFormat = []string{NameIDEmail, NameIDPersistent, NameIDUnspecified}
	e.SP.ACS = []endpoint{{Binding: BindingPOST, Location: s.ACSURLOf(conn), Index: "0"}}
	b, err := xml.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("saml: encode metadata: %w", err)
	}
	return append([]byte(xml.Header), b...), nil
}

// IdPMetadata is what ParseIdPMetadata learned from IdP metadata.
type IdPMetadata struct {
	EntityID     string
	SSOURL       string
	SSOBinding   string // "redirect" or "post"
	SLOURL       string
	Certificates []*x509.Certificate
	// ValidUntil and CacheDuration are zero when absent.
	ValidUntil    time.Time
	CacheDuration time.Duration
}

type mdEndpoint struct {
	Binding  string `xml:"Binding,attr"`
	Location string `xml:"Location,attr"`
}

type mdKeyDescriptor struct {
	Use   string   `xml:"use,attr"`
	Certs []string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
}

type mdIDPSSO struct {
	Protocols string            `xml:"protocolSupportEnumeration,attr"`
	Keys      []mdKeyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
	SLO       []mdEndpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleLogoutService"`
	SSO       []mdEndpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleSignOnService"`
}

type mdEntity struct {
	XMLName       xml.Name   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID      string     `xml:"entityID,attr"`
	ValidUntil    string     `xml:"validUntil,attr"`
	CacheDuration string     `xml:"cacheDuration,attr"`
	IDP           []mdIDPSSO `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
}

type mdEntities struct {
	XMLName       xml.Name   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntitiesDescriptor"`
	ValidUntil    string     `xml:"validUntil,attr"`
	CacheDuration string     `xml:"cacheDuration,attr"`
	Entities      []mdEntity `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
}

// ParseIdPMetadata parses IdP metadata: one EntityDescriptor with an
// IDPSSODescriptor (or an EntitiesDescriptor holding exactly one IdP). It
// refuses DTDs, deep nesting, endpoints that are not absolute http(s) URLs
// and metadata without a signing certificate. Elements are matched by
// namespace.
func ParseIdPMetadata(data []byte) (*IdPMetadata, error) {
	if err := scanMetadata(data); err != nil {
		return nil, err
	}
	ent, outerValid, outerCache, err := decodeIdPEntity(data)
	if err != nil {
		return nil, err
	}
	if ent.EntityID == "" || len(ent.EntityID) > 1024 {
		return nil, badMetadata("missing or overlong entityID")
	}
	var idp *mdIDPSSO
	for i := range ent.IDP {
		if strings.Contains(ent.IDP[i].Protocols, nsProtocol) {
			idp = &ent.IDP[i]
			break
		}
	}
	if idp == nil {
		return nil, badMetadata("no SAML 2.0 IDPSSODescriptor")
	}
	md := &IdPMetadata{EntityID: strings.TrimSpace(ent.EntityID)}
	if err := md.readEndpoints(idp); err != nil {
		return nil, err
	}
	if err := md.readSigningCertificates(idp); err != nil {
		return nil, err
	}
	vu, cd := ent.ValidUntil, ent.CacheDuration
	if vu == "" {
		vu = outerValid
	}
	if cd == "" {
		cd = outerCache
	}
	if err := md.readValidity(vu, cd); err != nil {
		return nil, err
	}
	return md, nil
}

// badMetadata is a metadata refusal with reason ReasonMetadataInvalid.
func badMetadata(format string, args ...any) error {
	return invalid(ReasonMetadataInvalid, fmt.Errorf("saml: metadata: "+format, args...))
}

// decodeIdPEntity decodes the document's EntityDescriptor, or the one IdP
// entity of an EntitiesDescriptor together with the outer validUntil and
// cacheDuration, which the entity inherits.
func decodeIdPEntity(data []byte) (ent mdEntity, outerValid, outerCache string, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var root xml.StartElement
	for {
		tok, err := d.Token()
		if err != nil {
			return ent, "", "", badMetadata("no root element")
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
	}
	switch {
	case root.Name.Space == nsMetadata && root.Name.Local == "EntityDescriptor":
		if err := d.DecodeElement(&ent, &root); err != nil {
			return ent, "", "", badMetadata("%v", err)
		}
		return ent, "", "", nil
	case root.Name.Space == nsMetadata && root.Name.Local == "EntitiesDescriptor":
		var all mdEntities
		if err := d.DecodeElement(&all, &root); err != nil {
			return ent, "", "", badMetadata("%v", err)
		}
		n := 0
		for _, e := range all.Entities {
			if len(e.IDP) > 0 {
				ent = e
				n++
			}
		}
		if n != 1 {
			return ent, "", "", badMetadata("want exactly one IdP entity, found %d", n)
		}
		return ent, all.ValidUntil, all.CacheDuration, nil
	}
	return ent, "", "", badMetadata("root is not a metadata EntityDescriptor")
}

// readEndpoints takes the SSO endpoint (HTTP-Redirect preferred over
// HTTP-POST) and the SLO endpoint, refusing unsafe locations.
func (md *IdPMetadata) readEndpoints(idp *mdIDPSSO) error {
	for _, e := range idp.SSO {
		loc := strings.TrimSpace(e.Location)
		if err := checkLocation(loc); err != nil {
			return invalid(ReasonMetadataInvalid, err)
		}
		switch e.Binding {
		case BindingRedirect:
			md.SSOURL, md.SSOBinding = loc, "redirect"
		case BindingPOST:
			if md.SSOBinding != "redirect" {
				md.SSOURL, md.SSOBinding = loc, "post"
			}
		}
	}
	if md.SSOURL == "" {
		return badMetadata("no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")
	}
	for _, e := range idp.SLO {
		loc := strings.TrimSpace(e.Location)
		if err := checkLocation(loc); err != nil {
			return invalid(ReasonMetadataInvalid, err)
		}
		if e.Binding == BindingRedirect || (e.Binding == BindingPOST && md.SLOURL == "") {
			md.SLOURL = loc
		}
	}
	return nil
}

// readSigningCertificates takes every distinct signing certificate (keys
// without a use are for signing too); there must be at least one.
func (md *IdPMetadata) readSigningCertificates(idp *mdIDPSSO) error {
	seen := map[string]bool{}
	for _, k := range idp.Keys {
		if k.Use != "" && k.Use != "signing" {
			continue
		}
		for _, c := range k.Certs {
			der, err := decodeBase64Loose(c)
			if err != nil {
				return badMetadata("bad certificate encoding")
			}
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				return badMetadata("bad certificate: %v", err)
			}
			if fp := fingerprint(cert); !seen[fp] {
				seen[fp] = true
				md.Certificates = append(md.Certificates, cert)
			}
		}
	}
	if len(md.Certificates) == 0 {
		return badMetadata("no signing certificate")
	}
	return nil
}

// readValidity parses validUntil (RFC 3339) and cacheDuration (an XML
// Schema duration) when present.
func (md *IdPMetadata) readValidity(validUntil, cacheDuration string) error {
	if validUntil != "" {
		t, err := time.Parse(time.RFC3339, validUntil)
		if err != nil {
			return badMetadata("bad validUntil")
		}
		md.ValidUntil = t
	}
	if cacheDuration != "" {
		dur, err := parseXSDuration(cacheDuration)
		if err != nil {
			return badMetadata("bad cacheDuration")
		}
		md.CacheDuration = dur
	}
	return nil
}

// scanMetadata applies the structural limits to metadata.
func scanMetadata(data []byte) error {
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return invalid(ReasonDoctype, errors.New("saml: metadata has a document type declaration"))
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	depth, tokens, ns := 0, 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return invalid(ReasonMetadataInvalid, fmt.Errorf("saml: metadata: %w", err))
		}
		tokens++
		if tokens > 200000 {
			return invalid(ReasonTooComplex, errors.New("saml: metadata has too many tokens"))
		}
		switch t := tok.(type) {
		case xml.Directive:
			return invalid(ReasonDoctype, errors.New("saml: metadata has a directive"))
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return invalid(ReasonTooComplex, errors.New("saml: metadata nests too deep"))
			}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					ns++
				}
			}
			if ns > 1024 {
				return invalid(ReasonTooComplex, errors.New("saml: metadata declares too many namespaces"))
			}
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// parseXSDuration parses the subset of xs:duration IdPs use (PnDTnHnMnS).
func parseXSDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "P") {
		return 0, errors.New("saml: bad duration")
	}
	s = s[1:]
	var total time.Duration
	inTime := false
	num := ""
	for _, r := range s {
		switch {
		case r == 'T':
			inTime = true
		case r >= '0' && r <= '9' || r == '.':
			num += string(r)
		default:
			var f float64
			if _, err := fmt.Sscanf(num, "%g", &f); err != nil {
				return 0, errors.New("saml: bad duration")
			}
			num = ""
			var unit time.Duration
			switch {
			case r == 'Y' && !inTime:
				unit = 365 * 24 * time.Hour
			case r == 'M' && !inTime:
				unit = 30 * 24 * time.Hour
			case r == 'D' && !inTime:
				unit = 24 * time.Hour
			case r == 'H' && inTime:
				unit = time.Hour
			case r == 'M' && inTime:
				unit = time.Minute
			case r == 'S' && inTime:
				unit = time.Second
			default:
				return 0, errors.New("saml: bad duration")
			}
			total += time.Duration(f * float64(unit))
		}
	}
	if num != "" {
		return 0, errors.New("saml: bad duration")
	}
	return total, nil
}

func fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

func certInfo(c *x509.Certificate) sso.CertificateInfo {
	return sso.CertificateInfo{Subject: c.Subject.String(), NotBefore: c.NotBefore, NotAfter: c.NotAfter, Fingerprint: fingerprint(c)}
}

// ConfigureConnection implements sso.ConnectionConfigurer: it decodes input
// as a ConnectionInput and calls Configure.
func (s *SP) ConfigureConnection(ctx context.Context, c *sso.Connection, input json.RawMessage) (*sso.IdPDetails, error) {
	var in ConnectionInput
	if err := strictjson.Decode(input, &in, "saml config"); err != nil {
		return nil, err
	}
	return s.Configure(ctx, c, &in)
}

// Configure fills c's ConnectionConfig from metadata XML, a metadata URL
// (fetched with the SSRF guard, size cap and timeout) or the manual fields,
// keeping the existing configuration's policy switches.
func (s *SP) Configure(ctx context.Context, c *sso.Connection, in *ConnectionInput) (*sso.IdPDetails, error) {
	if c == nil || in == nil {
		return nil, fmt.Errorf("%w: saml: nil connection or input", sso.ErrInvalidInput)
	}
	cmp := ""
	if in.MFAComparison != nil {
		cmp = *in.MFAComparison
	}
	if err := checkMFASettings(in.MFAAuthnContexts, cmp); err != nil {
		return nil, err
	}
	cfg := ConnectionConfig{}
	if ConfigOf(c) != nil {
		cfg = *ConfigOf(c)
	}
	applyPolicy(&cfg, in)
	if err := s.applyEndpoints(ctx, c, &cfg, in); err != nil {
		return nil, err
	}
	// Signed metadata is verified with the certificates pinned so far, or
	// with those given alongside it (re-pinning, e.g. for a new IdP).
	trust := cfg
	if len(in.Certificates) > 0 {
		trust.Certificates = in.Certificates
	}
	now := s.now()
	var md *IdPMetadata
	switch {
	case in.MetadataURL != "":
		data, err := s.FetchMetadata(ctx, in.MetadataURL)
		if err != nil {
			return nil, err
		}
		md, err = parseTrustedMetadata(data, &trust)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", sso.ErrInvalidInput, err)
		}
		cfg.MetadataURL = in.MetadataURL
		cfg.MetadataXML = string(data)
		cfg.MetadataFetchedAt = now
		cfg.MetadataExpiresAt = s.metadataExpiry(md, now)
	case in.MetadataXML != "":
		if int64(len(in.MetadataXML)) > s.cfg.MaxMetadataBytes {
			return nil, fmt.Errorf("%w: saml: metadata larger than %d bytes", sso.ErrInvalidInput, s.cfg.MaxMetadataBytes)
		}
		var err error
		md, err = parseTrustedMetadata([]byte(in.MetadataXML), &trust)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", sso.ErrInvalidInput, err)
		}
		cfg.MetadataURL = ""
		cfg.MetadataXML = in.MetadataXML
		cfg.MetadataFetchedAt = now
		cfg.MetadataExpiresAt = time.Time{}
	default:
		if in.IdPEntityID == "" || in.SSOURL == "" || len(in.Certificates) == 0 {
			return nil, fmt.Errorf("%w: saml: need metadata, a metadata URL, or entity ID, SSO URL and certificate", sso.ErrInvalidInput)
		}
		if err := checkLocation(in.SSOURL); err != nil {
			return nil, fmt.Errorf("%w: %w", sso.ErrInvalidInput, err)
		}
		certs, err := parseCertificates(in.Certificates)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", sso.ErrInvalidInput, err)
		}
		md = &IdPMetadata{EntityID: strings.TrimSpace(in.IdPEntityID), SSOURL: strings.TrimSpace(in.SSOURL), SSOBinding: "redirect", Certificates: certs}
		if cfg.RequireSignedMetadata {
			return nil, fmt.Errorf("%w: saml: require_signed_metadata needs metadata (metadata_xml or metadata_url), not manual fields", sso.ErrInvalidInput)
		}
		cfg.MetadataURL, cfg.MetadataXML = "", ""
	}
	applyMetadata(&cfg, md)
	c.Config = &cfg
	c.Protocol = Protocol
	d := idpDetails(md)
	d.Warnings = configWarnings(&cfg, now)
	return d, nil
}

// applyPolicy sets the policy switches the input carries; absent ones keep
// their value.
func applyPolicy(cfg *ConnectionConfig, in *ConnectionInput) {
	if in.EnforceCertificateDates != nil {
		cfg.EnforceCertificateDates = *in.EnforceCertificateDates
	}
	if in.AllowRSA15KeyTransport != nil {
		cfg.AllowRSA15KeyTransport = *in.AllowRSA15KeyTransport
	}
	if in.MFAAuthnContexts != nil {
		cfg.MFAAuthnContexts = slices.Clone(in.MFAAuthnContexts)
		if len(cfg.MFAAuthnContexts) == 0 {
			cfg.MFAAuthnContexts = nil
		}
	}
	if in.MFAComparison != nil {
		cfg.MFAComparison = *in.MFAComparison
	}
	if in.RequireSignedMetadata != nil {
		cfg.RequireSignedMetadata = *in.RequireSignedMetadata
	}
	for _, sw := range []struct {
		in  *bool
		out *bool
	}{{in.AllowIdPInitiated, &cfg.AllowIdPInitiated}, {in.AllowSHA1, &cfg.AllowSHA1},
		{in.AllowResponseSignatureOnly, &cfg.AllowResponseSignatureOnly}, {in.SignAuthnRequests, &cfg.SignAuthnRequests},
		{in.RequireEncryptedAssertions, &cfg.RequireEncryptedAssertions}} {
		if sw.in != nil {
			*sw.out = *sw.in
		}
	}
}

func applyMetadata(cfg *ConnectionConfig, md *IdPMetadata) {
	cfg.IdPEntityID = md.EntityID
	cfg.SSOURL = md.SSOURL
	cfg.SSOBinding = md.SSOBinding
	cfg.SLOURL = md.SLOURL
	cfg.Certificates = cfg.Certificates[:0:0]
	for _, c := range md.Certificates {
		cfg.Certificates = append(cfg.Certificates, certPEM(c))
	}
}

func idpDetails(md *IdPMetadata) *sso.IdPDetails {
	d := &sso.IdPDetails{EntityID: md.EntityID, Endpoints: map[string]string{"sso": md.SSOURL}}
	if md.SLOURL != "" {
		d.Endpoints["slo"] = md.SLOURL
	}
	for _, c := range md.Certificates {
		d.Certificates = append(d.Certificates, certInfo(c))
	}
	return d
}

// metadataExpiry is when fetched metadata is due for a refresh.
func (s *SP) metadataExpiry(md *IdPMetadata, now time.Time) time.Time {
	exp := now.Add(s.cfg.RefreshInterval)
	if md.CacheDuration > 0 && now.Add(md.CacheDuration).Before(exp) {
		exp = now.Add(md.CacheDuration)
	}
	if !md.ValidUntil.IsZero() && md.ValidUntil.Before(exp) {
		exp = md.ValidUntil
	}
	return exp
}

// FetchMetadata downloads metadata from rawURL: https only (unless
// AllowInsecureURLs), no internal addresses (unless
// AllowPrivateAddresses, checked on the dialed IP of every
// connection including redirects), at most 3 redirects and never from https
// to http, MaxMetadataBytes and FetchTimeout. Errors wrap sso.ErrInvalidInput or
// sso.ErrUnavailable.
func (s *SP) FetchMetadata(ctx context.Context, rawURL string) (_ []byte, err error) {
	ctx, span := s.tel.Start(ctx, "saml.metadata.fetch")
	defer func() { s.tel.RecordFetch(ctx, span, "saml_metadata", sso.ReasonOf(err), err) }()
	if err := s.checkMetadataURL(rawURL); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: saml: metadata URL: %v", sso.ErrInvalidInput, err)
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml")
	resp, err := s.client.Do(req)
	if err != nil {
		class := sso.ErrUnavailable
		if egress.Refused(err) {
			class = sso.ErrInvalidInput
		}
		return nil, fmt.Errorf("%w: saml: fetch metadata: %w", class, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: saml: fetch metadata: HTTP %d", sso.ErrUnavailable, resp.StatusCode)
	}
	data, err := egress.ReadAll(resp.Body, s.cfg.MaxMetadataBytes)
	if errors.Is(err, egress.ErrTooLarge) {
		return nil, fmt.Errorf("%w: saml: metadata: %w", sso.ErrInvalidInput, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: saml: read metadata: %w", sso.ErrUnavailable, err)
	}
	return data, nil
}

// checkMetadataURL applies the static part of the egress policy to a
// metadata URL (see egress.CheckURL). Its error wraps sso.ErrInvalidInput.
func (s *SP) checkMetadataURL(raw string) error {
	u, err := url.Parse(raw)
	if err == nil {
		err = egress.CheckURL(u, s.cfg.AllowPrivateAddresses, s.cfg.AllowInsecureURLs)
	}
	if err != nil {
		return fmt.Errorf("%w: saml: metadata URL: %w", sso.ErrInvalidInput, err)
	}
	return nil
}

// metadataClient builds the metadata HTTP client: the shared guarded
// egress client (see Config.HTTPClient for the rule on a host-supplied
// client). Its error wraps sso.ErrInvalidConfig.
func (s *SP) metadataClient() (*http.Client, error) {
	c, err := egress.New(egress.Options{Base: s.cfg.HTTPClient, AllowPrivate: s.cfg.AllowPrivateAddresses,
		AllowHTTP: s.cfg.AllowInsecureURLs, Timeout: s.cfg.FetchTimeout})
	if err != nil {
		return nil, fmt.Errorf("%w: saml: %w", sso.ErrInvalidConfig, err)
	}
	return c, nil
}
