package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // hashes for RS256/ES256/PS256
	_ "crypto/sha512" // hashes for *384/*512 and EdDSA
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ssokit/ssokit/sso"
)

// asymmetricAlgs is every JWS algorithm an ID token may use. HMAC ("HS*")
// and "none" are never accepted: HMAC would let anyone holding the IdP's
// public key mint tokens.
var asymmetricAlgs = []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}

func isAsymmetricAlg(alg string) bool {
	for _, a := range asymmetricAlgs {
		if a == alg {
			return true
		}
	}
	return false
}

// Errors of the key set. They are wrapped into *sso.ValidationError by the
// callers.
var (
	errNoMatchingKey   = errors.New("oidc: no key in the IdP's JWKS verifies the token")
	errRefetchLimited  = errors.New("oidc: JWKS refetch rate limited")
	errKeysUnavailable = errors.New("oidc: no signing keys available")
)

// keySet is a JWKS cache for one connection's jwks_uri that implements
// go-oidc's KeySet. Keys are selected by kid; an unknown kid (or a
// kid-less token no cached key verifies) refetches the JWKS at most once
// per refetch interval, so a flood of tokens with random kids costs at most
// one fetch per interval. When the endpoint fails, the cached keys keep
// verifying. Keys that do not parse, encryption keys and symmetric keys are
// ignored.
type keySet struct {
	rp       *RP
	url      string
	interval time.Duration

	fmu sync.Mutex // serialises fetches

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	gen         uint64
	fetchedAt   time.Time
	lastAttempt time.Time
	fetches     int
}

// keyMaxAge is how long a fetched JWKS is used before a (rate-limited)
// refresh is attempted, so keys the IdP removed stop verifying.
const keyMaxAge = time.Hour

func (k *keySet) snapshot() ([]jose.JSONWebKey, uint64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	stale := k.fetchedAt.IsZero() || k.rp.now().Sub(k.fetchedAt) > keyMaxAge
	return k.keys, k.gen, stale
}

// VerifySignature implements go-oidc's KeySet. go-oidc has already parsed
// the token and checked its algorithm against the allowlist; the key set
// checks the algorithm again (asymmetric only) and verifies the signature
// over the exact signing input with the key named by kid.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	t, err := parseCompact(raw)
	if err != nil {
		return nil, err
	}
	keys, gen, stale := k.snapshot()
	if stale {
		if err := k.refresh(ctx, gen); err == nil {
			keys, gen, _ = k.snapshot()
		}
	}
	ok, known := t.verifyWith(keys)
	if ok {
		return t.payload()
	}
	if known && t.kid != "" {
		// The kid is known and its key does not verify: a forgery, not a
		// rotation. Do not refetch.
		return nil, errNoMatchingKey
	}
	if err := k.refresh(ctx, gen); err != nil {
		if len(keys) == 0 {
			return nil, fmt.Errorf("%w: %w", errKeysUnavailable, err)
		}
		return nil, fmt.Errorf("%w (%w)", errNoMatchingKey, err)
	}
	keys, _, _ = k.snapshot()
	if ok, _ := t.verifyWith(keys); ok {
		return t.payload()
	}
	return nil, errNoMatchingKey
}

// compactJWS is a compact JWS split for verification.
type compactJWS struct {
	alg, kid     string
	signingInput string
	rawPayload   string
	sig          []byte
}

// parseCompact splits a compact JWS, decodes its protected header (which
// must name an asymmetric algorithm and carry no "crit" or "b64") and its
// signature.
func parseCompact(raw string) (*compactJWS, error) {
	dot1 := strings.IndexByte(raw, '.')
	dot2 := strings.LastIndexByte(raw, '.')
	if dot1 < 0 || dot1 == dot2 || strings.IndexByte(raw[dot1+1:dot2], '.') >= 0 {
		return nil, errors.New("oidc: not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(raw[:dot1])
	if err != nil {
		return nil, fmt.Errorf("oidc: jws header: %w", err)
	}
	var h struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
		B64  json.RawMessage `json:"b64"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, fmt.Errorf("oidc: jws header: %w", err)
	}
	if !isAsymmetricAlg(h.Alg) {
		return nil, fmt.Errorf("oidc: jws algorithm %q not allowed", h.Alg)
	}
	if h.Crit != nil || h.B64 != nil {
		return nil, errors.New("oidc: jws crit/b64 headers not supported")
	}
	sig, err := base64.RawURLEncoding.DecodeString(raw[dot2+1:])
	if err != nil {
		return nil, fmt.Errorf("oidc: jws signature: %w", err)
	}
	return &compactJWS{alg: h.Alg, kid: h.Kid, signingInput: raw[:dot2], rawPayload: raw[dot1+1 : dot2], sig: sig}, nil
}

func (t *compactJWS) payload() ([]byte, error) {
	p, err := base64.RawURLEncoding.DecodeString(t.rawPayload)
	if err != nil {
		return nil, fmt.Errorf("oidc: jws payload: %w", err)
	}
	return p, nil
}

// verifyWith tries the keys matching the token's kid (all keys when the
// token has no kid) and reports whether one verifies; known reports
// whether a key with the kid exists.
func (t *compactJWS) verifyWith(keys []jose.JSONWebKey) (ok, known bool) {
	for i := range keys {
		key := &keys[i]
		if t.kid != "" && key.KeyID != t.kid {
			continue
		}
		known = true
		if key.Algorithm != "" && key.Algorithm != t.alg {
			continue
		}
		if verifySig(key.Key, t.alg, t.signingInput, t.sig) {
			return true, true
		}
	}
	return false, known
}

// verifySig verifies an RFC 7518 signature with a public key whose type
// fits the algorithm: RSA for RS*/PS*, ECDSA on the algorithm's curve for
// ES*, Ed25519 for EdDSA. Anything else fails.
func verifySig(key any, alg, input string, sig []byte) bool {
	var h crypto.Hash
	switch alg[2:] {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	digest := func() []byte {
		hh := h.New()
		hh.Write([]byte(input))
		return hh.Sum(nil)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg[:2] {
		case "RS":
			return rsa.VerifyPKCS1v15(k, h, digest(), sig) == nil
		case "PS":
			return rsa.VerifyPSS(k, h, digest(), sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
	case *ecdsa.PublicKey:
		var curve elliptic.Curve
		switch alg {
		case "ES256":
			curve = elliptic.P256()
		case "ES384":
			curve = elliptic.P384()
		case "ES512":
			curve = elliptic.P521()
		default:
			return false
		}
		size := (curve.Params().BitSize + 7) / 8
		if k.Curve != curve || len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest(), r, s)
	case ed25519.PublicKey:
		return alg == "EdDSA" && ed25519.Verify(k, []byte(input), sig)
	}
	return false
}

// refresh fetches the JWKS unless another caller refreshed since gen was
// read, or the last attempt was less than the refetch interval ago.
func (k *keySet) refresh(ctx context.Context, gen uint64) error {
	k.fmu.Lock()
	defer k.fmu.Unlock()
	k.mu.Lock()
	if k.gen != gen {
		k.mu.Unlock()
		return nil
	}
	now := k.rp.now()
	if !k.lastAttempt.IsZero() && now.Sub(k.lastAttempt) < k.interval && now.Sub(k.lastAttempt) >= 0 {
		k.mu.Unlock()
		return errRefetchLimited
	}
	k.lastAttempt = now
	k.fetches++
	k.mu.Unlock()

	keys, err := k.rp.fetchJWKS(ctx, k.url)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.keys, k.fetchedAt = keys, now
	k.gen++
	k.mu.Unlock()
	return nil
}

// fetchCount returns how many JWKS fetches were attempted.
func (k *keySet) fetchCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetches
}

// fetchJWKS downloads and parses a JWKS, keeping the usable signature keys.
// A document without a single usable key is an error, so a broken
// endpoint never replaces good cached keys.
func (rp *RP) fetchJWKS(ctx context.Context, url string) (_ []jose.JSONWebKey, err error) {
	ctx, span := rp.tel.Start(ctx, "oidc.jwks.fetch")
	defer func() { rp.tel.RecordFetch(ctx, span, "oidc_jwks", sso.ReasonOf(err), err) }()
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if _, err := rp.fetchJSON(ctx, url, maxJWKSBytes, &doc); err != nil {
		return nil, err
	}
	keys := parseJWKS(doc.Keys)
	if len(keys) == 0 {
		return nil, errors.New("oidc: JWKS holds no usable signing key")
	}
	return keys, nil
}

// parseJWKS keeps the public signature keys of a JWKS: keys that fail to
// parse, "use":"enc" keys, symmetric keys and keys advertising a symmetric
// or unknown algorithm are skipped.
func parseJWKS(raw []json.RawMessage) []jose.JSONWebKey {
	var keys []jose.JSONWebKey
	for _, r := range raw {
		var k jose.JSONWebKey
		if err := json.Unmarshal(r, &k); err != nil || !k.Valid() {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Algorithm != "" && !isAsymmetricAlg(k.Algorithm) {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			k = k.Public()
			if !k.Valid() {
				continue
			}
		default:
			continue
		}
		if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
			continue
		}
		keys = append(keys, k)
	}
	return keys
}
