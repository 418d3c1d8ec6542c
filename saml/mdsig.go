package saml

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// Signed IdP metadata. When a connection already pins certificates and the
// metadata it is given (fetched or pasted) carries a signature on its root
// element, the signature must verify with one of them, and the metadata is
// then read from the element goxmldsig verified. A bad signature refuses
// the metadata: a refresh keeps the last good copy. Unsigned metadata is
// accepted unless the connection sets RequireSignedMetadata. As for
// responses, the pinned certificates' validity dates are not enforced.

// Reasons of the metadata signature checks.
const (
	// ReasonMetadataSignature refuses signed metadata whose signature does
	// not verify with the connection's pinned certificates.
	ReasonMetadataSignature = "metadata_signature_invalid"
	// ReasonMetadataUnsigned refuses unsigned metadata on a connection
	// that sets RequireSignedMetadata.
	ReasonMetadataUnsigned = "metadata_unsigned"
)

// parseTrustedMetadata parses data as the IdP metadata of a connection
// whose current configuration is cfg (nil for a new connection), applying
// the signature policy above.
func parseTrustedMetadata(data []byte, cfg *ConnectionConfig) (*IdPMetadata, error) {
	if err := scanMetadata(data); err != nil {
		return nil, err
	}
	root, err := parseRoot(data)
	if err != nil {
		return nil, badMetadata("%v", err)
	}
	var pinned []*x509.Certificate
	if cfg != nil && len(cfg.Certificates) > 0 {
		if pinned, err = parseCertificates(cfg.Certificates); err != nil {
			return nil, badMetadata("pinned certificates: %v", err)
		}
	}
	requireSigned := cfg != nil && cfg.RequireSignedMetadata
	if root.SelectElement("Signature") == nil || root.SelectElement("Signature").NamespaceURI() != nsDSig {
		if requireSigned {
			return nil, invalid(ReasonMetadataUnsigned, errors.New("saml: metadata: the metadata is not signed and the connection "+
				"sets RequireSignedMetadata: publish signed metadata at the IdP, or clear require_signed_metadata"))
		}
		return ParseIdPMetadata(data)
	}
	if len(pinned) == 0 {
		if requireSigned {
			return nil, invalid(ReasonMetadataSignature, errors.New("saml: metadata: RequireSignedMetadata needs a pinned "+
				"certificate to verify the signature with: configure the IdP's certificates first"))
		}
		// A first configuration has nothing to verify the signature with:
		// the certificates it publishes are pinned from now on.
		return ParseIdPMetadata(data)
	}
	verified, err := verifyMetadataSignature(root, pinned)
	if err != nil {
		return nil, err
	}
	return ParseIdPMetadata(verified)
}

// verifyMetadataSignature verifies the signature of the metadata's root
// element with each pinned certificate in turn (at a clock inside its
// validity period) and returns the verified element, serialised.
func verifyMetadataSignature(root *etree.Element, pinned []*x509.Certificate) ([]byte, error) {
	var firstErr error
	for _, cert := range pinned {
		vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		vctx.Clock = dsig.NewFakeClockAt(cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) / 2))
		el, err := vctx.Validate(root.Copy())
		if err != nil {
			if firstErr == nil || strings.Contains(firstErr.Error(), errUntrustedKey) {
				firstErr = err
			}
			continue
		}
		doc := etree.NewDocument()
		doc.SetRoot(el)
		b, err := doc.WriteToBytes()
		if err != nil {
			return nil, badMetadata("%v", err)
		}
		return b, nil
	}
	fps := make([]string, 0, len(pinned))
	for _, c := range pinned {
		fps = append(fps, fingerprint(c))
	}
	return nil, &sso.ValidationError{Protocol: Protocol, Reason: ReasonMetadataSignature, Want: "signed by " + strings.Join(fps, " "),
		Err: fmt.Errorf("saml: metadata: the signature does not verify with the connection's pinned certificates "+
			"(SHA-256 %s): the metadata was changed on its way or is signed with another key; the last good metadata stays in use. "+
			"If the IdP now signs its metadata with a new key, upload its certificate: %w", strings.Join(fps, " "), firstErr)}
}
