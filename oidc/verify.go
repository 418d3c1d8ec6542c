package oidc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// verifiedToken is an ID token that passed every check, with its claims.
type verifiedToken struct {
	// id holds the registered claims the checks read.
	id *idClaims
	// issuer is the expected issuer the token was verified against: the
	// configured one (Google's scheme-less "accounts.google.com" is also
	// accepted for https://accounts.google.com) or the multi-tenant
	// template filled with the token's tenant. Identities use it so that
	// one account never has two issuer spellings.
	issuer string
	// payload is the verified claims JSON; claims is its decoding, filled
	// by decode.
	payload []byte
	claims  map[string]any
	// userinfo holds the claims of a matching userinfo response.
	userinfo map[string]any
}

// numericDate is a JWT NumericDate that remembers whether it was present.
type numericDate struct {
	t    time.Time
	set  bool
	null bool
}

// maxNumericDate bounds NumericDate values (about the year 33658): beyond
// it a float-to-int64 conversion is platform dependent.
const maxNumericDate = 1 << 40

// UnmarshalJSON accepts only a JSON number (RFC 7519 section 2), not a
// numeric string, within ±maxNumericDate seconds; null counts as absent
// and is remembered, since exp and iat may not be null.
func (n *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		n.null = true
		return nil
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errors.New("oidc: NumericDate is not a JSON number")
	}
	var f json.Number
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	v, err := f.Float64()
	if err != nil {
		return err
	}
	if v > maxNumericDate || v < -maxNumericDate {
		return errors.New("oidc: NumericDate out of range")
	}
	n.t, n.set = time.Unix(int64(v), 0), true
	return nil
}

// idClaims are the registered claims of an ID or logout token, decoded
// once from the verified payload.
type idClaims struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience json.RawMessage `json:"aud"`
	AZP      string          `json:"azp"`
	Exp      numericDate     `json:"exp"`
	IAT      numericDate     `json:"iat"`
	NBF      numericDate     `json:"nbf"`
	Nonce    string          `json:"nonce"`
	AtHash   string          `json:"at_hash"`
	TID      string          `json:"tid"`
	HD       string          `json:"hd"`
	// ClaimNames and ClaimSources are the distributed and aggregated
	// claims of OIDC Core 5.6.2: every name must refer to a source.
	ClaimNames   map[string]string `json:"_claim_names"`
	ClaimSources map[string]struct {
		Endpoint    string `json:"endpoint"`
		AccessToken string `json:"access_token"`
	} `json:"_claim_sources"`
}

// check rejects claims that decode but are not usable: a null exp or iat,
// and a claim name without its source.
func (c *idClaims) check() error {
	if c.Exp.null || c.IAT.null {
		return errors.New("oidc: exp or iat is null")
	}
	for _, src := range c.ClaimNames {
		if _, ok := c.ClaimSources[src]; !ok || src == "" {
			return errors.New("oidc: _claim_names refers to a missing _claim_sources entry")
		}
	}
	return nil
}

// audienceString returns the aud claim when it is a single JSON string
// without escapes: the common case, read without decoding. The payload
// was already decoded as JSON, so the bytes between the quotes are the
// string.
func audienceString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw[1:len(raw)-1], '\\') >= 0 {
		return "", false
	}
	return string(raw[1 : len(raw)-1]), true
}

// audiences returns the aud claim, a string or an array of strings. Any
// other value, null included, is no audience.
func audiences(raw json.RawMessage) []string {
	if s, ok := audienceString(raw); ok {
		return []string{s}
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && string(raw) != "null" {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// audienceContains reports whether the aud claim names clientID.
func audienceContains(raw json.RawMessage, clientID string) bool {
	if s, ok := audienceString(raw); ok {
		return s == clientID
	}
	return slices.Contains(audiences(raw), clientID)
}

// multipleAudiences reports whether the aud claim is an array of more
// than one string.
func multipleAudiences(raw json.RawMessage) bool {
	if _, ok := audienceString(raw); ok {
		return false
	}
	return len(audiences(raw)) > 1
}

// Google's ID tokens may carry the scheme-less issuer; it is accepted only
// for a connection configured with the https one.
const (
	issuerGoogle         = "https://accounts.google.com"
	issuerGoogleNoScheme = "accounts.google.com"
)

func issuerEquals(expected, got string) bool {
	return got == expected || (expected == issuerGoogle && got == issuerGoogleNoScheme)
}

// parseToken checks the size of a compact JWS and parses it once.
func (rp *RP) parseToken(raw string) (*compactJWS, error) {
	if len(raw) > rp.cfg.MaxTokenBytes {
		return nil, mismatch(ReasonTokenTooLarge, fmt.Sprint("<= ", rp.cfg.MaxTokenBytes), fmt.Sprint(len(raw)))
	}
	t, err := parseCompact(raw)
	if err != nil {
		return nil, invalid(ReasonTokenMalformed, err)
	}
	return t, nil
}

// tenantOf returns the tenant a multi-tenant template issuer expects,
// read from the (unverified) payload: it must be allowlisted before the
// signature is checked, and equal the verified tid after.
func tenantOf(oc *ConnectionConfig, payload []byte) (string, error) {
	var c struct {
		TID string `json:"tid"`
	}
	_ = json.Unmarshal(payload, &c)
	if c.TID == "" || !slices.Contains(oc.AllowedTenantIDs, c.TID) {
		return "", mismatch(ReasonTenantNotAllowed, strings.Join(oc.AllowedTenantIDs, " "), c.TID)
	}
	return c.TID, nil
}

// verifyIDToken runs every ID token check of OIDC Core 3.1.3.7: size cap,
// algorithm allowlist, signature with the connection's key set, issuer,
// audience, azp, exp/nbf/iat with skew, iat presence and age, sub, nonce
// (constant time) and at_hash when present.
func (rp *RP) verifyIDToken(ctx context.Context, conn *sso.Connection, m *metadata, raw, nonce, accessToken string) (*verifiedToken, error) {
	oc := ConfigOf(conn)
	t, c, issuer, tid, err := rp.verifySigned(ctx, conn, m, raw)
	if err != nil {
		return nil, err
	}
	skew := rp.cfg.MaxClockSkew
	now := rp.now()
	switch {
	case !c.IAT.set:
		return nil, invalid(ReasonIATMissing, nil)
	case c.IAT.t.After(now.Add(skew)):
		return nil, mismatch(ReasonIATInFuture, now.Add(skew).UTC().Format(time.RFC3339), c.IAT.t.UTC().Format(time.RFC3339))
	case now.Sub(c.IAT.t) > rp.cfg.MaxIDTokenAge+skew:
		return nil, mismatch(ReasonTokenTooOld, rp.cfg.MaxIDTokenAge.String(), now.Sub(c.IAT.t).Round(time.Second).String())
	case c.Subject == "":
		return nil, invalid(ReasonSubMissing, nil)
	case (c.AZP != "" || multipleAudiences(c.Audience)) && c.AZP != oc.ClientID:
		return nil, mismatch(ReasonAZPMismatch, oc.ClientID, c.AZP)
	case tid != "" && c.TID != tid:
		return nil, mismatch(ReasonTenantNotAllowed, tid, c.TID)
	case c.Nonce == "" || subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1:
		return nil, invalid(ReasonNonceMismatch, nil)
	}
	if err := checkHostedDomain(oc, c.HD); err != nil {
		return nil, err
	}
	if c.AtHash != "" {
		if err := verifyAtHash(t.hdr.Alg, c.AtHash, accessToken); err != nil {
			return nil, invalid(ReasonAtHashMismatch, err)
		}
	}
	return &verifiedToken{id: c, issuer: issuer, payload: t.payload}, nil
}

// verifyAtHash checks an at_hash claim (OIDC Core 3.1.3.6): the base64url
// left half of the access token's hash with the ID token's algorithm.
func verifyAtHash(alg, atHash, accessToken string) error {
	var h hash.Hash
	switch alg {
	case "RS256", "ES256", "PS256":
		h = sha256.New()
	case "RS384", "ES384", "PS384":
		h = sha512.New384()
	case "RS512", "ES512", "PS512", "EdDSA":
		h = sha512.New()
	default:
		return fmt.Errorf("oidc: at_hash: unsupported algorithm %q", alg)
	}
	h.Write([]byte(accessToken))
	want := base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:h.Size()/2])
	if subtle.ConstantTimeCompare([]byte(want), []byte(atHash)) != 1 {
		return errors.New("oidc: at_hash does not match the access token")
	}
	return nil
}

// decode decodes the verified claims for userinfo and profile mapping.
func (vt *verifiedToken) decode() error {
	if vt.claims != nil {
		return nil
	}
	c, err := decodeClaims(vt.payload)
	if err != nil {
		return invalid(ReasonTokenMalformed, err)
	}
	vt.claims = c
	return nil
}

// decodeClaims decodes a JSON object keeping numbers exact.
func decodeClaims(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("oidc: claims: %w", err)
	}
	if m == nil {
		return nil, errors.New("oidc: claims are not an object")
	}
	return m, nil
}

// verifySigned checks a JWT from conn's IdP: size, shape, algorithm
// allowlist, signature with the connection's key set, issuer, audience,
// exp and nbf. The token is parsed once and its claims decoded once, after
// the signature verified. It returns the parsed token, its claims, the
// issuer it was checked against and, for a multi-tenant issuer, the tenant
// ID used.
func (rp *RP) verifySigned(ctx context.Context, conn *sso.Connection, m *metadata, raw string) (*compactJWS, *idClaims, string, string, error) {
	oc := ConfigOf(conn)
	t, err := rp.parseToken(raw)
	if err != nil {
		return nil, nil, "", "", err
	}
	if !algAllowed(conn, m, t.hdr.Alg) {
		return nil, nil, "", "", mismatch(ReasonAlgNotAllowed, strings.Join(signingAlgs(conn, m), " "), t.hdr.Alg)
	}
	if err := t.hdr.checkEmbeddedKeys(); err != nil {
		return nil, nil, "", "", invalid(ReasonTokenMalformed, err)
	}
	issuer, tid := oc.Issuer, ""
	if strings.Contains(oc.Issuer, TenantPlaceholder) {
		if tid, err = tenantOf(oc, t.payload); err != nil {
			return nil, nil, "", "", err
		}
		issuer = strings.ReplaceAll(oc.Issuer, TenantPlaceholder, tid)
	}
	if err := rp.keySetFor(conn, m.JWKSURL).verify(ctx, t); err != nil {
		return nil, nil, "", "", signatureError(err)
	}
	c := &idClaims{}
	if err := json.Unmarshal(t.payload, c); err != nil {
		return nil, nil, "", "", invalid(ReasonTokenMalformed, err)
	}
	if err := c.check(); err != nil {
		return nil, nil, "", "", invalid(ReasonTokenMalformed, err)
	}
	skew := rp.cfg.MaxClockSkew
	now := rp.now()
	switch {
	case !issuerEquals(issuer, c.Issuer):
		return nil, nil, "", "", mismatch(ReasonIssuerMismatch, issuer, c.Issuer)
	case !audienceContains(c.Audience, oc.ClientID):
		return nil, nil, "", "", mismatch(ReasonAudienceMismatch, oc.ClientID, truncate(string(c.Audience), 256))
	case !c.Exp.set:
		return nil, nil, "", "", invalid(ReasonExpMissing, nil)
	case c.Exp.t.Before(now.Add(-skew)):
		return nil, nil, "", "", mismatch(ReasonExpired, now.Add(-skew).UTC().Format(time.RFC3339), c.Exp.t.UTC().Format(time.RFC3339))
	case c.NBF.set && c.NBF.t.After(now.Add(skew)):
		return nil, nil, "", "", mismatch(ReasonNotYetValid, now.Add(skew).UTC().Format(time.RFC3339), c.NBF.t.UTC().Format(time.RFC3339))
	}
	return t, c, issuer, tid, nil
}

// signatureError classifies a key set error: keys that could not be had
// (ReasonKeysUnavailable, retryable, wrapping ErrKeysUnavailable) or a
// signature that does not verify (ReasonSignatureInvalid).
func signatureError(err error) *sso.ValidationError {
	if !errors.Is(err, ErrKeysUnavailable) {
		return invalid(ReasonSignatureInvalid, err)
	}
	ve := &sso.ValidationError{Protocol: Protocol, Reason: ReasonKeysUnavailable, Want: "the IdP's JWKS with the token's key",
		Got: "JWKS refetch budget spent", Err: withFix(err, "the IdP rotated its keys repeatedly or tokens name keys it does not publish: try again in a minute")}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		ve.Got, ve.Err = ue.what(), withFix(err, ue.Fix())
	}
	return ve
}
