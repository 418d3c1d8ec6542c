package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha1" // registers crypto.SHA1 for SigAlg rsa-sha1 (opt-in)
	_ "crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// redirectParams are the parameters of the HTTP-Redirect binding (SAML
// Bindings 3.4.4).
var redirectParams = []string{"SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"}

// redirectQuery is an HTTP-Redirect binding message as received: every value
// is still URL-encoded, exactly as it appeared in the query string. The
// signature is verified over these values and the message is decoded from
// the same values, so what is verified is what is read (T-S.25).
type redirectQuery struct {
	// param is SAMLRequest or SAMLResponse.
	param string
	raw   map[string]string
}

// readRedirectLogout parses rawQuery, verifies its signature with certs and
// returns the inflated message and the RelayState.
func readRedirectLogout(rawQuery string, certs []*x509.Certificate, allowSHA1 bool) ([]byte, string, error) {
	q, err := parseRedirectQuery(rawQuery)
	if err != nil {
		return nil, "", err
	}
	if err := q.verify(certs, allowSHA1); err != nil {
		return nil, "", err
	}
	relay, err := q.value("RelayState")
	if err != nil {
		return nil, "", invalid(ReasonMalformed, err)
	}
	raw, err := q.message()
	if err != nil {
		return nil, "", err
	}
	return raw, relay, nil
}

// parseRedirectQuery splits a raw query string into its SAML parameters
// without decoding them. A SAML parameter that appears twice or is spelled
// other than exactly, and SAMLRequest together with SAMLResponse, are
// refused; other parameters are ignored (they are not signed).
func parseRedirectQuery(rawQuery string) (*redirectQuery, error) {
	q := &redirectQuery{raw: map[string]string{}}
	for _, kv := range strings.Split(rawQuery, "&") {
		if kv == "" {
			continue
		}
		name, value, _ := strings.Cut(kv, "=")
		p, err := redirectParamName(name)
		if err != nil {
			return nil, err
		}
		if p == "" {
			continue
		}
		if _, dup := q.raw[p]; dup {
			return nil, invalid(ReasonLogoutParameter, fmt.Errorf("saml: query parameter %s appears twice", p))
		}
		q.raw[p] = value
	}
	_, hasReq := q.raw["SAMLRequest"]
	_, hasResp := q.raw["SAMLResponse"]
	switch {
	case hasReq && hasResp:
		return nil, invalid(ReasonLogoutParameter, errors.New("saml: both SAMLRequest and SAMLResponse"))
	case hasReq:
		q.param = "SAMLRequest"
	case hasResp:
		q.param = "SAMLResponse"
	}
	if q.param == "" || q.raw[q.param] == "" {
		return nil, invalid(ReasonMalformed, errors.New("saml: no logout message"))
	}
	return q, nil
}

// redirectParamName returns the binding parameter a raw query name is, or
// "" for any other parameter. A binding parameter's name spelled any other
// way (percent- or plus-encoded, in another case, with spaces) is refused:
// another reader could take it for the parameter.
func redirectParamName(raw string) (string, error) {
	decoded := raw
	if strings.ContainsAny(raw, "%+") {
		d, err := url.QueryUnescape(raw)
		if err != nil {
			return "", invalid(ReasonLogoutParameter, fmt.Errorf("saml: malformed query parameter name: %w", err))
		}
		decoded = d
	}
	for _, p := range redirectParams {
		if raw == p {
			return p, nil
		}
		if strings.EqualFold(strings.TrimSpace(decoded), p) {
			return "", invalid(ReasonLogoutParameter, fmt.Errorf("saml: query parameter %q is not spelled %s", raw, p))
		}
	}
	return "", nil
}

// value returns the URL-decoded value of a parameter ("" when absent).
func (q *redirectQuery) value(p string) (string, error) {
	return url.QueryUnescape(q.raw[p])
}

// signedOctets is the string the IdP signed, built from the values exactly
// as received (SAML Bindings 3.4.4.1).
func (q *redirectQuery) signedOctets() string {
	s := q.param + "=" + q.raw[q.param]
	if rs, ok := q.raw["RelayState"]; ok {
		s += "&RelayState=" + rs
	}
	return s + "&SigAlg=" + q.raw["SigAlg"]
}

// message decodes and inflates the SAMLRequest or SAMLResponse value, with
// a cap on the inflated size.
func (q *redirectQuery) message() ([]byte, error) {
	enc, err := q.value(q.param)
	if err != nil {
		return nil, invalid(ReasonMalformed, err)
	}
	deflated, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, invalid(ReasonMalformed, err)
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(deflated)), maxLogoutBytes+1))
	if err != nil {
		return nil, invalid(ReasonMalformed, err)
	}
	if len(raw) > maxLogoutBytes {
		return nil, invalid(ReasonTooLarge, errors.New("saml: inflated logout message too large"))
	}
	if len(raw) == 0 {
		return nil, invalid(ReasonMalformed, errors.New("saml: empty logout message"))
	}
	return raw, nil
}

// verify checks the HTTP-Redirect binding signature with certs.
func (q *redirectQuery) verify(certs []*x509.Certificate, allowSHA1 bool) error {
	sigRaw, okSig := q.raw["Signature"]
	algRaw, okAlg := q.raw["SigAlg"]
	if !okSig || !okAlg {
		return invalid(ReasonLogoutUnsigned, errors.New("saml: redirect logout message is not signed"))
	}
	alg, err := url.QueryUnescape(algRaw)
	if err != nil {
		return invalid(ReasonMalformed, err)
	}
	sigStr, err := url.QueryUnescape(sigRaw)
	if err != nil {
		return invalid(ReasonMalformed, err)
	}
	sig, err := base64.StdEncoding.DecodeString(sigStr)
	if err != nil {
		return invalid(ReasonMalformed, err)
	}
	h, ec, err := redirectAlgorithm(alg, allowSHA1)
	if err != nil {
		return err
	}
	hh := h.New()
	hh.Write([]byte(q.signedOctets()))
	digest := hh.Sum(nil)
	for _, c := range certs {
		switch pk := c.PublicKey.(type) {
		case *rsa.PublicKey:
			if !ec && rsa.VerifyPKCS1v15(pk, h, digest, sig) == nil {
				return nil
			}
		case *ecdsa.PublicKey:
			if ec && ecdsa.VerifyASN1(pk, digest, sig) {
				return nil
			}
		}
	}
	return invalid(ReasonSignatureInvalid, errors.New("saml: redirect signature does not verify"))
}

// redirectAlgorithm maps a SigAlg to its hash and whether it is ECDSA.
func redirectAlgorithm(alg string, allowSHA1 bool) (crypto.Hash, bool, error) {
	switch alg {
	case algRSASHA256:
		return crypto.SHA256, false, nil
	case algECDSASHA256:
		return crypto.SHA256, true, nil
	case algRSASHA1, algECDSASHA1:
		if !allowSHA1 {
			return 0, false, invalid(ReasonWeakAlgorithm, nil)
		}
		return crypto.SHA1, alg == algECDSASHA1, nil
	}
	return 0, false, invalid(ReasonUnsupportedAlgorithm, nil)
}
