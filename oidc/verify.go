package oidc

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/ssokit/ssokit/sso"
)

// verifiedToken is an ID token that passed every check, with its claims.
type verifiedToken struct {
	token *gooidc.IDToken
	// issuer is the expected issuer the token was verified against: the
	// configured one (go-oidc also accepts Google's scheme-less
	// "accounts.google.com" for https://accounts.google.com) or the
	// multi-tenant template filled with the token's tenant. Identities use
	// it so that one account never has two issuer spellings.
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
	t   time.Time
	set bool
}

// maxNumericDate bounds NumericDate values (about the year 33658): beyond
// it a float-to-int64 conversion is platform dependent.
const maxNumericDate = 1 << 40

// UnmarshalJSON accepts only a JSON number (RFC 7519 section 2), not a
// numeric string, within ±maxNumericDate seconds; null counts as absent.
func (n *numericDate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
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

// timeClaims are the claims checked beside go-oidc.
type timeClaims struct {
	Issuer   string          `json:"iss"`
	Audience json.RawMessage `json:"aud"`
	AZP      string          `json:"azp"`
	Exp      numericDate     `json:"exp"`
	IAT      numericDate     `json:"iat"`
	NBF      numericDate     `json:"nbf"`
	TID      string          `json:"tid"`
}

// recordingKeySet remembers the outcome of the signature check so that
// go-oidc's flattened errors can be told apart.
type recordingKeySet struct {
	ks      gooidc.KeySet
	err     error
	payload []byte
}

func (r *recordingKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	r.payload, r.err = r.ks.VerifySignature(ctx, jwt)
	return r.payload, r.err
}

// jwsHeader is the protected header of a compact JWS.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// splitToken checks the size and shape of a compact JWS and decodes its
// header and (unverified) payload.
func (rp *RP) splitToken(raw string) (*jwsHeader, string, error) {
	if len(raw) > rp.cfg.MaxTokenBytes {
		return nil, "", mismatch(ReasonTokenTooLarge, fmt.Sprint("<= ", rp.cfg.MaxTokenBytes), fmt.Sprint(len(raw)))
	}
	h, rest, ok := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(s, ".") {
		return nil, "", invalid(ReasonTokenMalformed, errors.New("oidc: not a compact JWS"))
	}
	hb, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return nil, "", invalid(ReasonTokenMalformed, fmt.Errorf("oidc: header: %w", err))
	}
	var hdr jwsHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, "", invalid(ReasonTokenMalformed, fmt.Errorf("oidc: header: %w", err))
	}
	return &hdr, p, nil
}

// expectedIssuer returns the issuer an ID token with the given (unverified)
// payload must carry: the configured issuer, or for a multi-tenant
// template the template filled with the token's tid, which must be
// allowlisted.
func expectedIssuer(oc *ConnectionConfig, payloadSeg string) (string, string, error) {
	if !strings.Contains(oc.Issuer, TenantPlaceholder) {
		return oc.Issuer, "", nil
	}
	var c struct {
		TID string `json:"tid"`
	}
	if payload, err := base64.RawURLEncoding.DecodeString(payloadSeg); err == nil {
		_ = json.Unmarshal(payload, &c)
	}
	if c.TID == "" || !slices.Contains(oc.AllowedTenantIDs, c.TID) {
		return "", "", mismatch(ReasonTenantNotAllowed, strings.Join(oc.AllowedTenantIDs, " "), c.TID)
	}
	return strings.ReplaceAll(oc.Issuer, TenantPlaceholder, c.TID), c.TID, nil
}

// verifyIDToken runs every ID token check of OIDC Core 3.1.3.7: size cap,
// algorithm allowlist, signature (go-oidc with the connection's key set),
// issuer, audience, azp, exp/nbf/iat with skew, iat presence and age, sub,
// nonce (constant time) and at_hash when present.
func (rp *RP) verifyIDToken(ctx context.Context, conn *sso.Connection, m *metadata, raw, nonce, accessToken string) (*verifiedToken, error) {
	oc := ConfigOf(conn)
	tok, tc, payload, tid, err := rp.verifySigned(ctx, conn, m, raw)
	if err != nil {
		return nil, err
	}
	skew := rp.cfg.MaxClockSkew
	now := rp.now()
	switch {
	case tc.NBF.set && tc.NBF.t.After(now.Add(skew)):
		return nil, mismatch(ReasonNotYetValid, now.Add(skew).UTC().Format(time.RFC3339), tc.NBF.t.UTC().Format(time.RFC3339))
	case !tc.IAT.set:
		return nil, invalid(ReasonIATMissing, nil)
	case tc.IAT.t.After(now.Add(skew)):
		return nil, mismatch(ReasonIATInFuture, now.Add(skew).UTC().Format(time.RFC3339), tc.IAT.t.UTC().Format(time.RFC3339))
	case now.Sub(tc.IAT.t) > rp.cfg.MaxIDTokenAge+skew:
		return nil, mismatch(ReasonTokenTooOld, rp.cfg.MaxIDTokenAge.String(), now.Sub(tc.IAT.t).Round(time.Second).String())
	case tok.Subject == "":
		return nil, invalid(ReasonSubMissing, nil)
	case (len(tok.Audience) > 1 || tc.AZP != "") && tc.AZP != oc.ClientID:
		return nil, mismatch(ReasonAZPMismatch, oc.ClientID, tc.AZP)
	case tid != "" && tc.TID != tid:
		return nil, mismatch(ReasonTenantNotAllowed, tid, tc.TID)
	case tok.Nonce == "" || subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1:
		return nil, invalid(ReasonNonceMismatch, nil)
	}
	if tok.AccessTokenHash != "" {
		if err := tok.VerifyAccessToken(accessToken); err != nil {
			return nil, invalid(ReasonAtHashMismatch, err)
		}
	}
	issuer := oc.Issuer
	if tid != "" {
		issuer = strings.ReplaceAll(oc.Issuer, TenantPlaceholder, tid)
	}
	return &verifiedToken{token: tok, issuer: issuer, payload: payload}, nil
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

// classify turns a go-oidc verification error into a ValidationError. When
// the signature verified, the claims are genuine and tell which check
// failed.
func classify(err error, rec *recordingKeySet, tc *timeClaims, issuer, clientID string) error {
	var te *gooidc.TokenExpiredError
	switch {
	case rec.err != nil:
		if errors.Is(rec.err, errKeysUnavailable) {
			return invalid(ReasonKeysUnavailable, rec.err)
		}
		return invalid(ReasonSignatureInvalid, rec.err)
	case rec.payload == nil:
		return invalid(ReasonTokenMalformed, err)
	case tc.Issuer != issuer:
		return mismatch(ReasonIssuerMismatch, issuer, tc.Issuer)
	case !audienceContains(tc.Audience, clientID):
		return &sso.ValidationError{Protocol: Protocol, Reason: ReasonAudienceMismatch, Want: clientID, Got: truncate(string(tc.Audience), 256), Err: err}
	case errors.As(err, &te) && !tc.Exp.set:
		return invalid(ReasonExpMissing, err)
	case errors.As(err, &te):
		return invalid(ReasonExpired, err)
	case tc.NBF.set:
		return invalid(ReasonNotYetValid, err)
	}
	return invalid(ReasonTokenMalformed, err)
}

func audienceContains(raw json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == clientID
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return slices.Contains(many, clientID)
	}
	return false
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

// verifySigned checks the size, shape, algorithm, signature, issuer,
// audience and exp of a JWT from conn's IdP with go-oidc and the
// connection's key set, and returns the token, its time claims, its
// verified payload and, for a multi-tenant issuer, the tenant ID used.
func (rp *RP) verifySigned(ctx context.Context, conn *sso.Connection, m *metadata, raw string) (*gooidc.IDToken, *timeClaims, []byte, string, error) {
	oc := ConfigOf(conn)
	hdr, payload, err := rp.splitToken(raw)
	if err != nil {
		return nil, nil, nil, "", err
	}
	algs := signingAlgs(conn, m)
	if !slices.Contains(algs, hdr.Alg) {
		return nil, nil, nil, "", mismatch(ReasonAlgNotAllowed, strings.Join(algs, " "), hdr.Alg)
	}
	issuer, tid, err := expectedIssuer(oc, payload)
	if err != nil {
		return nil, nil, nil, "", err
	}
	skew := rp.cfg.MaxClockSkew
	now := rp.now()
	rec := &recordingKeySet{ks: rp.keySetFor(conn, m.JWKSURL)}
	v := gooidc.NewVerifier(issuer, rec, &gooidc.Config{
		ClientID:             oc.ClientID,
		SupportedSigningAlgs: algs,
		Now:                  func() time.Time { return now.Add(-skew) },
	})
	tok, err := v.Verify(ctx, raw)
	tc := &timeClaims{}
	if rec.payload != nil {
		if uerr := json.Unmarshal(rec.payload, tc); uerr != nil {
			return nil, nil, nil, "", invalid(ReasonTokenMalformed, uerr)
		}
	}
	if err != nil {
		return nil, nil, nil, "", classify(err, rec, tc, issuer, oc.ClientID)
	}
	return tok, tc, rec.payload, tid, nil
}
